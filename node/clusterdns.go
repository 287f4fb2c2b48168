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
	svc := a.serviceNetwork()
	s := dns.New(svc.Domain, upstreams)
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
	if err := applyRuleset(ctx, dnatRuleset(dnsTable(a.cfg.Name), dnsRules(svc.DNS, gateway))); err != nil {
		return fmt.Errorf("cluster DNS: %w", err)
	}
	a.log.Info("cluster DNS serving", "address", svc.DNS, "domain", svc.Domain, "on", gateway)
	return nil
}

// dnsTable is the node's nft table of the cluster DNS address.
func dnsTable(node string) string {
	return strings.Replace(proxyTable(node), "berth_", "berth_dns_", 1)
}

// dnsRules send the cluster DNS address's port 53 to the node's DNS
// server on its bridge address, from pods and from the node itself.
func dnsRules(clusterDNS, server netip.Addr) []string {
	return []string{
		fmt.Sprintf("ip daddr %s udp dport 53 dnat to %s:53", clusterDNS, server),
		fmt.Sprintf("ip daddr %s tcp dport 53 dnat to %s:53", clusterDNS, server),
	}
}

// serviceNetwork is the cluster DNS address and domain the masters gave
// (the defaults until they do).
func (a *Agent) serviceNetwork() api.ServiceNetwork {
	if n := a.serviceNet.Load(); n != nil {
		return *n
	}
	return api.DefaultServiceNetwork()
}

// clusterDNS is the cluster's DNS for the pods' resolv.conf, or nil while
// the node serves none.
func (a *Agent) clusterDNS() *api.ServiceNetwork {
	if a.dns.Load() == nil {
		return nil
	}
	n := a.serviceNetwork()
	return &n
}

// serviceNetworkOf is the cluster DNS address and domain of assignments
// (the defaults for what a master before v0.2.0 leaves out).
func serviceNetworkOf(as *api.Assignments) api.ServiceNetwork {
	n := api.ServiceNetwork{Domain: as.ClusterDomain}
	n.DNS, _ = netip.ParseAddr(as.ClusterDNS)
	return n.OrDefault()
}

// updateDNS gives the cluster DNS the Services and Endpoints of a new
// service table.
func (a *Agent) updateDNS(t *api.ServiceTable) {
	a.table.Store(t)
	if s := a.dns.Load(); s != nil {
		s.Update(t.Services, t.Endpoints)
	}
}
