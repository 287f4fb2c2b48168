package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
)

// The VXLAN of the pod network: one device per node, VNI 1 on UDP port
// 8472 (flannel's), without learning. Each node's end (its VTEP) has the
// first address of the node's pod CIDR and a MAC address made of it, so
// that every node knows every other's from the pod CIDRs alone: per peer,
// a neighbour entry (VTEP address to MAC), a forwarding entry (MAC to the
// peer's node address) and a route of its pod CIDR through its VTEP.
const (
	vxlanID       = 1
	vxlanPort     = 8472
	vxlanOverhead = 50 // outer IPv4, UDP and VXLAN headers and the inner Ethernet header
)

// VXLANName is the node's VXLAN device: "berthvx-" and the node's name, or
// a hash of it where that would pass the kernel's 15 characters.
func VXLANName(node string) string {
	if len("berthvx-"+node) <= 15 {
		return "berthvx-" + node
	}
	return "berthvx-" + BridgeName(node)[len("berth-"):][:7]
}

// vtepIP is the address of a node's VXLAN end: the first of its pod CIDR.
func vtepIP(podCIDR netip.Prefix) netip.Addr { return podCIDR.Masked().Addr() }

// vtepMAC is the MAC address of a node's VXLAN end: locally administered,
// 0a:58 and the four bytes of its VTEP address (as OVN-Kubernetes makes
// its pods' MACs).
func vtepMAC(podCIDR netip.Prefix) net.HardwareAddr {
	ip := vtepIP(podCIDR).As4()
	return net.HardwareAddr{0x0a, 0x58, ip[0], ip[1], ip[2], ip[3]}
}

// ensureVXLAN creates the node's VXLAN device on the uplink (or takes the
// one a previous agent made, if it matches), with its VTEP address, and
// sets it up.
func ensureVXLAN(cfg RoutesConfig, up netlink.Link, mtu int) (*netlink.Vxlan, error) {
	name := VXLANName(cfg.Node)
	want := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu, HardwareAddr: vtepMAC(cfg.PodCIDR)},
		VxlanId:   vxlanID, VtepDevIndex: up.Attrs().Index, SrcAddr: cfg.NodeIP.AsSlice(), Port: vxlanPort, Learning: false,
	}
	if old, err := netlink.LinkByName(name); err == nil {
		if v, ok := old.(*netlink.Vxlan); ok && v.VxlanId == vxlanID && v.SrcAddr.Equal(want.SrcAddr) && v.Port == vxlanPort &&
			v.VtepDevIndex == want.VtepDevIndex && v.HardwareAddr.String() == want.HardwareAddr.String() && v.MTU == mtu {
			want = v
		} else if err := netlink.LinkDel(old); err != nil {
			return nil, fmt.Errorf("vxlan: replacing %s: %w", name, err)
		}
	}
	if want.Index == 0 {
		if err := netlink.LinkAdd(want); err != nil {
			return nil, fmt.Errorf("vxlan: creating %s on %s: %w", name, up.Attrs().Name, err)
		}
	}
	addr := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(vtepIP(cfg.PodCIDR), 32))}
	if err := netlink.AddrReplace(want, addr); err != nil {
		return nil, fmt.Errorf("vxlan: address %s on %s: %w", addr.IPNet, name, err)
	}
	if err := netlink.LinkSetUp(want); err != nil {
		return nil, fmt.Errorf("vxlan: setting %s up: %w", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("vxlan: %w", err)
	}
	return link.(*netlink.Vxlan), nil
}

// addVTEP gives the device a peer's neighbour and forwarding entries.
func (r *Routes) addVTEP(p Peer) error {
	mac, vtep := vtepMAC(p.PodCIDR), vtepIP(p.PodCIDR)
	neigh := &netlink.Neigh{LinkIndex: r.vxlan.Index, State: netlink.NUD_PERMANENT, Family: netlink.FAMILY_V4,
		IP: vtep.AsSlice(), HardwareAddr: mac}
	if err := netlink.NeighSet(neigh); err != nil {
		return fmt.Errorf("vxlan: neighbour %s of node %s: %w", vtep, p.Node, err)
	}
	fdb := &netlink.Neigh{LinkIndex: r.vxlan.Index, State: netlink.NUD_PERMANENT, Family: syscall.AF_BRIDGE,
		Flags: netlink.NTF_SELF, IP: p.Address.AsSlice(), HardwareAddr: mac}
	if err := netlink.NeighSet(fdb); err != nil {
		return fmt.Errorf("vxlan: forwarding entry of node %s (%s at %s): %w", p.Node, mac, p.Address, err)
	}
	return nil
}

// removeVTEPs deletes the device's entries of nodes that are not peers.
func (r *Routes) removeVTEPs(want []Peer) error {
	keepMAC := map[string]bool{}
	for _, p := range want {
		keepMAC[vtepMAC(p.PodCIDR).String()] = true
	}
	var errs []error
	for _, family := range []int{netlink.FAMILY_V4, syscall.AF_BRIDGE} {
		entries, err := netlink.NeighList(r.vxlan.Index, family)
		if err != nil {
			errs = append(errs, fmt.Errorf("vxlan: listing entries: %w", err))
			continue
		}
		for _, e := range entries {
			if e.State&netlink.NUD_PERMANENT == 0 || keepMAC[e.HardwareAddr.String()] {
				continue
			}
			if err := netlink.NeighDel(&e); err != nil {
				errs = append(errs, fmt.Errorf("vxlan: removing the entry of %s: %w", e.HardwareAddr, err))
			}
		}
	}
	return errors.Join(errs...)
}
