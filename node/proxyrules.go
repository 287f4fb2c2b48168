package node

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// proxyRule is one service port: what it matches and where it sends.
type proxyRule struct {
	match   string   // "ip daddr 10.96.0.10 tcp dport 80" or "fib daddr type local tcp dport 30080"
	proto   string   // "tcp" or "udp"
	targets []string // "ip . port", sorted, unique
	// mark is the packet mark the rule sets: masqueradeMark for a node
	// port (the reply must come back through this node), keepSourceMark
	// for a node port of externalTrafficPolicy Local (its endpoints are
	// on this node, and see the client's address).
	mark string
	// affinity is sessionAffinity ClientIP's timeout in seconds (0: none):
	// a client keeps its endpoint for that long after its last connection.
	affinity int32
}

// The packet marks of the service proxy (kube-proxy's masquerade mark is
// 0x4000 too).
const (
	masqueradeMark = "0x4000"
	keepSourceMark = "0x8000"
)

// proxyRules lists the rules of a service table on a node: a Service
// port's cluster IP reaches all its ready endpoints, or with
// internalTrafficPolicy Local those on this node only; its node port the
// same with externalTrafficPolicy, and so does a LoadBalancer Service's
// port on every address of the node (k3s's ServiceLB).
func proxyRules(t *api.ServiceTable, node string) []proxyRule {
	eps := map[string]*corev1.Endpoints{}
	for i := range t.Endpoints {
		e := &t.Endpoints[i]
		eps[api.Key(e.Namespace, e.Name)] = e
	}
	var rules []proxyRule
	for i := range t.Services {
		s := &t.Services[i]
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		affinity := affinityTimeout(s)
		internalLocal := s.Spec.InternalTrafficPolicy != nil && *s.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
		externalLocal := s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
		for _, p := range s.Spec.Ports {
			proto := strings.ToLower(string(p.Protocol))
			e := eps[api.Key(s.Namespace, s.Name)]
			rules = append(rules, proxyRule{match: fmt.Sprintf("ip daddr %s %s dport %d", s.Spec.ClusterIP, proto, p.Port), proto: proto,
				targets: endpointTargets(e, p, localTo(node, internalLocal)), affinity: affinity})
			external := []int32{p.NodePort}
			if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
				external = append(external, p.Port) // ServiceLB: every node's address answers on the port
			}
			for _, port := range external {
				if port == 0 {
					continue
				}
				r := proxyRule{match: fmt.Sprintf("fib daddr type local %s dport %d", proto, port), proto: proto,
					targets: endpointTargets(e, p, localTo(node, externalLocal)), mark: masqueradeMark, affinity: affinity}
				if externalLocal {
					r.mark = keepSourceMark
				}
				rules = append(rules, r)
			}
		}
	}
	return rules
}

// affinityTimeout is a Service's ClientIP affinity timeout in seconds
// (the apiserver's default, 10800, when unset), or 0 without affinity.
func affinityTimeout(s *corev1.Service) int32 {
	if s.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
		return 0
	}
	if c := s.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		return *c.ClientIP.TimeoutSeconds
	}
	return corev1.DefaultClientIPServiceAffinitySeconds
}

// localTo is the node endpoints must be on ("" for any).
func localTo(node string, local bool) string {
	if local {
		return node
	}
	return ""
}

