package node

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// agentMetrics are an agent's Prometheus metrics, served on its port at
// /metrics (to masters, which proxy them): the kubelet's resource
// metrics of each running container, from the last cgroup reading, and
// how long its pods took to start.
type agentMetrics struct {
	registry *prometheus.Registry
	podStart prometheus.Histogram
}

func newAgentMetrics(a *Agent) *agentMetrics {
	mx := &agentMetrics{registry: prometheus.NewRegistry(),
		podStart: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "berth_pod_start_duration_seconds",
			Help:    "Time from a pod reaching its agent to all its containers running (the kubelet's pod start latency).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)})}
	mx.registry.MustRegister(mx.podStart, containerCollector{a}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return mx
}

func (mx *agentMetrics) handler() http.Handler {
	return promhttp.HandlerFor(mx.registry, promhttp.HandlerOpts{Registry: mx.registry})
}

// containerCollector sends the containers' CPU time and working set as
// cAdvisor names them, labelled by namespace, pod and container.
type containerCollector struct{ a *Agent }

var (
	containerLabels = []string{"namespace", "pod", "container"}
	descCPU         = prometheus.NewDesc("container_cpu_usage_seconds_total", "Cumulative CPU time of a container.", containerLabels, nil)
	descWorkingSet  = prometheus.NewDesc("container_memory_working_set_bytes", "Working set of a container.", containerLabels, nil)
)

// Describe sends nothing: the series follow the running containers.
func (containerCollector) Describe(chan<- *prometheus.Desc) {}

// Collect sends the last reading of each running container.
func (c containerCollector) Collect(ch chan<- prometheus.Metric) {
	s := &c.a.stats
	s.mu.Lock()
	readings := s.readings
	s.mu.Unlock()
	for _, r := range readings {
		ns, pod, _ := strings.Cut(r.pod, "/")
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, r.cpu.Seconds(), ns, pod, r.container)
		ch <- prometheus.MustNewConstMetric(descWorkingSet, prometheus.GaugeValue, float64(r.workingSet), ns, pod, r.container)
	}
}
