package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
)

// Mode is how pod traffic crosses from one node to another.
type Mode string

const (
	// HostGW routes each other node's pod CIDR to that node's address: the
	// nodes share one L2 segment (flannel's host-gw).
	HostGW Mode = "host-gw"
	// VXLAN carries pod traffic between nodes in a VXLAN device, with a
	// static forwarding and neighbour entry per node, for nodes in
	// different subnets.
	VXLAN Mode = "vxlan"
)

// ParseMode reads the name of a mode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case HostGW, VXLAN:
		return m, nil
	}
	return "", fmt.Errorf("pod network mode %q: want %s or %s", s, HostGW, VXLAN)
}

// routeProtocol marks the routes berth adds (rtnetlink's protocol field),
// so that the next agent finds the ones it no longer wants.
const routeProtocol netlink.RouteProtocol = 191

// Peer is another node of the cluster: the address its pods are reached
// through and the range of their addresses.
type Peer struct {
	Node    string
	Address netip.Addr
	PodCIDR netip.Prefix
}

// RoutesConfig is how one node reaches the others' pods.
type RoutesConfig struct {
	Mode Mode
	// Node is this node's name; NodeIP its address (VXLAN's local end
	// and, with the device that holds it, the uplink).
	Node   string
	NodeIP netip.Addr
	// PodCIDR is this node's range; ClusterCIDR every node's, outside
	// which berth never removes a route.
	PodCIDR, ClusterCIDR netip.Prefix
}

// Routes keeps the routes to the other nodes' pods in the node's network
// namespace (the caller's).
type Routes struct {
	mu    sync.Mutex // serializes Set
	cfg   RoutesConfig
	vxlan *netlink.Vxlan // nil in host-gw mode
	mtu   int
}

// NewRoutes sets up the node's side of the pod network between nodes:
// nothing for host-gw; the VXLAN device for vxlan, its MTU the uplink's
// less the 50 bytes of VXLAN's headers.
func NewRoutes(cfg RoutesConfig) (*Routes, error) {
	r := &Routes{cfg: cfg}
	if cfg.Mode != VXLAN {
		return r, nil
	}
	up, err := uplink(cfg.NodeIP)
	if err != nil {
		return nil, err
	}
	r.mtu = up.Attrs().MTU - vxlanOverhead
	if r.vxlan, err = ensureVXLAN(cfg, up, r.mtu); err != nil {
		return nil, err
	}
	return r, nil
}

// PodMTU is the MTU the pods' interfaces need (0: the plugin's default).
func (r *Routes) PodMTU() int { return r.mtu }

// uplink is the device that holds the node's address.
func uplink(ip netip.Addr) (netlink.Link, error) {
	if !ip.IsValid() || ip.IsLoopback() {
		return nil, fmt.Errorf("vxlan: node address %v: want the address of a device that reaches the other nodes", ip)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("listing the node's addresses: %w", err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			return netlink.LinkByIndex(a.LinkIndex)
		}
	}
	return nil, fmt.Errorf("vxlan: no device of this node has the node address %s", ip)
}

// Set makes the routes to the peers' pods the only ones berth keeps: a
// route per peer (over VXLAN, with its forwarding and neighbour entries),
// none for this node or a peer that holds one of this node's addresses
// (agents sharing one machine), and none left for a node that is gone.
func (r *Routes) Set(peers []Peer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	local, err := localAddrs()
	if err != nil {
		return err
	}
	var want []Peer
	for _, p := range peers {
		if p.Node == r.cfg.Node || local[p.Address] || !p.PodCIDR.IsValid() || !p.Address.IsValid() || p.PodCIDR.Overlaps(r.cfg.PodCIDR) {
			continue
		}
		want = append(want, p)
	}
	var errs []error
	for _, p := range want {
		if err := r.add(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, r.removeOthers(want))...)
}

// add routes one peer's pods.
func (r *Routes) add(p Peer) error {
	route := &netlink.Route{Dst: ipNet(p.PodCIDR), Gw: p.Address.AsSlice(), Protocol: routeProtocol}
	if r.vxlan != nil {
		if err := r.addVTEP(p); err != nil {
			return err
		}
		route.Gw, route.LinkIndex, route.Flags = vtepIP(p.PodCIDR).AsSlice(), r.vxlan.Index, int(netlink.FLAG_ONLINK)
	}
	if err := netlink.RouteReplace(route); err != nil {
		if r.vxlan == nil && errors.Is(err, errNetUnreachable) {
			return fmt.Errorf("route to the pods of node %s (%s) via %s: that address is not on this node's segment; nodes in different subnets need --pod-network vxlan", p.Node, p.PodCIDR, p.Address)
		}
		return fmt.Errorf("route to the pods of node %s (%s) via %s: %w", p.Node, p.PodCIDR, p.Address, err)
	}
	return nil
}

// removeOthers deletes berth's routes (inside the cluster CIDR) to any
// pod range but the peers', and over VXLAN their entries.
func (r *Routes) removeOthers(want []Peer) error {
	keep := map[netip.Prefix]bool{}
	for _, p := range want {
		keep[p.PodCIDR.Masked()] = true
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("listing the routes to other nodes' pods: %w", err)
	}
	var errs []error
	for _, rt := range routes {
		dst, ok := prefixOf(rt.Dst)
		if !ok || keep[dst] || (r.cfg.ClusterCIDR.IsValid() && !r.cfg.ClusterCIDR.Overlaps(dst)) {
			continue
		}
		if err := netlink.RouteDel(&rt); err != nil {
			errs = append(errs, fmt.Errorf("removing the route to %s: %w", dst, err))
		}
	}
	if r.vxlan != nil {
		errs = append(errs, r.removeVTEPs(want))
	}
	return errors.Join(errs...)
}

// errNetUnreachable is the kernel's answer to a gateway off the segment.
const errNetUnreachable = syscall.ENETUNREACH

// localAddrs are the addresses of the node's network namespace.
func localAddrs() (map[netip.Addr]bool, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("listing the node's addresses: %w", err)
	}
	out := map[netip.Addr]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			out[ip.Unmap()] = true
		}
	}
	return out, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	p = p.Masked()
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones).Masked(), ok
}

// DefaultRouteAddr is the first address of the device of the default
// route: the node's address when it listens on all of them.
func DefaultRouteAddr() (netip.Addr, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing the routes: %w", err)
	}
	for _, rt := range routes {
		if rt.Dst != nil && !rt.Dst.IP.IsUnspecified() {
			continue
		}
		link, err := netlink.LinkByIndex(rt.LinkIndex)
		if err != nil {
			continue
		}
		addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap().IsGlobalUnicast() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, errors.New("no default route with an address")
}
