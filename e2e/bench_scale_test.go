//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/internal/testutil"
)

// envInt reads a size of the scale benchmark from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// rssMiB is the resident memory of a process, from /proc.
func rssMiB(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkHollowScale (B2, scaled by BERTH_SIM_NODES and BERTH_SIM_PODS,
// 100 and 3,000 by default): hollow nodes run by `berth sim` in one
// process, and one commit of 10 Deployments; the time from the commit to
// every pod Running and ready, pods per second, and the master's RSS.
func BenchmarkHollowScale(b *testing.B) {
	nodes, pods := envInt("BERTH_SIM_NODES", 100), envInt("BERTH_SIM_PODS", 3000)
	c := newCluster(b)
	// BERTH_BENCH_PPROF=FILE saves a CPU profile of the master over the
	// first 30 s of the first run, and FILE.rolling over the first 30 s of
	// its rolling update; FILE.sim and FILE.sim.rolling are those of the
	// hollow nodes' process.
	profile := os.Getenv("BERTH_BENCH_PPROF")
	pprofAddr, simPprofAddr := freeAddr(b), freeAddr(b)
	simArgs := []string{"--server", c.api}
	if profile != "" {
		c.startMaster("--pprof", pprofAddr)
		simArgs = append(simArgs, "--pprof", simPprofAddr)
	} else {
		c.startMaster()
	}
	simArgs = append(simArgs, "--token-file", c.agentToken())
	sim := start(b, c.dir, "sim", berthBin, append([]string{"sim", "--nodes", strconv.Itoa(nodes),
		"--data", filepath.Join(c.dir, "sim"), "--cpu", "32", "--memory", "64Gi", "--hollow-latency", "50ms"}, simArgs...)...)
	defer sim.stop(9)
	testutil.WaitFor(b, 120*time.Second, fmt.Sprintf("%d hollow nodes ready", nodes), func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.ReadyNodes == nodes
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		files := map[string]string{}
		for d := range 10 {
			name := fmt.Sprintf("s%d-%d", i, d)
			files[name+".yaml"] = deployment(name, pods/10, "v1")
		}
		start := time.Now()
		profiled := make(chan struct{})
		if profile != "" && i == 0 {
			go func() {
				defer close(profiled)
				simDone := make(chan struct{})
				go func() {
					defer close(simDone)
					saveProfile(b, "http://"+simPprofAddr+"/debug/pprof/profile?seconds=30", profile+".sim")
				}()
				saveProfile(b, "http://"+pprofAddr+"/debug/pprof/profile?seconds=30", profile)
				<-simDone
			}()
		} else {
			close(profiled)
		}
		c.commit(fmt.Sprintf("%d pods", pods), files)
		fewestReady := nodes // nodes Ready at the worst moment: late heartbeats show here
		testutil.WaitFor(b, 30*time.Minute, fmt.Sprintf("%d pods running", pods), func() bool {
			s, err := c.client.Status(context.Background(), 0, 0)
			if err == nil {
				fewestReady = min(fewestReady, s.ReadyNodes)
			}
			return err == nil && s.ReadyPods == pods
		})
		took := time.Since(start)
		masterMiB, perNode := rssMiB(c.master.cmd.Process.Pid), rssMiB(sim.cmd.Process.Pid)/float64(nodes)
		b.ReportMetric(took.Seconds(), "s-to-running")
		b.ReportMetric(float64(pods)/took.Seconds(), "pods/s")
		b.ReportMetric(masterMiB, "master-MiB")
		b.ReportMetric(perNode, "MiB/hollow-node")
		work := fmt.Sprintf("%d hollow nodes, %d pods in one commit (BERTH_SIM_NODES, BERTH_SIM_PODS)", nodes, pods)
		var target, rssTarget float64
		if nodes == 1000 && pods == 30000 { // the targets are for this size
			target, rssTarget = 30, 2048
		}
		benchrow.Record(b, benchrow.Row{ID: "B2", Name: "commit to all pods running", Value: took.Seconds(), Unit: "s", Target: target, Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B2", Name: "pods running per second", Value: float64(pods) / took.Seconds(), Unit: "pods/s", Better: "higher", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B2", Name: "master RSS", Value: masterMiB, Unit: "MiB", Target: rssTarget, Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B2", Name: "RSS per hollow node", Value: perNode, Unit: "MiB", Better: "lower", Work: work})
		b.Logf("%d hollow nodes, %d pods: all running %v after the commit", nodes, pods, took)

		// A rolling update of all of them (25% surge, 25% unavailable).
		for name := range files {
			files[name] = deployment(strings.TrimSuffix(name, ".yaml"), pods/10, "v2")
		}
		<-profiled // one CPU profile at a time
		start = time.Now()
		if profile != "" && i == 0 {
			go saveProfile(b, "http://"+pprofAddr+"/debug/pprof/profile?seconds=30", profile+".rolling")
			go saveProfile(b, "http://"+simPprofAddr+"/debug/pprof/profile?seconds=30", profile+".sim.rolling")
		}
		sha := c.commit(fmt.Sprintf("%d pods to v2", pods), files)
		testutil.WaitFor(b, 30*time.Minute, "the rolling update of every pod", func() bool {
			s, err := c.client.Status(context.Background(), 0, 0)
			if err == nil {
				fewestReady = min(fewestReady, s.ReadyNodes)
			}
			return err == nil && s.LiveCommit == sha && s.Converged
		})
		rolled := time.Since(start)
		b.ReportMetric(rolled.Seconds(), "s-rolling-update")
		b.ReportMetric(float64(fewestReady), "fewest-nodes-ready")
		benchrow.Record(b, benchrow.Row{ID: "B2", Name: "rolling update of every pod", Value: rolled.Seconds(), Unit: "s", Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B2", Name: "fewest nodes Ready, sampled every 50 ms", Value: float64(fewestReady), Unit: "nodes", Better: "higher", Work: work})
		b.StopTimer()
		c.removeAll(files)
		b.StartTimer()
	}
}

// removeAll deletes the files in one commit and waits until no pod is
// left.
func (c *cluster) removeAll(files map[string]string) {
	clean := map[string]string{}
	for name := range files {
		clean[name] = ""
	}
	c.commit("clean", clean)
	testutil.WaitFor(c.t, 30*time.Minute, "no pods", func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.Pods == 0
	})
}

// saveProfile fetches a profile from url into file.
func saveProfile(b *testing.B, url, file string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Logf("profile: %v", err)
	}
}
