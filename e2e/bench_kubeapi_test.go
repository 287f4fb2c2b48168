//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/internal/testutil"
)

// BenchmarkKubeAPI (B9, scaled by BERTH_SIM_NODES and BERTH_SIM_PODS as
// B2): `kubectl get pods -A` over every pod of hollow nodes, then 100
// watchers of all pods (each its own connection) through a rolling
// update of every pod: the events per second delivered to them, how long
// after the update they had seen its last change, and the master's RSS.
func BenchmarkKubeAPI(b *testing.B) {
	nodes, pods := envInt("BERTH_SIM_NODES", 100), envInt("BERTH_SIM_PODS", 3000)
	const watchers = 100
	c := newCluster(b)
	// BERTH_BENCH_PPROF=FILE saves a CPU profile of the master over the
	// first 30 s of the watched update.
	profile, pprofAddr := os.Getenv("BERTH_BENCH_PPROF"), freeAddr(b)
	if profile != "" {
		c.startMaster("--pprof", pprofAddr)
	} else {
		c.startMaster()
	}
	sim := start(b, c.dir, "sim", berthBin, "sim", "--nodes", strconv.Itoa(nodes), "--data", filepath.Join(c.dir, "sim"),
		"--cpu", "32", "--memory", "64Gi", "--hollow-latency", "50ms", "--server", c.api, "--token-file", c.agentToken())
	defer sim.stop(9)
	testutil.WaitFor(b, 120*time.Second, fmt.Sprintf("%d hollow nodes ready", nodes), func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.ReadyNodes == nodes
	})
	files := map[string]string{}
	for d := range 10 {
		files[fmt.Sprintf("k%d.yaml", d)] = deployment(fmt.Sprintf("k%d", d), pods/10, "v1")
	}
	c.commit("pods", files)
	testutil.WaitFor(b, 30*time.Minute, fmt.Sprintf("%d pods running", pods), func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.ReadyPods == pods
	})
	work := fmt.Sprintf("%d hollow nodes, %d pods (BERTH_SIM_NODES, BERTH_SIM_PODS), %d watchers", nodes, pods, watchers)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// kubectl get pods -A: the first run fills the master's cache, so
		// the second one is the figure.
		var took time.Duration
		for range 2 {
			start := time.Now()
			out, err := exec.Command("kubectl", "--kubeconfig", c.kubeconfig(), "--cache-dir", filepath.Join(c.dir, "kubectl-cache"),
				"get", "pods", "-A", "--no-headers").Output()
			took = time.Since(start)
			if err != nil || strings.Count(string(out), "\n") != pods {
				b.Fatalf("kubectl get pods -A: %v, %d lines", err, strings.Count(string(out), "\n"))
			}
		}
		benchrow.Record(b, benchrow.Row{ID: "B9", Name: "kubectl get pods -A", Value: took.Seconds(), Unit: "s", Better: "lower", Work: work})
		// B11: the UI's tree of every pod (one namespace), and its cluster page.
		token := c.viewerToken(b)
		tree := c.uiPageTime(b, token, "/ui/namespaces/default", "Deployment")
		nodesPage := c.uiPageTime(b, token, "/ui/cluster", "Nodes")
		benchrow.Record(b, benchrow.Row{ID: "B11", Name: "UI: a namespace's tree of workloads and pods", Value: float64(tree.Microseconds()) / 1000,
			Unit: "ms", Target: 200, Better: "lower", Work: work + "; median of 20 GETs"})
		benchrow.Record(b, benchrow.Row{ID: "B11", Name: "UI: the cluster page (nodes, namespaces)", Value: float64(nodesPage.Microseconds()) / 1000,
			Unit: "ms", Target: 200, Better: "lower", Work: work + "; median of 20 GETs"})

		w := startWatchers(b, c, watchers)
		var peak atomic.Int64
		stopRSS := sampleRSS(c.master.cmd.Process.Pid, &peak)
		for name := range files {
			files[name] = deployment(strings.TrimSuffix(name, ".yaml"), pods/10, fmt.Sprintf("v%d", i+2))
		}
		seen := map[string]bool{}
		for _, p := range c.pods() {
			seen[p.Name] = true
		}
		getW := c.startKubectl("get", "pods", "-A", "-w", "--output-watch-events", "--no-headers")
		getW.await(b, "kubectl get pods -w listing", func(l string) bool { return strings.HasPrefix(l, "ADDED") })
		start := time.Now()
		if profile != "" && i == 0 {
			go saveProfile(b, "http://"+pprofAddr+"/debug/pprof/profile?seconds=30", profile)
		}
		sha := c.commit("rolling update", files)
		getW.await(b, "a new pod in kubectl get pods -w", func(l string) bool {
			f := strings.Fields(l)
			return len(f) > 2 && f[0] == "ADDED" && !seen[f[2]]
		})
		shown := time.Since(start)
		getW.stop()
		testutil.WaitFor(b, 30*time.Minute, "the rolling update of every pod", func() bool {
			s, err := c.client.Status(context.Background(), 0, 0)
			return err == nil && s.LiveCommit == sha && s.Converged
		})
		converged := time.Since(start)
		last := lastPodChange(b, c)
		testutil.WaitFor(b, 10*time.Minute, "every watcher at the last pod change", func() bool {
			return w.allAt(last)
		})
		drained := time.Since(start)
		stopRSS()
		events := w.events.Load()
		w.stop()
		benchrow.Record(b, benchrow.Row{ID: "B9", Name: "commit to its first new pod in kubectl get pods -w", Value: shown.Seconds(),
			Unit: "s", Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B9", Name: "watch events delivered per second (all watchers)", Value: float64(events) / drained.Seconds(),
			Unit: "events/s", Better: "higher", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B9", Name: "watchers at the last change, after convergence", Value: (drained - converged).Seconds(),
			Unit: "s", Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B9", Name: "watches that fell behind the kept changes (410) and listed again", Value: float64(w.gone.Load()),
			Unit: "lists", Better: "lower", Work: work})
		benchrow.Record(b, benchrow.Row{ID: "B9", Name: "master RSS, peak during the watched update", Value: float64(peak.Load()) / 1024,
			Unit: "MiB", Better: "lower", Work: work})
		b.Logf("B9: get pods -A %v; first new pod in get -w %v; update converged %v, watchers drained %v; %d events (%d per watcher), %d lists after 410; master peak %d MiB",
			took, shown, converged, drained, events, events/watchers, w.gone.Load(), peak.Load()/1024)
	}
}

