package gitsource

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkCommitSeen measures the time from the start of `git commit` on a
// local repository to the watch reporting the new head (fsnotify only: the
// poll is an hour).
func BenchmarkCommitSeen(b *testing.B) {
	dir := initRepoTB(b)
	first := commitFileTB(b, dir, "pod.yaml", podYAML)
	s, err := New(Config{Repo: dir, Poll: time.Hour, Limits: DefaultConfig().Limits})
	if err != nil {
		b.Fatal(err)
	}
	heads := watchHeads(b, s, first)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		sha := commitFileTB(b, dir, "n.txt", fmt.Sprint(i))
		select {
		case got := <-heads:
			if got != sha {
				b.Fatalf("saw %s, want %s", got, sha)
			}
		case <-time.After(10 * time.Second):
			b.Fatal("commit not seen")
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
}
