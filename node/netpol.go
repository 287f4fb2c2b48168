package node

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/berth-dev/berth/api"
)

// NetworkPolicies are enforced by one nft table per node, in the forward
// hook that pods' traffic crosses (bridged traffic between pods of the
// node too: the bridge hands it to the ip hooks). A pod of this node that
// a policy selects for ingress (egress) takes only the traffic some rule
// of such a policy allows; replies of allowed connections pass, and
// traffic from the node itself never crosses the hook, so probes and the
// agent's own connections stay allowed, as Kubernetes requires.

// policyTable is the node's nft table of NetworkPolicies.
func policyTable(node string) string {
	return strings.Replace(proxyTable(node), "berth_", "berth_policy_", 1)
}

// renderPolicies is the nft script that replaces the node's policy table
// with the rules of the policies for the pods of its pod CIDR.
func renderPolicies(table string, podCIDR netip.Prefix, policies []api.CompiledPolicy) string {
	var in, out, isoIn, isoOut []string
	var ingress, egress strings.Builder
	for _, p := range policies {
		local := localPods(p.Pods, podCIDR)
		if len(local) == 0 {
			continue
		}
		if p.Ingress {
			isoIn = append(isoIn, local...)
			for _, r := range p.From {
				writeRules(&ingress, "ip daddr "+addrSet(local), "saddr", "accept", r)
			}
		}
		if p.Egress {
			isoOut = append(isoOut, local...)
			for _, r := range p.To {
				writeRules(&egress, "ip saddr "+addrSet(local), "daddr", "return", r)
			}
		}
	}
	var forward strings.Builder
	forward.WriteString("\t\tct state established,related accept\n")
	if len(isoOut) > 0 {
		fmt.Fprintf(&forward, "\t\tip saddr %s jump egress\n", addrSet(isoOut))
		out = []string{"\tchain egress {\n", egress.String(), "\t\tdrop\n\t}\n"}
	}
	if len(isoIn) > 0 {
		fmt.Fprintf(&forward, "\t\tip daddr %s jump ingress\n", addrSet(isoIn))
		in = []string{"\tchain ingress {\n", ingress.String(), "\t\tdrop\n\t}\n"}
	}
	return fmt.Sprintf(`add table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain forward {
		type filter hook forward priority 0; policy accept;
%[2]s	}
%[3]s%[4]s}
`, table, forward.String(), strings.Join(out, ""), strings.Join(in, ""))
}

// localPods are the addresses of the node's pod CIDR among pods, sorted.
func localPods(pods []string, podCIDR netip.Prefix) []string {
	var out []string
	for _, p := range pods {
		if ip, err := netip.ParseAddr(p); err == nil && podCIDR.Contains(ip) {
			out = append(out, ip.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// addrSet is an nft anonymous set of addresses or ranges.
func addrSet(addrs []string) string {
	a := slices.Clone(addrs)
	slices.Sort(a)
	return "{ " + strings.Join(slices.Compact(a), ", ") + " }"
}

// writeRules writes the nft rules of one policy rule: pods matches the
// policy's pods, peer is the address field of the other end ("saddr" for
// ingress), verdict what an allowed packet gets. One rule per peer group
// and port: plain peers in one set, each peer with exceptions alone.
func writeRules(b *strings.Builder, pods, peer, verdict string, r api.PolicyRule) {
	var peerMatches []string
	switch {
	case r.AllPeers:
		peerMatches = []string{""}
	default:
		var plain []string
		for _, p := range r.Peers {
			if len(p.Except) == 0 {
				plain = append(plain, p.CIDR)
				continue
			}
			peerMatches = append(peerMatches, fmt.Sprintf(" ip %s %s ip %s != %s", peer, p.CIDR, peer, addrSet(p.Except)))
		}
		if len(plain) > 0 {
			peerMatches = append(peerMatches, fmt.Sprintf(" ip %s %s", peer, addrSet(plain)))
		}
	}
	portMatches := []string{""}
	if len(r.Ports) > 0 {
		portMatches = portMatches[:0]
		for _, p := range r.Ports {
			portMatches = append(portMatches, portMatch(p, peer))
		}
	}
	for _, pm := range peerMatches {
		for _, po := range portMatches {
			fmt.Fprintf(b, "\t\t%s%s%s %s\n", pods, pm, po, verdict)
		}
	}
}

// portMatch matches a policy port: its protocol, its port or range, and
// for a named port the pod it was resolved on (the destination: the
// policy's pod for ingress, the peer for egress).
func portMatch(p api.PolicyPort, peer string) string {
	m := " meta l4proto " + strings.ToLower(p.Protocol)
	if p.Pod != "" {
		m = " ip daddr " + p.Pod + m
	}
	switch {
	case p.Port == 0:
	case p.EndPort > p.Port:
		m += fmt.Sprintf(" th dport %d-%d", p.Port, p.EndPort)
	default:
		m += fmt.Sprintf(" th dport %d", p.Port)
	}
	return m
}

// applyPolicies replaces the node's policy table with the last service
// table's policies, once the node has its pod network.
func (a *Agent) applyPolicies(ctx context.Context) error {
	n, t := a.podNetwork(), a.table.Load()
	if n == nil || t == nil || !a.hasNFT.Load() {
		return nil
	}
	a.policyMu.Lock()
	defer a.policyMu.Unlock()
	return applyRuleset(ctx, renderPolicies(policyTable(a.cfg.Name), n.PodCIDR(), t.Policies))
}
