package reconciler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Score weights, as kube-scheduler's default profile weighs its plugins.
const (
	weightResources    = 1 // NodeResourcesFit, least allocated
	weightSpread       = 2 // PodTopologySpread (and the default spreading)
	weightNodeAffinity = 2 // NodeAffinity, preferred terms
	weightPodAffinity  = 2 // InterPodAffinity, preferred terms
	weightTaints       = 3 // TaintToleration, PreferNoSchedule
)

// raw is one node's scores before normalisation.
type raw struct {
	resources             float64 // 0-100, higher is better
	spread, taints        int     // lower is better
	nodeAffinity, podPref int     // higher is better
}

// best scores the feasible nodes and returns the highest (ties by name).
// Each score is normalised to 0-100 over the feasible nodes, then
// weighted.
func (s *scheduler) best(p *corev1.Pod, f *filter, nodes []*nodeInfo) *nodeInfo {
	if len(nodes) == 1 {
		return nodes[0]
	}
	var preferred *nodeaffinity.PreferredSchedulingTerms
	if terms := preferredTerms(p); len(terms) > 0 {
		preferred, _ = nodeaffinity.NewPreferredSchedulingTerms(terms)
	}
	kind, name := owner(p)
	own := ownerKey(kind, p.Namespace, name)
	scores := make([]raw, len(nodes))
	var maxSpread, maxTaints, maxNA int
	minPA, maxPA := 0, 0
	for i, n := range nodes {
		r := &scores[i]
		r.resources = 50 * ((1 - share(n.cpu+f.cpu, n.capCPU)) + (1 - share(n.mem+f.mem, n.capMemory)))
		r.spread = n.owners[own]
		if f.terms != nil {
			r.spread += f.terms.softSpread(n)
			r.podPref = f.terms.preferredScore(n)
		}
		r.taints = preferNoSchedule(n.node.Taints, p.Spec.Tolerations)
		if preferred != nil {
			r.nodeAffinity = int(preferred.Score(n.kube))
		}
		maxSpread, maxTaints, maxNA = max(maxSpread, r.spread), max(maxTaints, r.taints), max(maxNA, r.nodeAffinity)
		if i == 0 {
			minPA, maxPA = r.podPref, r.podPref
		}
		minPA, maxPA = min(minPA, r.podPref), max(maxPA, r.podPref)
	}
	var best *nodeInfo
	var bestScore float64
	for i, n := range nodes {
		r := scores[i]
		score := weightResources*r.resources +
			weightSpread*lowerIsBetter(r.spread, maxSpread) +
			weightTaints*lowerIsBetter(r.taints, maxTaints) +
			weightNodeAffinity*higherIsBetter(r.nodeAffinity, 0, maxNA) +
			weightPodAffinity*higherIsBetter(r.podPref, minPA, maxPA)
		if best == nil || score > bestScore || (score == bestScore && n.node.Name < best.node.Name) {
			best, bestScore = n, score
		}
	}
	return best
}

func preferredTerms(p *corev1.Pod) []corev1.PreferredSchedulingTerm {
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		return a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

func lowerIsBetter(v, maxV int) float64 {
	if maxV == 0 {
		return 100
	}
	return 100 * float64(maxV-v) / float64(maxV)
}

func higherIsBetter(v, minV, maxV int) float64 {
	if maxV == minV {
		return 0
	}
	return 100 * float64(v-minV) / float64(maxV-minV)
}

// preferNoSchedule counts the PreferNoSchedule taints the pod does not
// tolerate.
func preferNoSchedule(taints []corev1.Taint, tolerations []corev1.Toleration) int {
	n := 0
	for i := range taints {
		if taints[i].Effect == corev1.TaintEffectPreferNoSchedule && !tolerated(&taints[i], tolerations) {
			n++
		}
	}
	return n
}