// podWatchers are watches of every pod, counting their events and each
// one's last resourceVersion.
type podWatchers struct {
	events atomic.Int64
	gone   atomic.Int64 // watches that ended with 410 Gone and listed again
	mu     sync.Mutex
	at     []uint64
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startWatchers opens n watches of all pods, each on its own connection,
// from the resourceVersion of a list.
func startWatchers(b *testing.B, c *cluster, n int) *podWatchers {
	config, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &podWatchers{at: make([]uint64, n), cancel: cancel}
	rv, err := listResourceVersion(config)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		hc, err := rest.HTTPClientFor(rest.CopyConfig(config)) // a transport, so a connection, of its own
		if err != nil {
			b.Fatal(err)
		}
		w.wg.Add(1)
		go func() { // ends when stop cancels the watch
			defer w.wg.Done()
			from := rv
			for ctx.Err() == nil && w.follow(ctx, b, hc, config.Host, from, i) {
				w.gone.Add(1) // 410: behind the kept changes; list again, as a reflector does
				var err error
				if from, err = listResourceVersion(config); err != nil {
					b.Errorf("watch %d: listing again: %v", i, err)
					return
				}
			}
		}()
	}
	return w
}

// follow reads one watch from resourceVersion from until it ends; gone
// reports a 410.
func (w *podWatchers) follow(ctx context.Context, b *testing.B, hc *http.Client, host, from string, i int) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion="+from, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("watch %d: HTTP %d", i, resp.StatusCode)
		return false
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Type   string `json:"type"`
			Object struct {
				Metadata struct {
					ResourceVersion string `json:"resourceVersion"`
				} `json:"metadata"`
			} `json:"object"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Type {
		case "ERROR":
			return true
		case "BOOKMARK":
		default:
			w.events.Add(1)
		}
		at, _ := strconv.ParseUint(ev.Object.Metadata.ResourceVersion, 10, 64)
		w.mu.Lock()
		w.at[i] = max(w.at[i], at)
		w.mu.Unlock()
	}
	return false
}

// allAt reports whether every watcher has seen resourceVersion rv.
func (w *podWatchers) allAt(rv uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.at {
		if at < rv {
			return false
		}
	}
	return true
}

func (w *podWatchers) stop() {
	w.cancel()
	w.wg.Wait()
}

// listResourceVersion is the resourceVersion of a list of every pod.
func listResourceVersion(config *rest.Config) (string, error) {
	hc, err := rest.HTTPClientFor(config)
	if err != nil {
		return "", err
	}
	resp, err := hc.Get(config.Host + "/api/v1/pods")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var list struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return "", err
	}
	return list.Metadata.ResourceVersion, nil
}

// lastPodChange is the newest resourceVersion of any pod (after the
// update converged: the change every watcher must see last).
func lastPodChange(b *testing.B, c *cluster) uint64 {
	out, err := exec.Command("kubectl", "--kubeconfig", c.kubeconfig(), "--cache-dir", filepath.Join(c.dir, "kubectl-cache"),
		"get", "pods", "-A", "-o", "jsonpath={range .items[*]}{.metadata.resourceVersion}{\"\\n\"}{end}").Output()
	if err != nil {
		b.Fatal(err)
	}
	var last uint64
	for _, f := range strings.Fields(string(out)) {
		n, _ := strconv.ParseUint(f, 10, 64)
		last = max(last, n)
	}
	return last
}

// sampleRSS keeps the peak resident memory (KiB) of a process until the
// returned stop is called.
func sampleRSS(pid int, peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends at stop
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := int64(rssMiB(pid) * 1024); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
