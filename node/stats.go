package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/api"
)

// statsInterval is how often the agent reads its containers' cgroups and
// the node's CPU and memory: a pod has metrics two readings after it
// starts (kubectl top).
const statsInterval = 5 * time.Second

// sample is one reading of cumulative CPU time and a working set.
type sample struct {
	at         time.Time
	cpu        time.Duration
	workingSet uint64
}

// usage is the CPU rate between two readings and the later working set.
func usage(prev, cur sample) api.Usage {
	window := cur.at.Sub(prev.at)
	u := api.Usage{Time: cur.at, Window: window, MemoryBytes: cur.workingSet}
	if window > 0 && cur.cpu >= prev.cpu {
		u.CPUNanoCores = uint64(float64(cur.cpu-prev.cpu) / window.Seconds())
	}
	return u
}

// statsCollector keeps the last reading of each container (by runtime
// ID) and of the node, and the stats computed from the last two.
type statsCollector struct {
	mu    sync.Mutex
	last  map[string]sample
	node  sample
	stats api.NodeStats
	// readings are the last reading of each running container, for the
	// agent's metrics.
	readings []containerReading
}

// containerReading is a container's cumulative CPU time and working set.
type containerReading struct {
	pod, container string // pod is "namespace/name"
	sample
}

// statsLoop reads the cgroups every statsInterval until ctx ends.
func (a *Agent) statsLoop(ctx context.Context) {
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		a.collectStats(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectStats takes one reading of every running container and of the
// node.
func (a *Agent) collectStats(ctx context.Context) {
	c := &a.stats
	now := time.Now()
	seen := map[string]sample{}
	var readings []containerReading
	out := api.NodeStats{Node: a.cfg.Name}
	for _, w := range a.allWorkers() {
		ns, name, _ := strings.Cut(w.key, "/")
		ps := api.PodStats{Namespace: ns, Name: name}
		for container, id := range w.containerIDs() {
			u, err := a.rt.Usage(ctx, id)
			if err != nil {
				continue // not running (any more)
			}
			cur := sample{at: now, cpu: u.CPU, workingSet: u.WorkingSet}
			seen[id] = cur
			readings = append(readings, containerReading{pod: w.key, container: container, sample: cur})
			c.mu.Lock()
			prev, ok := c.last[id]
			c.mu.Unlock()
			if ok {
				ps.Containers = append(ps.Containers, api.ContainerStats{Name: container, Usage: usage(prev, cur)})
			}
		}
		if len(ps.Containers) > 0 {
			out.Pods = append(out.Pods, ps)
		}
	}
	node, err := readNodeSample(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && !c.node.at.IsZero() {
		out.Usage = usage(c.node, node)
	}
	if err == nil {
		c.node = node
	}
	c.last, c.stats, c.readings = seen, out, readings
}

// handleStats answers the last stats (the master's metrics.k8s.io).
func (a *Agent) handleStats(w http.ResponseWriter, r *http.Request) {
	a.stats.mu.Lock()
	s := a.stats.stats
	a.stats.mu.Unlock()
	if s.Node == "" {
		s.Node = a.cfg.Name
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

// readNodeSample reads the node's busy CPU time (/proc/stat) and memory
// in use (/proc/meminfo: total less available).
func readNodeSample(now time.Time) (sample, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return sample{}, fmt.Errorf("/proc/stat: empty")
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal …
	if len(fields) < 6 || fields[0] != "cpu" {
		return sample{}, fmt.Errorf("/proc/stat: first line %q", sc.Text())
	}
	var busy uint64
	for i, f := range fields[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait, not guest (counted in user)
			busy += n
		}
	}
	s := sample{at: now, cpu: time.Duration(busy) * 10 * time.Millisecond} // USER_HZ is 100 on Linux
	mem, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return s, err
	}
	kb := map[string]uint64{}
	for _, line := range strings.Split(string(mem), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			kb[k], _ = strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	if kb["MemTotal"] > kb["MemAvailable"] {
		s.workingSet = (kb["MemTotal"] - kb["MemAvailable"]) * 1024
	}
	return s, nil
}
