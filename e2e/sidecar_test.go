//go:build e2e

package e2e

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

const sidecarJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: with-sidecar
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      initContainers:
      - name: proxy
        image: kubia:v1
        imagePullPolicy: Never
        restartPolicy: Always
        args: ["-listen", "127.0.0.1:0"]
      - name: setup
        image: kubia:v1
        imagePullPolicy: Never
        args: ["-exit", "0"]
      containers:
      - name: work
        image: kubia:v1
        imagePullPolicy: Never
        args: ["-exit", "0"]
`

// TestNativeSidecar runs a Job whose pod has a sidecar (an init container
// with restartPolicy Always): it starts before the next init container,
// runs beside the main container, and does not hold the Job open: once
// the main container is done, the sidecar is stopped and the Job
// completes.
func TestNativeSidecar(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("job with a sidecar", map[string]string{"job.yaml": sidecarJob}), 0)
	var jobs batchv1.JobList
	if err := c.client.List(c.ctx(), api.PathJobs, "default", &jobs); err != nil || len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 1 {
		t.Fatalf("jobs %+v, %v", jobs.Items, err)
	}
	var pod corev1.Pod
	testutil.WaitFor(t, 30*time.Second, "the sidecar stopped", func() bool {
		for _, p := range c.pods() {
			pod = p
		}
		return len(pod.Status.InitContainerStatuses) == 2 && pod.Status.InitContainerStatuses[0].State.Terminated != nil
	})
	side, setup, work := pod.Status.InitContainerStatuses[0], pod.Status.InitContainerStatuses[1], pod.Status.ContainerStatuses[0]
	if pod.Status.Phase != corev1.PodSucceeded || work.State.Terminated == nil || work.State.Terminated.ExitCode != 0 {
		t.Fatalf("pod %s, main container %+v", pod.Status.Phase, work.State)
	}
	sideStart := side.State.Terminated.StartedAt.Time
	if setup.State.Terminated == nil || setup.State.Terminated.StartedAt.Time.Before(sideStart) {
		t.Errorf("setup started %v, before the sidecar (%v)", setup.State.Terminated, sideStart)
	}
	// (Times in a pod's status have a resolution of one second.)
	if side.State.Terminated.FinishedAt.Time.Before(work.State.Terminated.FinishedAt.Time) {
		t.Errorf("the sidecar ended at %v, before the main container ended at %v", side.State.Terminated.FinishedAt, work.State.Terminated.FinishedAt)
	}
}
