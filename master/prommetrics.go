package master

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
)

// metrics are a master's Prometheus metrics (client_golang), served at
// /metrics: what the master measures as it goes (histograms, counters),
// and what the state holds, read at each scrape (stateCollector). No
// label takes values without bound: namespaces and workloads are Git's.
type metrics struct {
	registry     *prometheus.Registry
	gitRead      prometheus.Histogram
	commitToLive prometheus.Histogram
	reconcile    prometheus.Histogram
	raftApply    prometheus.Histogram
	revisions    *prometheus.CounterVec

	mu   sync.Mutex
	seen map[string]time.Time // commit to when this master saw it
}

// Buckets of durations from a millisecond to a minute.
var durationBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 13)

func newMetrics() *metrics {
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: durationBuckets})
	}
	return &metrics{registry: prometheus.NewRegistry(),
		gitRead:      hist("berth_git_fetch_duration_seconds", "Time to fetch, load and validate a new head of the branch."),
		commitToLive: hist("berth_commit_to_live_seconds", "Time from a master seeing a commit to its rollout converging."),
		reconcile:    hist("berth_reconcile_duration_seconds", "Time of one reconciler pass."),
		raftApply:    hist("berth_raft_apply_duration_seconds", "Time from proposing a Raft entry to its being applied, on the master that proposed it."),
		revisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_revisions_total",
			Help: "Commits this master recorded, by outcome (applied, rejected, superseded)."}, []string{"outcome"}),
		seen: map[string]time.Time{}}
}

// register adds the metrics and the state's collector to the registry.
func (mx *metrics) register(m *Master) {
	mx.registry.MustRegister(mx.gitRead, mx.commitToLive, mx.reconcile, mx.raftApply, mx.revisions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), stateCollector{m})
}

// handler serves the metrics in Prometheus' text format.
func (mx *metrics) handler() http.Handler {
	return promhttp.HandlerFor(mx.registry, promhttp.HandlerOpts{Registry: mx.registry})
}

// commitSeen notes when this master saw a commit (for commit-to-live).
func (mx *metrics) commitSeen(commit string, at time.Time) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if len(mx.seen) > 100 { // the commits whose rollout never ended
		clear(mx.seen)
	}
	mx.seen[commit] = at
}

// rolloutConverged observes the time from a commit being seen (or, on a
// master that did not see it, applied) to its rollout converging.
func (mx *metrics) rolloutConverged(commit string, applied, at time.Time) {
	mx.mu.Lock()
	seen, ok := mx.seen[commit]
	delete(mx.seen, commit)
	mx.mu.Unlock()
	if !ok {
		seen = applied
	}
	mx.commitToLive.Observe(at.Sub(seen).Seconds())
}

// stateCollector reads the state at each scrape: the live revision,
// nodes, pods, workloads (named as kube-state-metrics names them) and
// Raft's figures.
type stateCollector struct{ m *Master }

// Describe sends nothing: the collector is unchecked, as its series
// follow the state.
func (stateCollector) Describe(chan<- *prometheus.Desc) {}

var (
	descRevision      = prometheus.NewDesc("berth_revision_info", "The live revision (one series: its commit).", []string{"commit"}, nil)
	descNodes         = prometheus.NewDesc("berth_nodes", "Nodes, by readiness.", []string{"ready"}, nil)
	descPods          = prometheus.NewDesc("berth_pods", "Pods, by namespace and phase.", []string{"namespace", "phase"}, nil)
	descCommitIndex   = prometheus.NewDesc("berth_raft_commit_index", "Raft's commit index on this master.", nil, nil)
	descAppliedIndex  = prometheus.NewDesc("berth_raft_applied_index", "Raft's applied index on this master.", nil, nil)
	descLeaderChanges = prometheus.NewDesc("berth_raft_leader_changes_total", "Changes of leader this master observed.", nil, nil)
	descLeader        = prometheus.NewDesc("berth_raft_leader", "1 when this master leads.", nil, nil)
)

// Collect sends the state's series.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	v := m.store.View(false)
	now := time.Now()
	if v.LiveCommit != "" {
		ch <- prometheus.MustNewConstMetric(descRevision, prometheus.GaugeValue, 1, v.LiveCommit)
	}
	ready := 0
	for _, n := range m.creditedNodes(v, now) {
		if n.ReadyWithin(now, m.nodeTimeout(v)) {
			ready++
		}
	}
	ch <- prometheus.MustNewConstMetric(descNodes, prometheus.GaugeValue, float64(ready), "true")
	ch <- prometheus.MustNewConstMetric(descNodes, prometheus.GaugeValue, float64(len(v.Nodes)-ready), "false")
	collectPods(ch, v.Pods)
	collectWorkloads(ch, reconciler.WorkloadStatus(m.input(v, now), now))
	collectRaft(ch, m.store.RaftStats())
}

// collectPods counts the pods by namespace and phase (a pod no agent
// reported yet is Pending).
func collectPods(ch chan<- prometheus.Metric, pods []corev1.Pod) {
	type key struct{ ns, phase string }
	counts := map[key]int{}
	for i := range pods {
		phase := pods[i].Status.Phase
		if phase == "" {
			phase = corev1.PodPending
		}
		counts[key{pods[i].Namespace, string(phase)}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descPods, prometheus.GaugeValue, float64(n), k.ns, string(k.phase))
	}
}

func collectRaft(ch chan<- prometheus.Metric, s raftstore.RaftStats) {
	leader := 0.0
	if s.Leader {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(descCommitIndex, prometheus.GaugeValue, float64(s.CommitIndex))
	ch <- prometheus.MustNewConstMetric(descAppliedIndex, prometheus.GaugeValue, float64(s.AppliedIndex))
	ch <- prometheus.MustNewConstMetric(descLeaderChanges, prometheus.CounterValue, float64(s.LeaderChanges))
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader)
}

// handleNodeMetrics proxies a node's agent's metrics (its /metrics,
// which only masters may read), as kube-apiserver's node proxy serves
// the kubelet's: Prometheus scrapes the agents through a master.
func (m *Master) handleNodeMetrics(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	addr := m.store.NodeAddresses()[node]
	if addr == "" {
		writeError(w, http.StatusNotFound, fmt.Errorf("node %s is not registered, or its agent serves no metrics (started without --listen)", node))
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "https://"+addr+api.AgentPathMetrics, nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	req.Header.Set("Accept", r.Header.Get("Accept"))
	agent := m.agentClient(node)
	agent.Timeout = 30 * time.Second
	defer agent.CloseIdleConnections()
	resp, err := agent.Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Errorf("metrics of node %s at %s: %w", node, addr, err))
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
