//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// probedPod is a pod of kubia on the port of listen (on every address of
// the pod: probes reach it at its own).
func probedPod(name, listen, probes string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", %q]
    ports: [{name: http, containerPort: %s}]
%s`, name, listen[strings.LastIndex(listen, ":"):], listen[strings.LastIndex(listen, ":")+1:], probes)
}

// TestProbes: readiness drives Ready; a failing liveness probe restarts
// the container; a container whose readiness probe fails runs but is not
// ready and the commit does not converge.
func TestProbes(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	web, dead := freeAddr(t), freeAddr(t)
	_, deadPort, _ := net.SplitHostPort(dead)
	sha := c.commit("probed pods", map[string]string{
		"ready.yaml": probedPod("ready", web, `    readinessProbe:
      httpGet: {path: /, port: http}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: http}
      periodSeconds: 1
    startupProbe:
      exec: {command: [/app, -exit, "0"]}
      periodSeconds: 1
`),
		"unready.yaml": probedPod("unready", freeAddr(t), fmt.Sprintf(`    readinessProbe:
      tcpSocket: {port: %s}
      periodSeconds: 1
`, deadPort)),
		"sick.yaml": probedPod("sick", freeAddr(t), `    livenessProbe:
      exec: {command: [/app, -exit, "1"]}
      periodSeconds: 1
      failureThreshold: 1
`),
	})
	ready := func(p corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
	}
	testutil.WaitFor(t, 60*time.Second, "ready to be Ready and sick to restart", func() bool {
		m := c.podsByName()
		sick := m["sick"].Status.ContainerStatuses
		return ready(m["ready"]) && len(sick) == 1 && sick[0].RestartCount >= 1
	})
	m := c.podsByName()
	last := m["sick"].Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || !strings.Contains(last.Message, "Liveness probe failed") {
		t.Errorf("sick's last state %+v", last)
	}
	if u := m["unready"]; u.Status.Phase != corev1.PodRunning || ready(u) {
		t.Errorf("unready: phase %s ready %v", u.Status.Phase, ready(u))
	}
	if r := m["ready"].Status.ContainerStatuses[0]; r.RestartCount != 0 || r.Started == nil || !*r.Started {
		t.Errorf("ready: %+v", r)
	}
	if s := c.status(); s.LiveCommit != sha || s.Converged {
		t.Errorf("status %+v: must not converge with an unready pod", s)
	}
}
