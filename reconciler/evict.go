package reconciler

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/api"
)

// evict deletes the pods that run on a node with a NoExecute taint they
// do not tolerate, or tolerate only for tolerationSeconds that have run
// out (counted from when the taint was added, or the pod created if
// later), as Kubernetes' taint manager does. Drain is a cordon plus a
// NoExecute taint. Their controllers place them again elsewhere.
//
// Like Kubernetes' node lifecycle controller, it does not evict for
// node.kubernetes.io/unreachable while the cluster is disrupted: no node
// Ready, or more than two and at least 55% NotReady. So many nodes at once
// more likely means the masters or the network are at fault (or the
// machine is overloaded) than the nodes, and moving their pods would only
// add load. (Kubernetes still evicts one node per 100 s there on clusters
// above 50 nodes; berth waits.)
func (r *pass) evict() {
	byName := map[string]*api.Node{}
	for i := range r.nodes {
		byName[r.nodes[i].Name] = &r.nodes[i]
	}
	disrupted := disrupted(r.nodes)
	for i := range r.in.Pods {
		p := &r.in.Pods[i]
		n := byName[p.Spec.NodeName]
		if n == nil || p.DeletionTimestamp != nil || finished(p) {
			continue
		}
		for j := range n.Taints {
			t := &n.Taints[j]
			if disrupted && t.Key == api.TaintNodeUnreachable {
				continue
			}
			if t.Effect == corev1.TaintEffectNoExecute && r.evictionDue(p, t) {
				r.delete(p)
				break
			}
		}
	}
}

// unhealthyThreshold is the share of NotReady nodes at which the cluster
// counts as disrupted (kube-controller-manager's
// --unhealthy-zone-threshold, for one zone).
const unhealthyThreshold = 0.55

// disrupted reports whether the nodes (with their condition taints) are
// disrupted: none Ready, or more than two and unhealthyThreshold or more
// NotReady.
func disrupted(nodes []api.Node) bool {
	notReady := 0
	for i := range nodes {
		if hasTaint(&nodes[i], api.TaintNodeUnreachable) {
			notReady++
		}
	}
	if notReady == 0 {
		return false
	}
	return notReady == len(nodes) || (notReady > 2 && float64(notReady) >= unhealthyThreshold*float64(len(nodes)))
}

// evictionDue reports whether a NoExecute taint evicts the pod now.
func (r *pass) evictionDue(p *corev1.Pod, t *corev1.Taint) bool {
	var seconds *int64
	for i := range p.Spec.Tolerations {
		tol := &p.Spec.Tolerations[i]
		if !tol.ToleratesTaint(klog.Background(), t, false) {
			continue
		}
		if tol.TolerationSeconds == nil {
			return false // tolerated for ever
		}
		if seconds == nil || *tol.TolerationSeconds < *seconds {
			seconds = tol.TolerationSeconds
		}
	}
	if seconds == nil && t.Key == api.TaintNodeUnreachable {
		if kind, _ := owner(p); kind == "DaemonSet" {
			return false // the DaemonSet controller's tolerations: for ever
		}
		d := int64(api.DefaultTolerationSeconds) // DefaultTolerationSeconds admission
		seconds = &d
	}
	if seconds == nil {
		return true
	}
	start := p.CreationTimestamp.Time
	if t.TimeAdded != nil && t.TimeAdded.After(start) {
		start = t.TimeAdded.Time
	}
	return !r.now.Before(start.Add(time.Duration(*seconds) * time.Second))
}

// forceDelete removes terminating pods of nodes that are down (NotReady)
// and that an operator marked node.kubernetes.io/out-of-service in Git,
// as Kubernetes' non-graceful node shutdown does: nothing will confirm
// those pods stopped, and their StatefulSet ordinals may start elsewhere.
func (r *pass) forceDelete() {
	down := map[string]bool{}
	for i := range r.nodes {
		n := &r.nodes[i]
		down[n.Name] = hasTaint(n, api.TaintNodeOutOfService) && hasTaint(n, api.TaintNodeUnreachable)
	}
	for i := range r.in.Pods {
		if p := &r.in.Pods[i]; p.DeletionTimestamp != nil && down[p.Spec.NodeName] {
			r.plan.ForceDelete = append(r.plan.ForceDelete, api.PodKey(p))
		}
	}
}

// collectOrphans deletes the pods bound to a node that is not registered
// (an operator deleted it), as Kubernetes' pod garbage collector does:
// with no node to confirm, they go at once, and their controllers place
// them again.
func (r *pass) collectOrphans() {
	known := make(map[string]bool, len(r.nodes))
	for i := range r.nodes {
		known[r.nodes[i].Name] = true
	}
	for i := range r.in.Pods {
		if p := &r.in.Pods[i]; p.Spec.NodeName != "" && !known[p.Spec.NodeName] {
			r.delete(p)
		}
	}
}

func hasTaint(n *api.Node, key string) bool {
	for _, t := range n.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// dedupeDeletes keeps the first of each pod key the plan deletes (a pod
// may be both evicted and dropped by its controller).
func (r *pass) dedupeDeletes() {
	seen := map[string]bool{}
	out := r.plan.Delete[:0]
	for _, k := range r.plan.Delete {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	r.plan.Delete = out
}
