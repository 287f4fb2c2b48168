package node

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// hostPorts are the DNATs of the hostPorts of the node's pods in their
// own networks (Debian's portmap plugin writes iptables rules only), in
// one nft table of the agent's, rewritten whenever a pod's change.
type hostPorts struct {
	mu    sync.Mutex
	rules map[string][]string // by pod UID: "tcp dport 18080 dnat to 10.244.0.5:8080"
}

// hostPortRules are the DNATs of a pod's hostPorts to its address.
func hostPortRules(pod *corev1.Pod, ip string) []string {
	var out []string
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			match := fmt.Sprintf("fib daddr type local %s dport %d", proto, p.HostPort)
			if p.HostIP != "" && p.HostIP != "0.0.0.0" {
				match = fmt.Sprintf("ip daddr %s %s dport %d", p.HostIP, proto, p.HostPort)
			}
			out = append(out, fmt.Sprintf("%s dnat to %s:%d", match, ip, p.ContainerPort))
		}
	}
	return out
}

// setHostPorts records the hostPort rules of a pod (none: it is gone) and
// rewrites the node's table when they changed.
func (a *Agent) setHostPorts(ctx context.Context, uid string, rules []string) {
	h := &a.hostPorts
	h.mu.Lock()
	defer h.mu.Unlock()
	if slices.Equal(h.rules[uid], rules) {
		return
	}
	if h.rules == nil {
		h.rules = map[string][]string{}
	}
	if len(rules) == 0 {
		delete(h.rules, uid)
	} else {
		h.rules[uid] = rules
	}
	var all []string
	for _, r := range h.rules {
		all = append(all, r...)
	}
	sort.Strings(all)
	table := strings.Replace(proxyTable(a.cfg.Name), "berth_", "berth_hostports_", 1)
	if err := applyRuleset(ctx, dnatRuleset(table, all)); err != nil {
		a.log.Error("hostPorts", "err", err)
	}
}

// dnatRuleset is the nft script of one of the node's tables of DNATs
// (hostPorts, the cluster DNS address): the rules apply to traffic that
// comes in and to the node's own, and what they send out again is
// masqueraded so that replies come back through the node. Only their own
// connections are (marked as the service proxy marks node ports): a
// pod's connection that another table sends to a pod keeps its address.
func dnatRuleset(table string, rules []string) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "\t\t%s\n", strings.Replace(r, " dnat to ", " meta mark set meta mark | "+masqueradeMark+" dnat to ", 1))
	}
	postrouting := fmt.Sprintf("\t\tct status dnat meta mark & %[1]s == %[1]s oifname != \"lo\" masquerade\n", masqueradeMark)
	return natTable(table, -105, "to_pods", postrouting, "\tchain to_pods {\n"+b.String()+"\t}\n")
}

// natTable is the nft script that replaces a table of the node's DNATs
// with one whose prerouting and output chains (at priority, postrouting
// at its opposite) jump to the chain named jump, with the postrouting
// rules and further chains and sets.
func natTable(table string, priority int, jump, postrouting, rest string) string {
	return fmt.Sprintf(`add table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain prerouting {
		type nat hook prerouting priority %[2]d; policy accept;
		jump %[3]s
	}
	chain output {
		type nat hook output priority %[2]d; policy accept;
		jump %[3]s
	}
	chain postrouting {
		type nat hook postrouting priority %[4]d; policy accept;
%[5]s	}
%[6]s}
`, table, priority, jump, -priority, postrouting, rest)
}
