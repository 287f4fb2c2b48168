package reconciler

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-dev/berth/api"
)

// CompileNetworkPolicies resolves the NetworkPolicies of the desired
// objects against the pods that have their own address (pods in the
// node's network are neither selected nor peers): each policy's pods, and
// its rules' peers and named ports as addresses and numbers. Namespaces
// carry their labels from Git and kubernetes.io/metadata.name, as in
// Kubernetes.
func CompileNetworkPolicies(set *api.ObjectSet, pods []corev1.Pod) []api.CompiledPolicy {
	if set == nil || len(set.NetworkPolicies) == 0 {
		return nil
	}
	c := policyCompiler{nsLabels: namespaceLabels(set, pods)}
	for i := range pods {
		p := &pods[i]
		if p.Status.PodIP != "" && !p.Spec.HostNetwork && p.DeletionTimestamp == nil && !finished(p) {
			c.pods = append(c.pods, p)
		}
	}
	out := make([]api.CompiledPolicy, 0, len(set.NetworkPolicies))
	for i := range set.NetworkPolicies {
		out = append(out, c.compile(&set.NetworkPolicies[i]))
	}
	return out
}

// policyCompiler holds the pods with addresses and the namespaces'
// labels.
type policyCompiler struct {
	pods     []*corev1.Pod
	nsLabels map[string]labels.Set
}

// namespaceLabels are the labels of every namespace of the objects and
// pods.
func namespaceLabels(set *api.ObjectSet, pods []corev1.Pod) map[string]labels.Set {
	out := map[string]labels.Set{}
	add := func(name string, own map[string]string) {
		l := labels.Set{corev1.LabelMetadataName: name}
		for k, v := range own {
			l[k] = v
		}
		if out[name] == nil || len(own) > 0 {
			out[name] = l
		}
	}
	for _, p := range pods {
		add(p.Namespace, nil)
	}
	for _, n := range set.Namespaces {
		add(n.Name, n.Labels)
	}
	return out
}

func (c *policyCompiler) compile(np *networkingv1.NetworkPolicy) api.CompiledPolicy {
	out := api.CompiledPolicy{Namespace: np.Namespace, Name: np.Name}
	selected := c.selectPods(np.Namespace, &np.Spec.PodSelector, nil)
	for _, p := range selected {
		out.Pods = append(out.Pods, p.Status.PodIP)
	}
	for _, t := range np.Spec.PolicyTypes {
		out.Ingress = out.Ingress || t == networkingv1.PolicyTypeIngress
		out.Egress = out.Egress || t == networkingv1.PolicyTypeEgress
	}
	for _, r := range np.Spec.Ingress {
		out.From = append(out.From, c.rule(np.Namespace, r.From, r.Ports, selected))
	}
	for _, r := range np.Spec.Egress {
		out.To = append(out.To, c.rule(np.Namespace, r.To, r.Ports, c.pods))
	}
	return out
}

// rule resolves one rule: its peers, and its ports, named ones on the
// pods the traffic goes to (the selected pods for ingress, any pod for
// egress).
func (c *policyCompiler) rule(ns string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, targets []*corev1.Pod) api.PolicyRule {
	r := api.PolicyRule{AllPeers: len(peers) == 0}
	for _, peer := range peers {
		if b := peer.IPBlock; b != nil {
			r.Peers = append(r.Peers, api.PolicyPeer{CIDR: b.CIDR, Except: b.Except})
			continue
		}
		for _, p := range c.selectPods(ns, peer.PodSelector, peer.NamespaceSelector) {
			r.Peers = append(r.Peers, api.PolicyPeer{CIDR: p.Status.PodIP + "/32"})
		}
	}
	for _, p := range ports {
		r.Ports = append(r.Ports, policyPorts(p, targets)...)
	}
	if len(ports) > 0 && len(r.Ports) == 0 {
		r.Peers, r.AllPeers = nil, false // named ports that no pod has: the rule allows nothing
	}
	return r
}

// selectPods returns the pods a peer (or a policy's podSelector, nsSel nil)
// selects: pods of the policy's namespace, or of the namespaces nsSel
// selects, that podSel selects (any pod when nil).
func (c *policyCompiler) selectPods(ns string, podSel, nsSel *metav1.LabelSelector) []*corev1.Pod {
	podMatch, err := selectorOrAll(podSel)
	if err != nil {
		return nil
	}
	nsMatch := labels.Selector(nil)
	if nsSel != nil {
		if nsMatch, err = metav1.LabelSelectorAsSelector(nsSel); err != nil {
			return nil
		}
	}
	var out []*corev1.Pod
	for _, p := range c.pods {
		inNS := p.Namespace == ns
		if nsMatch != nil {
			inNS = nsMatch.Matches(c.nsLabels[p.Namespace])
		}
		if inNS && podMatch.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

func selectorOrAll(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

// policyPorts resolves a rule's port: a number or range as it is, a name
// to the number each target pod gives it.
func policyPorts(p networkingv1.NetworkPolicyPort, targets []*corev1.Pod) []api.PolicyPort {
	proto := corev1.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	switch {
	case p.Port == nil:
		return []api.PolicyPort{{Protocol: string(proto)}}
	case p.Port.StrVal == "":
		out := api.PolicyPort{Protocol: string(proto), Port: p.Port.IntVal}
		if p.EndPort != nil {
			out.EndPort = *p.EndPort
		}
		return []api.PolicyPort{out}
	}
	var out []api.PolicyPort
	for _, pod := range targets {
		for _, ctr := range pod.Spec.Containers {
			i := slices.IndexFunc(ctr.Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == p.Port.StrVal && cmp.Or(cp.Protocol, corev1.ProtocolTCP) == proto
			})
			if i >= 0 {
				out = append(out, api.PolicyPort{Protocol: string(proto), Port: ctr.Ports[i].ContainerPort, Pod: pod.Status.PodIP})
			}
		}
	}
	return out
}
