package node

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/node/dns"
)

// hostResolvConf is the node's resolver configuration: where names
// outside the cluster are sent, and the search domains pods inherit.
const hostResolvConf = "/etc/resolv.conf"

// startDNS serves the cluster DNS on the node's bridge address (the
// first of its pod CIDR; the listener binds before the bridge exists) and
// sends the cluster DNS address there with an nft table of its own. It
// ends with ctx; Run waits for it.
func (a *Agent) startDNS(ctx context.Context, podCIDR netip.Prefix) error {
	upstreams, err := dns.Upstreams(hostResolvConf)
	if err != nil {
		a.log.Warn("cluster DNS answers only the cluster's names", "err", err)
	}
	s := dns.New(dns.DefaultDomain, upstreams)
	if t := a.table.Load(); t != nil {
		s.Update(t.Services, t.Endpoints)
	}
	gateway := podCIDR.Masked().Addr().Next()
	_, _, done, err := s.Serve(ctx, netip.AddrPortFrom(gateway, 53).String())
	if err != nil {
		return err
	}
	a.spawn(func() { <-done }) // Run returns once the server has stopped
	a.dns.Store(s)
	if err := applyRuleset(ctx, dnsRuleset(dnsTable(a.cfg.Name), gateway)); err != nil {
		return fmt.Errorf("cluster DNS: %w", err)
	}
	a.log.Info("cluster DNS serving", "address", api.ClusterDNS, "on", gateway)
	return nil
}

// dnsTable is the node's nft table of the cluster DNS address.
func dnsTable(node string) string {
	return strings.Replace(proxyTable(node), "berth_", "berth_dns_", 1)
}

// dnsRuleset sends the cluster DNS address's port 53 to the node's DNS
// server on its bridge address, from pods and from the node itself.
func dnsRuleset(table string, server netip.Addr) string {
	return fmt.Sprintf(`add table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain prerouting {
		type nat hook prerouting priority -110; policy accept;
		ip daddr %[2]s udp dport 53 dnat to %[3]s:53
		ip daddr %[2]s tcp dport 53 dnat to %[3]s:53
	}
	chain output {
		type nat hook output priority -110; policy accept;
		ip daddr %[2]s udp dport 53 dnat to %[3]s:53
		ip daddr %[2]s tcp dport 53 dnat to %[3]s:53
	}
}
`, table, api.ClusterDNS, server)
}

// updateDNS gives the cluster DNS the Services and Endpoints of a new
// service table.
func (a *Agent) updateDNS(t *api.ServiceTable) {
	a.table.Store(t)
	if s := a.dns.Load(); s != nil {
		s.Update(t.Services, t.Endpoints)
	}
}
