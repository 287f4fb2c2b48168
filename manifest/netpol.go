package manifest

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// networkPolicyFields are the implemented fields of a NetworkPolicy.
var networkPolicyFields = concat(metadataFields, prefixed("spec.podSelector.", labelSelectorFields), []string{"spec.policyTypes[]"},
	policyRuleFields("spec.ingress[].", "from[]."), policyRuleFields("spec.egress[].", "to[]."))

// policyRuleFields are the fields of ingress or egress rules: their peers
// and ports.
func policyRuleFields(prefix, peers string) []string {
	return concat(prefixed(prefix+peers+"podSelector.", labelSelectorFields), prefixed(prefix+peers+"namespaceSelector.", labelSelectorFields),
		[]string{prefix + peers + "ipBlock.cidr", prefix + peers + "ipBlock.except[]",
			prefix + "ports[].protocol", prefix + "ports[].port", prefix + "ports[].endPort"})
}

// defaultNetworkPolicy fills in policyTypes as the apiserver does:
// Ingress, and Egress when the policy has egress rules.
func defaultNetworkPolicy(p *networkingv1.NetworkPolicy) {
	if len(p.Spec.PolicyTypes) == 0 {
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(p.Spec.Egress) > 0 {
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range p.Spec.Ingress {
		defaultPolicyPorts(p.Spec.Ingress[i].Ports)
	}
	for i := range p.Spec.Egress {
		defaultPolicyPorts(p.Spec.Egress[i].Ports)
	}
}

// defaultPolicyPorts makes a port's protocol TCP when it names none.
func defaultPolicyPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
}

// validateNetworkPolicy checks a NetworkPolicy as the apiserver does.
func validateNetworkPolicy(p *networkingv1.NetworkPolicy) []*fieldError {
	fes := validateSelector(&p.Spec.PodSelector, "spec.podSelector")
	for i, t := range p.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			fes = append(fes, &fieldError{fmt.Sprintf("spec.policyTypes[%d]", i), fmt.Sprintf("unsupported value %q: supported values: \"Egress\", \"Ingress\"", t)})
		}
	}
	for i, r := range p.Spec.Ingress {
		f := fmt.Sprintf("spec.ingress[%d]", i)
		fes = append(fes, validatePolicyPeers(r.From, f+".from")...)
		fes = append(fes, validatePolicyPorts(r.Ports, f+".ports")...)
	}
	for i, r := range p.Spec.Egress {
		f := fmt.Sprintf("spec.egress[%d]", i)
		fes = append(fes, validatePolicyPeers(r.To, f+".to")...)
		fes = append(fes, validatePolicyPorts(r.Ports, f+".ports")...)
	}
	return fes
}

// validatePolicyPeers checks the peers of a rule: pods (of namespaces),
// or an IPv4 block whose exceptions lie inside it.
func validatePolicyPeers(peers []networkingv1.NetworkPolicyPeer, field string) []*fieldError {
	var fes []*fieldError
	for i, peer := range peers {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case peer.IPBlock != nil && (peer.PodSelector != nil || peer.NamespaceSelector != nil):
			fes = append(fes, &fieldError{f, "may not have an ipBlock beside a podSelector or namespaceSelector"})
		case peer.IPBlock != nil:
			fes = append(fes, validateIPBlock(peer.IPBlock, f+".ipBlock")...)
		case peer.PodSelector == nil && peer.NamespaceSelector == nil:
			fes = append(fes, &fieldError{f, "must have a podSelector, a namespaceSelector or an ipBlock"})
		}
		fes = append(fes, validateSelector(peer.PodSelector, f+".podSelector")...)
		fes = append(fes, validateSelector(peer.NamespaceSelector, f+".namespaceSelector")...)
	}
	return fes
}

// validateIPBlock checks an ipBlock: an IPv4 CIDR, and exceptions that are
// CIDRs strictly inside it.
func validateIPBlock(b *networkingv1.IPBlock, f string) []*fieldError {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cidr.Addr().Is4() {
		return []*fieldError{{f + ".cidr", fmt.Sprintf("%q: must be an IPv4 CIDR such as 10.0.0.0/8", b.CIDR)}}
	}
	var fes []*fieldError
	for i, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		switch {
		case err != nil || !ex.Addr().Is4():
			fes = append(fes, &fieldError{fmt.Sprintf("%s.except[%d]", f, i), fmt.Sprintf("%q: must be an IPv4 CIDR", e)})
		case ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()):
			fes = append(fes, &fieldError{fmt.Sprintf("%s.except[%d]", f, i), fmt.Sprintf("%s: must be strictly within %s", e, b.CIDR)})
		}
	}
	return fes
}

// validatePolicyPorts checks the ports of a rule: a protocol, a number or
// a port name, and an endPort (after a numeric port) for a range.
func validatePolicyPorts(ports []networkingv1.NetworkPolicyPort, field string) []*fieldError {
	var fes []*fieldError
	for i, p := range ports {
		f := fmt.Sprintf("%s[%d]", field, i)
		if p.Protocol != nil {
			fes = append(fes, validateProtocol(*p.Protocol, f)...)
		}
		switch {
		case p.Port == nil:
			if p.EndPort != nil {
				fes = append(fes, &fieldError{f + ".endPort", "may not be set without a port"})
			}
		case p.Port.Type == intstr.String:
			for _, msg := range validation.IsValidPortName(p.Port.StrVal) {
				fes = append(fes, &fieldError{f + ".port", fmt.Sprintf("%q: %s", p.Port.StrVal, msg)})
			}
			if p.EndPort != nil {
				fes = append(fes, &fieldError{f + ".endPort", "may not be set with a named port"})
			}
		default:
			for _, msg := range validation.IsValidPortNum(p.Port.IntValue()) {
				fes = append(fes, &fieldError{f + ".port", fmt.Sprintf("%d: %s", p.Port.IntValue(), msg)})
			}
			if p.EndPort != nil && (*p.EndPort < p.Port.IntVal || *p.EndPort > 65535) {
				fes = append(fes, &fieldError{f + ".endPort", fmt.Sprintf("%d: must be at least port %d and at most 65535", *p.EndPort, p.Port.IntVal)})
			}
		}
	}
	return fes
}
