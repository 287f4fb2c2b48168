package node

import (
	"net/netip"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/node/network"
)

// nodeIP is the address other nodes reach this node's pods through: the
// host of --listen, or, where that is a wildcard or loopback, the first
// address of the device of the default route.
func (a *Agent) nodeIP() netip.Addr {
	if a.listener != nil {
		if ap, err := netip.ParseAddrPort(a.listener.Addr().String()); err == nil {
			if ip := ap.Addr().Unmap(); !ip.IsUnspecified() && !ip.IsLoopback() {
				return ip
			}
		}
	}
	ip, err := network.DefaultRouteAddr()
	if err != nil {
		a.log.Warn("the node's address", "err", err)
	}
	return ip
}

// registeredAddress is the address the agent registers: where it
// listens, with the node's address in place of a wildcard.
func (a *Agent) registeredAddress() string {
	addr := a.listener.Addr().String()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsUnspecified() {
		return addr
	}
	if ip := a.nodeIP(); ip.IsValid() {
		return netip.AddrPortFrom(ip, ap.Port()).String()
	}
	return addr
}

// startRoutes sets up the node's side of the routes between nodes (the
// VXLAN device in vxlan mode) and routes the other nodes' pods as the
// last service table lists them; it returns the MTU the pods need.
func (a *Agent) startRoutes(podCIDR, clusterCIDR netip.Prefix) int {
	mode := a.cfg.NetworkMode
	if mode == "" {
		mode = network.HostGW
	}
	r, err := network.NewRoutes(network.RoutesConfig{Mode: mode, Node: a.cfg.Name, NodeIP: a.nodeIP(), PodCIDR: podCIDR, ClusterCIDR: clusterCIDR})
	if err != nil {
		a.log.Error("routes to other nodes' pods", "mode", mode, "err", err)
		return 0
	}
	a.nodeRoutes.Store(r)
	if t := a.table.Load(); t != nil {
		a.setRoutes(t.Nodes)
	}
	return r.PodMTU()
}

// setRoutes routes the other nodes' pods (once the node has a pod CIDR).
func (a *Agent) setRoutes(nodes []api.NodeRoute) {
	r := a.nodeRoutes.Load()
	if r == nil {
		return
	}
	peers := make([]network.Peer, 0, len(nodes))
	for _, n := range nodes {
		ip, err1 := netip.ParseAddr(n.Address)
		cidr, err2 := netip.ParsePrefix(n.PodCIDR)
		if err1 == nil && err2 == nil {
			peers = append(peers, network.Peer{Node: n.Name, Address: ip.Unmap(), PodCIDR: cidr})
		}
	}
	if err := r.Set(peers); err != nil {
		a.log.Error("routes to other nodes' pods", "err", err)
	}
}
