//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

func ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue && p.Status.Phase == corev1.PodRunning
		}
	}
	return false
}

// TestRollingUpdate changes a Deployment's template under maxSurge 1 and
// maxUnavailable 0 and watches the master's pods through the rollout:
// never more than 4 pods, never fewer than 3 ready, the new pods coming
// one at a time; `berth rollout status` follows it to the end.
func TestRollingUpdate(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	rolling := func(version string) string {
		return strings.Replace(deployment("web", 3, version), "  template:",
			"  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n  template:", 1)
	}
	c.waitCommit(c.commit("web v1", map[string]string{"web.yaml": rolling("v1")}), 0)

	sha := c.commit("web v2", map[string]string{"web.yaml": rolling("v2")})
	done := make(chan string, 1)
	go func() {
		out, code := c.berth("rollout", "status", "deployment/web", "--timeout", "90s")
		done <- fmt.Sprintf("exit %d\n%s", code, out)
	}()
	var states []string
	var rollout string
	deadline := time.Now().Add(120 * time.Second)
	for rollout == "" {
		if time.Now().After(deadline) {
			t.Fatalf("berth rollout status did not return in 120 s; states %v", states)
		}
		old, updated, readyPods := 0, 0, 0
		for _, p := range c.pods() {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Annotations[api.AnnotationCommit] == sha {
				updated++
			} else {
				old++
			}
			if ready(p) {
				readyPods++
			}
		}
		state := fmt.Sprintf("old %d new %d ready %d", old, updated, readyPods)
		if len(states) == 0 || states[len(states)-1] != state {
			states = append(states, state)
		}
		if old+updated > 4 || readyPods < 3 {
			t.Fatalf("the strategy was broken: %v", states)
		}
		select {
		case rollout = <-done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(rollout, "exit 0\n") || !strings.Contains(rollout, `deployment "web" successfully rolled out`) {
		t.Fatalf("berth rollout status: %s", rollout)
	}
	c.waitCommit(sha, 0)
	// The new pods came one at a time (maxSurge 1): never two more
	// between two observations, up to 3. (The first observation may
	// already see the first new pod.)
	last := -1
	for _, s := range states {
		var o, n, r int
		fmt.Sscanf(s, "old %d new %d ready %d", &o, &n, &r)
		if last >= 0 && n > last+1 {
			t.Errorf("%d new pods after %d: states %v", n, last, states)
		}
		last = n
	}
	if last != 3 {
		t.Errorf("the rollout ended with %d new pods: states %v", last, states)
	}
	t.Logf("observed states: %v", states)
}

func statefulSetYAML(replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: %d
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: db
        image: kubia:v1
        imagePullPolicy: Never
        args: ["-write", "/data/hello", "-listen", "127.0.0.1:0"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
`, replicas)
}

// TestStatefulSetOrder scales a StatefulSet to 3 and back to 1 and checks
// the order Kubernetes guarantees: db-N only appears once db-(N-1) is
// running and ready, and scale-down removes db-2 entirely before db-1.
func TestStatefulSetOrder(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	sha := c.commit("db x3", map[string]string{"db.yaml": statefulSetYAML(3)})
	var appeared []string
	deadline := time.Now().Add(90 * time.Second)
	for !c.status().Converged || len(appeared) < 3 || c.status().LiveCommit != sha {
		if time.Now().After(deadline) {
			t.Fatalf("not converged in 90 s; pods appeared in order %v", appeared)
		}
		m := c.podsByName()
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("db-%d", i)
			if _, ok := m[name]; !ok || slices.Contains(appeared, name) {
				continue
			}
			if i > 0 && !ready(m[fmt.Sprintf("db-%d", i-1)]) {
				t.Fatalf("%s appeared before db-%d was ready", name, i-1)
			}
			appeared = append(appeared, name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Join(appeared, ",") != "db-0,db-1,db-2" {
		t.Fatalf("pods appeared in order %v", appeared)
	}
	out, code := c.berth("rollout", "status", "statefulset/db", "--timeout", "30s")
	if code != 0 || !strings.Contains(out, "statefulset rolling update complete 3 pods") {
		t.Fatalf("rollout status: exit %d: %s", code, out)
	}

	c.execUntil("db-2", "db", nil, "sh", "-c", "echo first life > /data/mark")
	sha = c.commit("db x1", map[string]string{"db.yaml": statefulSetYAML(1)})
	var gone []string
	deadline = time.Now().Add(90 * time.Second)
	for len(gone) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("scale-down not done in 90 s; gone in order %v", gone)
		}
		m := c.podsByName()
		if _, ok := m["db-2"]; !ok && !slices.Contains(gone, "db-2") {
			gone = append(gone, "db-2")
		}
		if p, ok := m["db-1"]; ok && p.DeletionTimestamp != nil && !slices.Contains(gone, "db-2") {
			t.Fatal("db-1 was deleted while db-2 still existed")
		}
		if _, ok := m["db-1"]; !ok && !slices.Contains(gone, "db-1") {
			gone = append(gone, "db-1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Join(gone, ",") != "db-2,db-1" {
		t.Fatalf("pods went in order %v", gone)
	}
	c.waitCommit(sha, 0)
	// Each ordinal wrote into its own claim, a local-path volume in the
	// agent's volumes folder, and the claims outlive the pods that
	// scale-down removed.
	vols := c.volumes()
	for i := 0; i < 3; i++ {
		v := vols[fmt.Sprintf("data-db-%d", i)]
		if v.Spec.Local == nil || filepath.Dir(v.Spec.Local.Path) != filepath.Join(c.dir, "agent", "volumes") {
			t.Fatalf("volume of db-%d: %+v", i, v.Spec)
		}
		if _, err := os.Stat(filepath.Join(v.Spec.Local.Path, "hello")); err != nil {
			t.Errorf("claim of db-%d: %v", i, err)
		}
	}
	c.mustKubectl([]string{"data-db-0", "data-db-1", "data-db-2", "Bound"}, "get", "pvc")
	// Scaled up again, db-2 is back on its own data.
	c.waitCommit(c.commit("db x3 again", map[string]string{"db.yaml": statefulSetYAML(3)}), 0)
	if v := c.volumes()["data-db-2"]; v.Name != vols["data-db-2"].Name {
		t.Fatalf("db-2 came back to volume %s, not its own %s", v.Name, vols["data-db-2"].Name)
	}
	c.execUntil("db-2", "db", []string{"first life"}, "cat", "/data/mark")
}

const indexedJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: shards
spec:
  completions: 3
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: kubia:v1
        imagePullPolicy: Never
        args: ["-cat", "/proc/self/environ", "-exit", "0"]
`

const minuteCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: tick
            image: kubia:v1
            imagePullPolicy: Never
            args: ["-exit", "0"]
`

const failingJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: doomed
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: kubia:v1
        imagePullPolicy: Never
        args: ["-exit", "4"]
`

// TestJobsAndCronJobs runs an Indexed Job (each pod sees its
// JOB_COMPLETION_INDEX), a per-minute CronJob until it fired twice, and a
// Job that fails, which makes `berth wait` exit 1 with the reason.
func TestJobsAndCronJobs(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	sha := c.commit("jobs", map[string]string{"shards.yaml": indexedJob, "tick.yaml": minuteCronJob})
	c.waitCommit(sha, 0) // the Job is Complete, the CronJob registered
	var jobs batchv1.JobList
	if err := c.client.List(c.ctx(), api.PathJobs, "default", &jobs); err != nil {
		t.Fatal(err)
	}
	shards := jobs.Items[0]
	if shards.Name != "shards" || shards.Status.Succeeded != 3 || shards.Status.CompletedIndexes != "0-2" {
		t.Fatalf("job status %+v", shards.Status)
	}
	var seen []string
	for _, p := range c.pods() {
		if p.Labels[api.LabelJobName] != "shards" {
			continue
		}
		idx := p.Labels[api.LabelJobCompletionIndex]
		out, code := c.berth("logs", p.Name)
		if code != 0 || !strings.Contains(out, "JOB_COMPLETION_INDEX="+idx) || !strings.HasPrefix(p.Name, "shards-"+idx+"-") {
			t.Errorf("pod %s (index %s): exit %d, logs %s", p.Name, idx, code, out)
		}
		seen = append(seen, idx)
	}
	sort.Strings(seen)
	if strings.Join(seen, ",") != "0,1,2" {
		t.Errorf("indexes %v", seen)
	}

	// The CronJob fires at the next two minute boundaries.
	var runs []batchv1.Job
	testutil.WaitFor(t, 150*time.Second, "two completed runs of the CronJob", func() bool {
		var l batchv1.JobList
		if err := c.client.List(c.ctx(), api.PathJobs, "default", &l); err != nil {
			return false
		}
		runs = runs[:0]
		for _, j := range l.Items {
			if strings.HasPrefix(j.Name, "tick-") && j.Status.Succeeded == 1 {
				runs = append(runs, j)
			}
		}
		return len(runs) >= 2
	})
	for _, j := range runs {
		due, err := time.Parse(time.RFC3339, j.Annotations[api.AnnotationCronJobScheduledTimestamp])
		if err != nil || due.Second() != 0 || j.Name != fmt.Sprintf("tick-%d", due.Unix()/60) {
			t.Errorf("run %s scheduled %v (%v)", j.Name, due, err)
		}
	}
	out, _ := c.berth("get", "cronjobs")
	if !strings.Contains(out, "tick") || !strings.Contains(out, "* * * * *") {
		t.Errorf("berth get cronjobs:\n%s", out)
	}

	sha = c.commit("a failing job", map[string]string{"doomed.yaml": failingJob})
	out = c.waitCommit(sha, 1)
	if !strings.Contains(out, "Job/default/doomed failed: BackoffLimitExceeded") {
		t.Errorf("berth wait: %s", out)
	}
}
