package reconciler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// podTerms are a pod's rules about other pods, each resolved once per pod
// to the topology domains (node label values) they allow or forbid.
type podTerms struct {
	affinity []domains // the node's domain must hold a matching pod
	anti     []domains // the node's domain must not
	existing []domains // domains whose pods' anti-affinity keeps this pod out
	spread   []spread  // DoNotSchedule constraints
	soft     []spread  // ScheduleAnyway constraints (scores only)
	// preferred affinity (positive weights) and anti-affinity (negative).
	preferred []weighted
}

// domains is a set of values of a topology key.
type domains struct {
	key    string
	values map[string]bool
	// self is set when no pod matches yet but the pod matches its own
	// affinity term: the first pod of a group may go anywhere.
	self bool
}

type weighted struct {
	domains
	weight int
}

// spread is one topology spread constraint: matching pods per domain
// among the nodes the pod may use.
type spread struct {
	key     string
	maxSkew int
	counts  map[string]int
	min     int
	self    int
}

// podTermsOf resolves a pod's affinity, anti-affinity and spread rules,
// and the anti-affinity of placed pods against it; nil when there are
// none, which is the common case and costs nothing.
func (s *scheduler) podTermsOf(p *corev1.Pod) *podTerms {
	t := &podTerms{existing: s.existingAntiAffinity(p)}
	if a := p.Spec.Affinity; a != nil && a.PodAffinity != nil {
		for i := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			term := &a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[i]
			d := s.matchingDomains(term, p.Namespace)
			d.self = len(d.values) == 0 && s.termMatches(term, p.Namespace, p)
			t.affinity = append(t.affinity, d)
		}
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			t.preferred = append(t.preferred, weighted{s.matchingDomains(&w.PodAffinityTerm, p.Namespace), int(w.Weight)})
		}
	}
	if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		for i := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			t.anti = append(t.anti, s.matchingDomains(&a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[i], p.Namespace))
		}
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			t.preferred = append(t.preferred, weighted{s.matchingDomains(&w.PodAffinityTerm, p.Namespace), -int(w.Weight)})
		}
	}
	for i := range p.Spec.TopologySpreadConstraints {
		c := &p.Spec.TopologySpreadConstraints[i]
		sp := s.spreadOf(p, c)
		if c.WhenUnsatisfiable == corev1.ScheduleAnyway {
			t.soft = append(t.soft, sp)
		} else {
			t.spread = append(t.spread, sp)
		}
	}
	if len(t.affinity)+len(t.anti)+len(t.existing)+len(t.spread)+len(t.soft)+len(t.preferred) == 0 {
		return nil
	}
	return t
}

// termMatches reports whether pod q is one a term of a pod in namespace ns
// selects: in the term's namespaces (or ns) and matching its selector.
func (s *scheduler) termMatches(term *corev1.PodAffinityTerm, ns string, q *corev1.Pod) bool {
	inNS := q.Namespace == ns
	if len(term.Namespaces) > 0 {
		inNS = false
		for _, n := range term.Namespaces {
			inNS = inNS || n == q.Namespace
		}
	}
	return inNS && s.selects(term.LabelSelector, q.Labels)
}

// selects applies a label selector; nil selects nothing, as in
// Kubernetes. Each selector is converted once per pass.
func (s *scheduler) selects(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	compiled, ok := s.selectors[sel]
	if !ok {
		var err error
		if compiled, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			compiled = labels.Nothing()
		}
		s.selectors[sel] = compiled
	}
	return compiled.Matches(labels.Set(l))
}

// matchingDomains is the set of the term's topology values that hold a
// placed pod the term selects.
func (s *scheduler) matchingDomains(term *corev1.PodAffinityTerm, ns string) domains {
	d := domains{key: term.TopologyKey, values: map[string]bool{}}
	for _, q := range s.placed {
		if q.pod.DeletionTimestamp == nil && s.termMatches(term, ns, q.pod) {
			if v, ok := q.node.node.Labels[term.TopologyKey]; ok {
				d.values[v] = true
			}
		}
	}
	return d
}

// existingAntiAffinity returns the domains placed pods forbid to p with
// their required anti-affinity terms.
func (s *scheduler) existingAntiAffinity(p *corev1.Pod) []domains {
	var out []domains
	for _, q := range s.antiAffinity {
		terms := q.pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		for i := range terms {
			term := &terms[i]
			if !s.termMatches(term, q.pod.Namespace, p) {
				continue
			}
			if v, ok := q.node.node.Labels[term.TopologyKey]; ok {
				out = append(out, domains{key: term.TopologyKey, values: map[string]bool{v: true}})
			}
		}
	}
	return out
}

// spreadOf counts the pods a constraint selects per domain, over the
// nodes that pass the pod's node affinity and have the key.
func (s *scheduler) spreadOf(p *corev1.Pod, c *corev1.TopologySpreadConstraint) spread {
	sp := spread{key: c.TopologyKey, maxSkew: int(c.MaxSkew), counts: map[string]int{}}
	affinity := nodeaffinity.GetRequiredNodeAffinity(p)
	for _, n := range s.nodes {
		if v, ok := n.node.Labels[c.TopologyKey]; ok && n.ready {
			if match, _ := affinity.Match(n.kube); match {
				sp.counts[v] += 0
			}
		}
	}
	for _, q := range s.placed {
		if q.pod.Namespace != p.Namespace || q.pod.DeletionTimestamp != nil || !s.selects(c.LabelSelector, q.pod.Labels) {
			continue
		}
		if v, ok := q.node.node.Labels[c.TopologyKey]; ok {
			if _, eligible := sp.counts[v]; eligible {
				sp.counts[v]++
			}
		}
	}
	first := true
	for _, n := range sp.counts {
		if first || n < sp.min {
			sp.min, first = n, false
		}
	}
	if s.selects(c.LabelSelector, p.Labels) {
		sp.self = 1
	}
	return sp
}

// check returns why the node breaks one of the pod's rules, or "".
func (t *podTerms) check(n *nodeInfo) string {
	for _, d := range t.affinity {
		v, ok := n.node.Labels[d.key]
		if !ok || (!d.values[v] && !d.self) {
			return reasonPodAffinity
		}
	}
	for _, d := range t.anti {
		if v, ok := n.node.Labels[d.key]; ok && d.values[v] {
			return reasonAntiAffinity
		}
	}
	for _, d := range t.existing {
		if v, ok := n.node.Labels[d.key]; ok && d.values[v] {
			return reasonExistingAnti
		}
	}
	for _, sp := range t.spread {
		v, ok := n.node.Labels[sp.key]
		if !ok || sp.counts[v]+sp.self-sp.min > sp.maxSkew {
			return reasonSpread
		}
	}
	return ""
}

// preferredScore sums the weights of the preferred affinity terms the
// node's domains satisfy (anti-affinity weights count against).
func (t *podTerms) preferredScore(n *nodeInfo) int {
	score := 0
	for _, w := range t.preferred {
		if v, ok := n.node.Labels[w.key]; ok && w.values[v] {
			score += w.weight
		}
	}
	return score
}

// softSpread is how many selected pods the node's domains already hold,
// over the ScheduleAnyway constraints.
func (t *podTerms) softSpread(n *nodeInfo) int {
	c := 0
	for _, sp := range t.soft {
		if v, ok := n.node.Labels[sp.key]; ok {
			c += sp.counts[v]
		}
	}
	return c
}
