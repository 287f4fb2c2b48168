package network

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/pkg/netns"
	"github.com/vishvananda/netlink"
)

// segment puts the node namespace on a segment with a second namespace
// (a veth pair): the node has 10.250.7.1/24 on up0, the other end
// 10.250.7.2/24 on up1.
func segment(t *testing.T) *netns.NetNS {
	t.Helper()
	n, other := nodeNamespace(t), nodeNamespace(t)
	otherFile, err := os.Open(other.GetPath())
	if err != nil {
		t.Fatal(err)
	}
	defer otherFile.Close()
	in(t, n, func() error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "up0"}, PeerName: "up1"}); err != nil {
			return err
		}
		up1, err := netlink.LinkByName("up1")
		if err == nil {
			err = netlink.LinkSetNsFd(up1, int(otherFile.Fd()))
		}
		if err == nil {
			err = upWith("up0", "10.250.7.1/24")
		}
		return err
	})
	in(t, other, func() error { return upWith("up1", "10.250.7.2/24") })
	return n
}

func upWith(dev, cidr string) error {
	link, err := netlink.LinkByName(dev)
	if err != nil {
		return err
	}
	addr, _ := netlink.ParseAddr(cidr)
	if err := netlink.AddrAdd(link, addr); err != nil {
		return err
	}
	return netlink.LinkSetUp(link)
}

// berthRoutes lists the routes berth added, as "dst via gw dev".
func berthRoutes(t *testing.T) []string {
	t.Helper()
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range routes {
		link, _ := netlink.LinkByIndex(r.LinkIndex)
		out = append(out, r.Dst.String()+" via "+r.Gw.String()+" dev "+link.Attrs().Name)
	}
	return out
}

var (
	self   = Peer{Node: "t1", Address: netip.MustParseAddr("10.250.7.1"), PodCIDR: netip.MustParsePrefix("10.245.1.0/24")}
	n2     = Peer{Node: "n2", Address: netip.MustParseAddr("10.250.7.2"), PodCIDR: netip.MustParsePrefix("10.245.2.0/24")}
	shared = Peer{Node: "n3", Address: netip.MustParseAddr("10.250.7.1"), PodCIDR: netip.MustParsePrefix("10.245.3.0/24")}
	far    = Peer{Node: "n4", Address: netip.MustParseAddr("10.250.9.4"), PodCIDR: netip.MustParsePrefix("10.245.4.0/24")}
)

func routesConfig(mode Mode) RoutesConfig {
	return RoutesConfig{Mode: mode, Node: "t1", NodeIP: self.Address, PodCIDR: self.PodCIDR, ClusterCIDR: netip.MustParsePrefix("10.245.0.0/16")}
}

// TestHostGatewayRoutes: a node routes another node's pod CIDR to that
// node's address, none for itself or a node that shares its address; a
// node off the segment is an error that points to vxlan; and a node that
// leaves loses its route.
func TestHostGatewayRoutes(t *testing.T) {
	node := segment(t)
	in(t, node, func() error {
		r, err := NewRoutes(routesConfig(HostGW))
		if err != nil {
			return err
		}
		if err := r.Set([]Peer{self, n2, shared}); err != nil {
			return err
		}
		if got := berthRoutes(t); len(got) != 1 || got[0] != "10.245.2.0/24 via 10.250.7.2 dev up0" {
			t.Errorf("routes %q; want only 10.245.2.0/24 via 10.250.7.2 dev up0", got)
		}
		if err := r.Set([]Peer{n2, far}); err == nil || !strings.Contains(err.Error(), "node n4") || !strings.Contains(err.Error(), "vxlan") {
			t.Errorf("a node off the segment: error %v; want one that names n4 and vxlan", err)
		}
		if err := r.Set([]Peer{self}); err != nil {
			return err
		}
		if got := berthRoutes(t); len(got) != 0 {
			t.Errorf("routes %q after the other nodes left; want none", got)
		}
		return nil
	})
}

// TestVXLANRoutes: in vxlan mode the node has a VXLAN device on its
// uplink with the uplink's MTU less 50, and per peer a route through the
// peer's VTEP, a neighbour entry and a forwarding entry to the peer's
// address, all gone when the peer leaves.
func TestVXLANRoutes(t *testing.T) {
	node := segment(t)
	in(t, node, func() error {
		r, err := NewRoutes(routesConfig(VXLAN))
		if err != nil {
			return err
		}
		if r.PodMTU() != 1450 {
			t.Errorf("pod MTU %d; want 1450 (the uplink's 1500 less 50)", r.PodMTU())
		}
		if err := r.Set([]Peer{self, n2, far}); err != nil {
			return err
		}
		dev := VXLANName("t1")
		want := []string{"10.245.2.0/24 via 10.245.2.0 dev " + dev, "10.245.4.0/24 via 10.245.4.0 dev " + dev}
		if got := berthRoutes(t); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("routes %q; want %q", got, want)
		}
		link, _ := netlink.LinkByName(dev)
		if fdb := entries(t, link, syscall.AF_BRIDGE); fdb["0a:58:0a:f5:02:00"] != "10.250.7.2" || fdb["0a:58:0a:f5:04:00"] != "10.250.9.4" {
			t.Errorf("forwarding entries %v; want n2's and n4's VTEP MACs to their node addresses", fdb)
		}
		if neigh := entries(t, link, netlink.FAMILY_V4); neigh["0a:58:0a:f5:02:00"] != "10.245.2.0" {
			t.Errorf("neighbour entries %v; want n2's VTEP", neigh)
		}
		if err := r.Set(nil); err != nil {
			return err
		}
		if got, fdb := berthRoutes(t), entries(t, link, syscall.AF_BRIDGE); len(got)+len(fdb) != 0 {
			t.Errorf("routes %q and forwarding entries %v after the peers left; want none", got, fdb)
		}
		return nil
	})
}

// entries maps the MACs of a device's permanent entries to their address.
func entries(t *testing.T, link netlink.Link, family int) map[string]string {
	t.Helper()
	list, err := netlink.NeighList(link.Attrs().Index, family)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range list {
		if e.State&netlink.NUD_PERMANENT != 0 {
			out[e.HardwareAddr.String()] = net.IP(e.IP).String()
		}
	}
	return out
}
