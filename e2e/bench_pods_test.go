//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// BenchmarkAssignmentToRunning measures, for each of 20 pods of one
// Deployment, the time from its assignment to a node (the master's pod
// list first shows it bound) to its container Running (the master's pod
// list first shows it), polling the master every 5 ms. It is what a user
// of the API sees: it includes the agent's long poll, containerd, and the
// status report's batching.
func BenchmarkAssignmentToRunning(b *testing.B) {
	c := newCluster(b)
	c.startMaster()
	c.startAgent()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("pods%d", i)
		c.commit(name, map[string]string{name + ".yaml": deployment(name, 20, "v1")})
		bound, running := map[string]time.Time{}, map[string]time.Time{}
		testutil.WaitFor(b, 120*time.Second, "20 pods running", func() bool {
			now := time.Now()
			for _, p := range c.pods() {
				if p.Labels["app"] != name {
					continue
				}
				if _, seen := bound[p.Name]; !seen && p.Spec.NodeName != "" {
					bound[p.Name] = now
				}
				if _, seen := running[p.Name]; !seen && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil {
					running[p.Name] = now
				}
			}
			return len(running) == 20
		})
		for pod, at := range running {
			times = append(times, at.Sub(bound[pod]))
		}
		b.StopTimer()
		c.waitCommit(c.commit("clean", map[string]string{name + ".yaml": ""}), 0)
		c.expectRunning(0)
		b.StartTimer()
	}
	report(b, "pod assigned -> container Running, 20 pods at once", times)
}

// BenchmarkCtrRun is the floor under BenchmarkAssignmentToRunning: `ctr
// run -d` of the same image and command, one container after another,
// timed from the command's start to its exit (the task started).
func BenchmarkCtrRun(b *testing.B) {
	c := newCluster(b)
	c.startMaster()
	c.startAgent() // imports the image
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 20; j++ {
			start := time.Now()
			out, err := exec.Command("ctr", "--address", c.socket, "--namespace", "berth", "run", "-d", "--net-host",
				"docker.io/library/kubia:v1", fmt.Sprintf("ctr-%d-%d", i, j), "/app", "-listen", "127.0.0.1:0").CombinedOutput()
			if err != nil {
				b.Fatalf("ctr run: %v\n%s", err, out)
			}
			times = append(times, time.Since(start))
		}
		b.StopTimer()
		removeAll(c.ctx(), c.ctr)
		b.StartTimer()
	}
	report(b, "ctr run -d, 20 containers one after another", times)
}