// endpointTargets are the ready addresses (on node, unless it is "") of
// the endpoint port named as the service port, as "ip . port".
func endpointTargets(e *corev1.Endpoints, p corev1.ServicePort, node string) []string {
	if e == nil {
		return nil
	}
	var out []string
	for _, sub := range e.Subsets {
		for _, ep := range sub.Ports {
			if ep.Name != p.Name || ep.Protocol != p.Protocol {
				continue
			}
			for _, a := range sub.Addresses {
				if node == "" || a.NodeName != nil && *a.NodeName == node {
					out = append(out, fmt.Sprintf("%s . %d", a.IP, ep.Port))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// renderRuleset is the nft script that replaces the node's table with the
// rules of the service table, in one transaction. Without a pod network
// (cluster invalid) every connection sent to an endpoint is masqueraded.
// With one, as kube-proxy with --cluster-cidr: a pod's connection to a
// cluster IP keeps the pod's address, and only connections from outside
// the cluster CIDR, to node ports, and from a pod to itself (hairpin) are
// masqueraded; a node port of externalTrafficPolicy Local keeps the
// client's address in any case.
func renderRuleset(table, node string, t *api.ServiceTable, cluster netip.Prefix) string {
	var r ruleset
	for i, rule := range proxyRules(t, node) {
		r.add(i, rule, cluster.IsValid())
	}
	rest := r.sets.String() + "\tchain services {\n" + r.services.String() + "\t}\n" + r.chains.String() + `	chain filter_input {
		type filter hook input priority 0; policy accept;
		jump no_endpoints
	}
	chain filter_output {
		type filter hook output priority 0; policy accept;
		jump no_endpoints
	}
	chain no_endpoints {
` + r.reject.String() + "\t}\n"
	return natTable(table, -100, "services", masqueradeRules(t, cluster), rest)
}

// ruleset collects the parts of the proxy's table.
type ruleset struct {
	services, reject, sets, chains strings.Builder
}

// add renders rule i: a reject without targets, a DNAT to one target or
// to one at random, and with ClientIP affinity a chain of its own that
// sends a client back to the endpoint it had (a set of recent clients per
// endpoint, with the affinity's timeout).
func (r *ruleset) add(i int, rule proxyRule, marks bool) {
	mark := ""
	if rule.mark != "" && marks {
		mark = "meta mark set meta mark | " + rule.mark + " "
	}
	dnat := func(target string) string { return "dnat to " + strings.Replace(target, " . ", ":", 1) }
	switch n := len(rule.targets); {
	case n == 0:
		how := "reject"
		if strings.Contains(rule.match, "tcp dport") {
			how = "reject with tcp reset"
		}
		fmt.Fprintf(&r.reject, "\t\t%s %s\n", rule.match, how)
	case n == 1:
		fmt.Fprintf(&r.services, "\t\t%s %s%s\n", rule.match, mark, dnat(rule.targets[0]))
	case rule.affinity == 0:
		elems := make([]string, n)
		for j, tg := range rule.targets {
			elems[j] = fmt.Sprintf("%d : %s", j, tg)
		}
		fmt.Fprintf(&r.services, "\t\t%s %sdnat ip addr . port to numgen random mod %d map { %s }\n", rule.match, mark, n, strings.Join(elems, ", "))
	default:
		chain := fmt.Sprintf("svc_%d", i)
		fmt.Fprintf(&r.services, "\t\t%s %sjump %s\n", rule.match, mark, chain)
		// In chains of their own the DNATs name the protocol again.
		dnatIn := func(target string) string { return "meta l4proto " + rule.proto + " " + dnat(target) }
		var sticky, pick strings.Builder
		jumps := make([]string, n)
		for j, tg := range rule.targets {
			set, ep := fmt.Sprintf("aff_%d_%d", i, j), fmt.Sprintf("ep_%d_%d", i, j)
			fmt.Fprintf(&r.sets, "\tset %s {\n\t\ttype ipv4_addr; flags dynamic,timeout; timeout %ds;\n\t}\n", set, rule.affinity)
			fmt.Fprintf(&sticky, "\t\tip saddr @%s %s\n", set, dnatIn(tg))
			fmt.Fprintf(&pick, "\tchain %s {\n\t\tupdate @%s { ip saddr } %s\n\t}\n", ep, set, dnatIn(tg))
			jumps[j] = fmt.Sprintf("%d : jump %s", j, ep)
		}
		fmt.Fprintf(&r.chains, "\tchain %s {\n%s\t\tnumgen random mod %d vmap { %s }\n\t}\n%s", chain, sticky.String(), n, strings.Join(jumps, ", "), pick.String())
	}
}

// masqueradeRules are the postrouting rules of the service table.
func masqueradeRules(t *api.ServiceTable, cluster netip.Prefix) string {
	keep := fmt.Sprintf("meta mark & %s == 0", keepSourceMark)
	if !cluster.IsValid() {
		return "\t\tct status dnat " + keep + " oifname != \"lo\" masquerade\n"
	}
	rules := fmt.Sprintf("\t\tct status dnat meta mark & %[1]s == %[1]s oifname != \"lo\" masquerade\n", masqueradeMark) +
		fmt.Sprintf("\t\tct status dnat ip saddr != %s %s oifname != \"lo\" masquerade\n", cluster.Masked(), keep)
	if hairpin := endpointAddresses(t); len(hairpin) > 0 {
		pairs := make([]string, len(hairpin))
		for i, ip := range hairpin {
			pairs[i] = ip + " . " + ip
		}
		rules += fmt.Sprintf("\t\tct status dnat ip saddr . ip daddr { %s } masquerade\n", strings.Join(pairs, ", "))
	}
	return rules
}

// endpointAddresses are the IPv4 addresses of every endpoint, sorted.
func endpointAddresses(t *api.ServiceTable) []string {
	var out []string
	for _, e := range t.Endpoints {
		for _, sub := range e.Subsets {
			for _, a := range sub.Addresses {
				if ip, err := netip.ParseAddr(a.IP); err == nil && ip.Is4() {
					out = append(out, ip.String())
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
