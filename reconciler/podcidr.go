package reconciler

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/berth-dev/berth/api"
)

// PodNetwork is how the leader gives nodes the ranges their pods take
// addresses from, as Kubernetes' node IPAM controller does: each node
// one range of NodeMaskSize bits out of ClusterCIDR, the lowest free one,
// kept for as long as the node is registered.
type PodNetwork struct {
	ClusterCIDR  netip.Prefix
	NodeMaskSize int
}

// DefaultClusterCIDR and DefaultNodeMaskSize are Kubernetes' (kubeadm's
// and kind's) defaults: 256 nodes of up to 254 pods.
var DefaultClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")

// DefaultNodeMaskSize is the prefix length of a node's range.
const DefaultNodeMaskSize = 24

// Validate checks that the network can give nodes ranges: an IPv4 cluster
// CIDR, and node ranges inside it that hold a few pods at least.
func (n PodNetwork) Validate() error {
	c := n.ClusterCIDR
	switch {
	case !c.IsValid() || !c.Addr().Is4():
		return fmt.Errorf("--cluster-cidr %s: an IPv4 range is needed (IPv6 pod networks are not implemented)", c)
	case c.Masked() != c:
		return fmt.Errorf("--cluster-cidr %s: the address has bits outside the prefix (did you mean %s?)", c, c.Masked())
	case n.NodeMaskSize < c.Bits() || n.NodeMaskSize > 29:
		return fmt.Errorf("--node-cidr-mask-size %d: must lie between the cluster CIDR's /%d and /29", n.NodeMaskSize, c.Bits())
	}
	return nil
}

// Capacity is how many nodes the network has ranges for.
func (n PodNetwork) Capacity() int {
	return 1 << min(n.NodeMaskSize-n.ClusterCIDR.Bits(), 30)
}

// nodeRange is the i-th node range of the network.
func (n PodNetwork) nodeRange(i int) netip.Prefix {
	base := n.ClusterCIDR.Addr().As4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	v += uint32(i) << (32 - n.NodeMaskSize)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), n.NodeMaskSize)
}

// index is the position of a node range in the network, or -1 when it is
// not one of its ranges.
func (n PodNetwork) index(p netip.Prefix) int {
	if p.Bits() != n.NodeMaskSize || !n.ClusterCIDR.Contains(p.Addr()) {
		return -1
	}
	a, b := p.Addr().As4(), n.ClusterCIDR.Addr().As4()
	diff := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) -
		(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
	return int(diff >> (32 - n.NodeMaskSize))
}

// allocatePodCIDRs gives every node without a range the lowest free one,
// nodes in name order; nodes for which none is left get none (see
// PodCIDRShortage).
func allocatePodCIDRs(in Input) []api.PodCIDR {
	net := in.PodNetwork
	if net == nil {
		return nil
	}
	used := map[int]bool{}
	var names []string
	for _, n := range in.Nodes {
		if n.PodCIDR == "" {
			names = append(names, n.Name)
		} else if p, err := netip.ParsePrefix(n.PodCIDR); err == nil {
			used[net.index(p)] = true
		}
	}
	sort.Strings(names)
	var out []api.PodCIDR
	next := 0
	for _, name := range names {
		for next < net.Capacity() && used[next] {
			next++
		}
		if next == net.Capacity() {
			break
		}
		used[next] = true
		out = append(out, api.PodCIDR{Node: name, CIDR: net.nodeRange(next).String()})
	}
	return out
}

// PodCIDRShortage says why the named node has no pod CIDR while the
// cluster gives them: every range of the cluster CIDR is taken. It is ""
// when the node has one, when none are given, or when one is left (the
// next pass gives it).
func PodCIDRShortage(net *PodNetwork, nodes []api.Node, name string) string {
	if net == nil {
		return ""
	}
	taken := 0
	for _, n := range nodes {
		if n.Name == name && n.PodCIDR != "" {
			return ""
		}
		if p, err := netip.ParsePrefix(n.PodCIDR); err == nil && net.index(p) >= 0 {
			taken++
		}
	}
	if taken < net.Capacity() {
		return ""
	}
	return fmt.Sprintf("no pod CIDR left: the %d ranges of /%d in --cluster-cidr %s are all taken (a larger --cluster-cidr or --node-cidr-mask-size gives more)",
		net.Capacity(), net.NodeMaskSize, net.ClusterCIDR)
}
