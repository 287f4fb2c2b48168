package node

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	_, err := exec.LookPath("nft")
	a.hasNFT.Store(err == nil)
	if proxy && err != nil {
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
			a.updateIngress(ctx, t)
			a.updateDNS(t)
			a.setRoutes(t.Nodes)
			if proxy {
				err = a.applyProxy(ctx)
			}
			if perr := a.applyPolicies(ctx); perr != nil {
				a.log.Error("NetworkPolicies", "err", perr)
			}
			if len(t.Policies) > 0 && !a.hasNFT.Load() {
				a.log.Error("NetworkPolicies are not enforced on this node: nft is not installed (apt-get install nftables)")
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
	return applyRuleset(ctx, renderRuleset(proxyTable(a.cfg.Name), a.cfg.Name, t, cluster))
}

// setServices keeps the Services for the pods' service links.
func (a *Agent) setServices(s []corev1.Service) { a.services.Store(&s) }

func (a *Agent) currentServices() []corev1.Service {
	if s := a.services.Load(); s != nil {
		return *s
	}
	return nil
}
