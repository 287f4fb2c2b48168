package kubeapi

import (
	"context"
	"net/http"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/berth-dev/berth/api"
)

// metricsTimeout bounds how long the agents have to answer a metrics
// request.
const metricsTimeout = 5 * time.Second

// metrics serves metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics (what
// kubectl top reads) from the agents' last readings, as metrics-server
// does from the kubelets'.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodGet {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, r.Method))
		return
	}
	if s.cfg.Metrics == nil || (req.plural != "nodes" && req.plural != "pods") || req.sub != "" || (req.plural == "nodes" && req.namespace != "") {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, req.name))
		return
	}
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("labelSelector: "+err.Error()))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), metricsTimeout)
	defer cancel()
	stats := s.cfg.Metrics(ctx)
	var items []any
	if req.plural == "nodes" {
		for _, m := range s.nodeMetrics(stats) {
			if (req.name == "" || m.Name == req.name) && sel.Matches(labels.Set(m.Labels)) {
				items = append(items, m)
			}
		}
	} else {
		for _, m := range s.podMetrics(stats) {
			if (req.namespace == "" || m.Namespace == req.namespace) && (req.name == "" || m.Name == req.name) && sel.Matches(labels.Set(m.Labels)) {
				items = append(items, m)
			}
		}
	}
	kind := map[string]string{"nodes": "NodeMetrics", "pods": "PodMetrics"}[req.plural]
	if req.name != "" {
		if len(items) == 0 {
			writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, req.name))
			return
		}
		writeJSON(w, http.StatusOK, items[0])
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"apiVersion": metricsv1beta1.SchemeGroupVersion.String(), "kind": kind + "List",
		"metadata": metav1.ListMeta{}, "items": append([]any{}, items...)})
}

// usageList is a Usage as Kubernetes quantities.
func usageList(u api.Usage) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *apiresource.NewScaledQuantity(int64(u.CPUNanoCores), apiresource.Nano),
		corev1.ResourceMemory: *apiresource.NewQuantity(int64(u.MemoryBytes), apiresource.BinarySI),
	}
}

// nodeMetrics are the nodes' readings, labelled as the nodes are.
func (s *Server) nodeMetrics(stats []api.NodeStats) []*metricsv1beta1.NodeMetrics {
	var out []*metricsv1beta1.NodeMetrics
	for _, n := range stats {
		if n.Usage.Time.IsZero() {
			continue // one reading only, no rate yet
		}
		m := &metricsv1beta1.NodeMetrics{TypeMeta: metav1.TypeMeta{APIVersion: metricsv1beta1.SchemeGroupVersion.String(), Kind: "NodeMetrics"},
			ObjectMeta: metav1.ObjectMeta{Name: n.Node, CreationTimestamp: metav1.Now()},
			Timestamp:  metav1.NewTime(n.Usage.Time), Window: metav1.Duration{Duration: n.Usage.Window}, Usage: usageList(n.Usage)}
		if o, _ := s.cache.get(Nodes, "", n.Node); o != nil {
			m.Labels = o.GetLabels()
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// podMetrics are the pods' readings, labelled as the pods are.
func (s *Server) podMetrics(stats []api.NodeStats) []*metricsv1beta1.PodMetrics {
	var out []*metricsv1beta1.PodMetrics
	for _, n := range stats {
		for _, p := range n.Pods {
			m := &metricsv1beta1.PodMetrics{TypeMeta: metav1.TypeMeta{APIVersion: metricsv1beta1.SchemeGroupVersion.String(), Kind: "PodMetrics"},
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, CreationTimestamp: metav1.Now()}}
			for _, c := range p.Containers {
				m.Timestamp, m.Window = metav1.NewTime(c.Usage.Time), metav1.Duration{Duration: c.Usage.Window}
				m.Containers = append(m.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: usageList(c.Usage)})
			}
			if o, _ := s.cache.get(Pods, p.Namespace, p.Name); o != nil {
				m.Labels = o.GetLabels()
			}
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return objectKey(out[i]) < objectKey(out[j]) })
	return out
}
