//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/benchrow"
)

// BenchmarkAgentFootprint (B6) reads the agent's resident memory when it
// is idle (registered, no pods, after a few heartbeats) and when it runs
// 50 real pods, and the master's beside them. The idle target is 45 MiB
// since the agent holds the pod network and the cluster DNS (issue #16;
// 40 MiB before).
func BenchmarkAgentFootprint(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := newCluster(b)
		c.startMaster()
		c.startAgent()
		time.Sleep(5 * time.Second) // idle: a few heartbeats and long polls
		idle := rssMiB(c.agent.cmd.Process.Pid)
		c.waitCommit(c.commit("50 pods", map[string]string{"web.yaml": deployment("web", 50, "v1")}), 0)
		busy := rssMiB(c.agent.cmd.Process.Pid)
		master := rssMiB(c.master.cmd.Process.Pid)
		benchrow.Record(b, benchrow.Row{ID: "B6", Name: "agent RSS, idle", Value: idle, Unit: "MiB", Target: 45, Better: "lower", Work: "registered, no pods, 5 s after start; pod network and cluster DNS up"})
		benchrow.Record(b, benchrow.Row{ID: "B6", Name: "agent RSS, 50 pods", Value: busy, Unit: "MiB", Better: "lower", Work: "a Deployment of 50 real containers, converged"})
		benchrow.Record(b, benchrow.Row{ID: "B6", Name: "master RSS, 50 pods", Value: master, Unit: "MiB", Better: "lower", Work: "the same cluster"})
	}
}
