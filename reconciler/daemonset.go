package reconciler

import (
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/berth-dev/berth/api"
)

// daemonTolerations are the tolerations Kubernetes' DaemonSet controller
// adds to its pods: an unreachable node keeps its daemon pod for ever.
var daemonTolerations = []corev1.Toleration{
	{Key: api.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
}

// daemonNodes returns the names of the nodes a DaemonSet's pod belongs
// on: its nodeSelector and required node affinity match and its
// tolerations cover the node's NoSchedule and NoExecute taints. It also
// returns the nodes where an existing pod may stay: there only NoExecute
// taints count, so a cordoned or unreachable node keeps its daemon pod,
// as in Kubernetes.
func (r *pass) daemonNodes(t *corev1.PodTemplateSpec) (run []string, keep map[string]bool) {
	affinity := nodeaffinity.GetRequiredNodeAffinity(&corev1.Pod{Spec: t.Spec})
	tols := append(slices.Clip(t.Spec.Tolerations), daemonTolerations...)
	keep = map[string]bool{}
	for i := range r.nodes {
		n := &r.nodes[i]
		match, _ := affinity.Match(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}})
		if !match {
			continue
		}
		if untolerated(n.Taints, tols) == nil {
			run = append(run, n.Name)
		}
		if untolerated(noExecute(n.Taints), tols) == nil {
			keep[n.Name] = true
		}
	}
	return run, keep
}

// noExecute returns the NoExecute taints.
func noExecute(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// daemonSet keeps one pod of the current template on every eligible node.
// A pod is bound to its node when it is created and never moves; a node
// that stops matching loses its pod. RollingUpdate replaces old pods at
// most maxUnavailable nodes at a time; OnDelete only replaces pods that
// are gone.
func (r *pass) daemonSet(ds *appsv1.DaemonSet) {
	hash := templateHash(&ds.Spec.Template)
	owned := r.owned[ownerKey("DaemonSet", ds.Namespace, ds.Name)]
	byNode := map[string][]*corev1.Pod{}
	for _, p := range owned {
		byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
	}
	eligible, keep := r.daemonNodes(&ds.Spec.Template)
	for _, p := range owned { // in the input's order, never a map's
		if p.DeletionTimestamp == nil && !keep[p.Spec.NodeName] {
			r.delete(p)
		}
	}
	var old []*corev1.Pod // one per node, of an older template
	unavailable := 0
	for _, node := range eligible {
		keep, terminating := r.oneDaemonPod(byNode[node])
		switch {
		case keep == nil && !terminating:
			r.create(r.daemonPod(ds, node, hash))
			unavailable++
		case keep == nil:
			unavailable++
		case keep.Labels[api.LabelControllerRevisionHash] != hash:
			old = append(old, keep)
			if !Available(keep, ds.Spec.MinReadySeconds, r.now) {
				unavailable++
			}
		case !Available(keep, ds.Spec.MinReadySeconds, r.now):
			unavailable++
		}
	}
	if ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		r.replaceDaemonPods(old, daemonMaxUnavailable(ds, len(eligible))-unavailable, ds.Spec.MinReadySeconds)
	}
}

// oneDaemonPod keeps the oldest running pod of a node and deletes the
// others; it also says whether a pod of the node is terminating.
func (r *pass) oneDaemonPod(pods []*corev1.Pod) (keep *corev1.Pod, terminating bool) {
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil:
			terminating = true
		case finished(p): // evicted: replaced once it is gone
			r.delete(p)
			terminating = true
		case keep == nil:
			keep = p
		default:
			r.delete(p)
		}
	}
	return keep, terminating
}

// replaceDaemonPods deletes old pods, the unavailable ones first (they
// cost no availability), then available ones while the budget lasts.
func (r *pass) replaceDaemonPods(old []*corev1.Pod, budget int, minReady int32) {
	for _, p := range byDeletionRank(old) {
		if !Available(p, minReady, r.now) {
			r.delete(p)
		} else if budget > 0 {
			r.delete(p)
			budget--
		}
	}
}

func daemonMaxUnavailable(ds *appsv1.DaemonSet, nodes int) int {
	one := intstr.FromInt32(1)
	mu := &one
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		mu = ru.MaxUnavailable
	}
	n, _ := intstr.GetScaledValueFromIntOrPercent(mu, nodes, true)
	return max(n, 1)
}

// daemonPod is a DaemonSet's pod for one node, bound to it.
func (r *pass) daemonPod(ds *appsv1.DaemonSet, node, hash string) corev1.Pod {
	name := ds.Name + "-" + suffix(ds.Name, node, hash)
	p := r.templatePod(&ds.Spec.Template, ds.Namespace, name, "DaemonSet/"+ds.Name,
		map[string]string{api.LabelControllerRevisionHash: hash})
	p.Spec.NodeName = node
	return p
}
