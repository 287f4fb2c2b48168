package node

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// The service proxy does what kube-proxy's nftables mode does: one nft
// table per node sends connections to a cluster IP, or to a node port on
// any of the node's addresses, to one of the Service's ready endpoints,
// chosen at random per connection; a Service without endpoints refuses
// connections at once instead of letting them time out.

// proxyTable is the nft table of a node ("berth_" and the node's name with
// anything but letters, digits and '_' made '_').
func proxyTable(node string) string {
	var b strings.Builder
	b.WriteString("berth_")
	for _, r := range node {
		if r < 128 && (r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// proxyRule is one service port: what it matches and where it sends.
type proxyRule struct {
	match   string   // "ip daddr 10.96.0.10 tcp dport 80" or "fib daddr type local tcp dport 30080"
	targets []string // "ip . port", sorted, unique
	// nodePort marks the connection for masquerade whatever its source
	// (the reply must come back through this node).
	nodePort bool
}

// masqueradeMark is the packet mark of connections to a node port (as
// kube-proxy's 0x4000).
const masqueradeMark = "0x4000"

// proxyRules lists the rules of a service table.
func proxyRules(t *api.ServiceTable) []proxyRule {
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
		for _, p := range s.Spec.Ports {
			proto := strings.ToLower(string(p.Protocol))
			targets := endpointTargets(eps[api.Key(s.Namespace, s.Name)], p)
			rules = append(rules, proxyRule{match: fmt.Sprintf("ip daddr %s %s dport %d", s.Spec.ClusterIP, proto, p.Port), targets: targets})
			if p.NodePort != 0 {
				rules = append(rules, proxyRule{fmt.Sprintf("fib daddr type local %s dport %d", proto, p.NodePort), targets, true})
			}
		}
	}
	return rules
}

// endpointTargets are the ready addresses of the endpoint port named as
// the service port, as "ip . port".
func endpointTargets(e *corev1.Endpoints, p corev1.ServicePort) []string {
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
				out = append(out, fmt.Sprintf("%s . %d", a.IP, ep.Port))
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
// masqueraded.
func renderRuleset(table string, t *api.ServiceTable, cluster netip.Prefix) string {
	var nat, reject strings.Builder
	for _, r := range proxyRules(t) {
		mark := ""
		if r.nodePort && cluster.IsValid() {
			mark = "meta mark set meta mark | " + masqueradeMark + " "
		}
		switch len(r.targets) {
		case 0:
			how := "reject"
			if strings.Contains(r.match, "tcp dport") {
				how = "reject with tcp reset"
			}
			fmt.Fprintf(&reject, "\t\t%s %s\n", r.match, how)
		case 1:
			fmt.Fprintf(&nat, "\t\t%s %sdnat to %s\n", r.match, mark, strings.Replace(r.targets[0], " . ", ":", 1))
		default:
			elems := make([]string, len(r.targets))
			for i, tg := range r.targets {
				elems[i] = fmt.Sprintf("%d : %s", i, tg)
			}
			fmt.Fprintf(&nat, "\t\t%s %sdnat ip addr . port to numgen random mod %d map { %s }\n", r.match, mark, len(r.targets), strings.Join(elems, ", "))
		}
	}
	return fmt.Sprintf(`add table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump services
	}
	chain output {
		type nat hook output priority -100; policy accept;
		jump services
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
%[4]s	}
	chain services {
%[2]s	}
	chain filter_input {
		type filter hook input priority 0; policy accept;
		jump no_endpoints
	}
	chain filter_output {
		type filter hook output priority 0; policy accept;
		jump no_endpoints
	}
	chain no_endpoints {
%[3]s	}
}
`, table, nat.String(), reject.String(), masqueradeRules(t, cluster))
}

// masqueradeRules are the postrouting rules of the service table.
func masqueradeRules(t *api.ServiceTable, cluster netip.Prefix) string {
	if !cluster.IsValid() {
		return "\t\tct status dnat oifname != \"lo\" masquerade\n"
	}
	rules := fmt.Sprintf("\t\tct status dnat meta mark & %[1]s == %[1]s oifname != \"lo\" masquerade\n", masqueradeMark) +
		fmt.Sprintf("\t\tct status dnat ip saddr != %s oifname != \"lo\" masquerade\n", cluster.Masked())
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

// applyRuleset runs nft with the script on its standard input.
func applyRuleset(ctx context.Context, script string) error {
	cmd := exec.CommandContext(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft -f -: %v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// deleteRuleset removes the node's table, if it is there.
func deleteRuleset(ctx context.Context, table string) error {
	return applyRuleset(ctx, fmt.Sprintf("add table ip %[1]s\ndelete table ip %[1]s\n", table))
}

// serviceLoop keeps the agent's copy of the service table (for the pods'
// service links) and, with the service proxy on, the node's nft table in
// step with the master's: it long-polls for a different table and applies
// each one.
func (a *Agent) serviceLoop(ctx context.Context) {
	proxy := a.cfg.ServiceProxy
	if _, err := exec.LookPath("nft"); proxy && err != nil {
		a.log.Error("service proxy off: nft is not installed (apt-get install nftables); cluster IPs and node ports will not answer on this node")
		proxy = false
	}
	a.proxying.Store(proxy)
	table := proxyTable(a.cfg.Name)
	hash, failures := "", 0
	for ctx.Err() == nil {
		t, err := a.client.ServiceTable(ctx, hash, 30*time.Second)
		if err == nil && t.Hash != hash {
			a.setServices(t.Services)
			a.updateDNS(t)
			a.setRoutes(t.Nodes)
			if proxy {
				err = a.applyProxy(ctx)
			}
			if err == nil {
				a.log.Info("service table updated", "services", len(t.Services), "proxy table", table, "proxy", proxy)
				hash = t.Hash
			}
		}
		if err != nil && ctx.Err() == nil {
			failures++
			a.log.Warn("service table", "err", err)
			sleep(ctx, min(time.Duration(failures)*time.Second, 10*time.Second))
			continue
		}
		failures = 0
	}
}

// applyProxy replaces the node's service proxy table with the rules of
// the last service table, for the pod network the node has then.
func (a *Agent) applyProxy(ctx context.Context) error {
	a.proxyMu.Lock()
	defer a.proxyMu.Unlock()
	t := a.table.Load()
	if t == nil || !a.proxying.Load() {
		return nil
	}
	var cluster netip.Prefix
	if c := a.cluster.Load(); c != nil {
		cluster = *c
	}
	return applyRuleset(ctx, renderRuleset(proxyTable(a.cfg.Name), t, cluster))
}

// setServices keeps the Services for the pods' service links.
func (a *Agent) setServices(s []corev1.Service) { a.services.Store(&s) }

func (a *Agent) currentServices() []corev1.Service {
	if s := a.services.Load(); s != nil {
		return *s
	}
	return nil
}
