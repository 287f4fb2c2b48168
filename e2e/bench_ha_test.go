//go:build e2e

package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// BenchmarkFailover (B5) runs three masters and one agent, kills the
// leader with SIGKILL, commits at once, and times until `berth wait` (given
// every master) sees that commit live and converged. The killed master is
// restarted as a follower, untimed, before the next run.
func BenchmarkFailover(b *testing.B) {
	h := newHA(b, 3, "10s")
	h.startAgent("n1")
	h.waitCommit(h.commit("web", map[string]string{"web.yaml": deployment("web", 2, "v1")}), 0)
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		old := h.leader()
		start := time.Now()
		h.masters[old].stop(syscall.SIGKILL)
		sha := h.commit(fmt.Sprintf("config %d", i), map[string]string{"config.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {run: %q}\n", fmt.Sprint(i))})
		h.waitCommit(sha, 0)
		times = append(times, time.Since(start))
		b.StopTimer()
		h.startMaster(old)
		testutil.WaitFor(b, 30*time.Second, "the old leader back as a follower", func() bool {
			cl := h.clientOf(old)
			s, err := cl.Self(h.ctx())
			return err == nil && s.State == "Follower" && s.Leader != ""
		})
		b.StartTimer()
	}
	recordTimes(b, "B5", "failover: kill -9 of the leader to the next commit live", "three masters, one agent", 3, false, times)
}
