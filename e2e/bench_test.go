//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkPushToLive measures the time from `git commit` of a Deployment
// of 3 replicas to `berth wait` exiting 0, on real containerd. Each
// iteration deploys a new Deployment from nothing; its removal is not
// timed. It reports the median and p90 of the iterations.
func BenchmarkPushToLive(b *testing.B) {
	c := newCluster(b)
	c.startMaster()
	c.startAgent()
	b.ResetTimer()
	var times []time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("apps/bench%d.yaml", i)
		startAt := time.Now()
		sha := c.commit(fmt.Sprintf("bench %d", i), map[string]string{name: deployment(fmt.Sprintf("bench%d", i), 3, "v1")})
		c.waitCommit(sha, 0)
		times = append(times, time.Since(startAt))
		b.StopTimer()
		c.waitCommit(c.commit("clean", map[string]string{name: ""}), 0)
		c.expectRunning(0)
		b.StartTimer()
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(times[len(times)/2].Seconds(), "median-s")
	b.ReportMetric(times[(len(times)*9)/10].Seconds(), "p90-s")
	b.Logf("git commit -> berth wait, 3 replicas, %d runs: %v", len(times), times)
}
