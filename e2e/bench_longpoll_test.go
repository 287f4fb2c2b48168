//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/internal/testutil"
)

// BenchmarkHollowLongPoll (B2c): hollow nodes (BERTH_SIM_NODES, 1,000 by
// default) joined with the agent token, each with its own certificate,
// long-poll their assignments and the service table and send heartbeats
// over mutual TLS, and one commit puts 10 pods on each; the API requests
// per second the master answers (counted in its audit log) while the
// commit rolls out, and the master's CPU per request.
func BenchmarkHollowLongPoll(b *testing.B) {
	nodes := envInt("BERTH_SIM_NODES", 1000)
	c := newCluster(b)
	audit := filepath.Join(c.dir, "audit.log")
	c.startMaster("--audit-log", audit)
	sim := start(b, c.dir, "sim", berthBin, "sim", "--nodes", strconv.Itoa(nodes), "--data", filepath.Join(c.dir, "sim"),
		"--cpu", "32", "--memory", "64Gi", "--hollow-latency", "50ms", "--server", c.api, "--token-file", c.agentToken())
	defer sim.stop(9)
	joinStart := time.Now()
	testutil.WaitFor(b, 5*time.Minute, fmt.Sprintf("%d hollow nodes ready", nodes), func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.ReadyNodes == nodes
	})
	joined := time.Since(joinStart)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pods := 10 * nodes
		lines0, cpu0 := lineCount(b, audit), cpuSeconds(c.master.cmd.Process.Pid)
		start := time.Now()
		files := map[string]string{}
		for d := range 10 {
			name := fmt.Sprintf("p%d-%d", i, d)
			files[name+".yaml"] = deployment(name, pods/10, "v1")
		}
		c.commit("long-poll load", files)
		testutil.WaitFor(b, 30*time.Minute, fmt.Sprintf("%d pods running", pods), func() bool {
			s, err := c.client.Status(context.Background(), 0, 0)
			return err == nil && s.ReadyPods == pods
		})
		took := time.Since(start)
		requests, cpu := lineCount(b, audit)-lines0, cpuSeconds(c.master.cmd.Process.Pid)-cpu0
		rps := float64(requests) / took.Seconds()
		work := fmt.Sprintf("%d hollow nodes over mutual TLS, %d pods in one commit", nodes, pods)
		b.ReportMetric(rps, "requests/s")
		b.ReportMetric(cpu/float64(requests)*1e6, "master-CPU-µs/request")
		benchrow.Record(b, benchrow.Row{ID: "B2c", Name: "API requests per second while the commit rolls out", Value: rps, Unit: "req/s", Better: "higher", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B2c", Name: "master CPU per request (TLS, audit log)", Value: cpu / float64(requests) * 1e6, Unit: "µs", Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B2c", Name: "hollow nodes joined (token, CSR, pin) and Ready", Value: joined.Seconds(), Unit: "s", Better: "lower", Work: work})
		b.Logf("%s: %d requests in %v (%.0f/s), master CPU %.1f s, nodes joined in %v", work, requests, took.Round(time.Millisecond), rps, cpu, joined.Round(time.Millisecond))
		b.StopTimer()
		c.removeAll(files)
		b.StartTimer()
	}
}

// lineCount counts the lines of a file.
func lineCount(b *testing.B, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}

// cpuSeconds is a process's user and system time so far.
func cpuSeconds(pid int) float64 { return takeCPU().byPID[pid] }
