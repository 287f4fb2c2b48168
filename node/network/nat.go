package network

import (
	"fmt"
	"net/netip"
	"os"
)

// EgressRuleset is the nft script of the node's table for its pods'
// traffic that leaves the cluster: it is masqueraded to the node's
// address (the bridge plugin's ipMasq would masquerade pod-to-pod
// traffic too). Traffic between pods keeps its addresses.
func EgressRuleset(table, bridge string, podCIDR, clusterCIDR netip.Prefix) string {
	return fmt.Sprintf(`add table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain postrouting {
		type nat hook postrouting priority 110; policy accept;
		ip saddr %[2]s ip daddr != %[3]s oifname != "%[4]s" masquerade
	}
}
`, table, podCIDR.Masked(), clusterCIDR.Masked(), bridge)
}

// FilterBridgedTraffic makes the pods' traffic between each other on the
// node's bridge pass the ip hooks (bridge-nf-call-iptables, as Kubernetes
// requires), where the node's NetworkPolicy table sees it.
func FilterBridgedTraffic() error {
	const path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("filtering bridged pod traffic (%s): %w", path, err)
	}
	return nil
}

// AllowLoopbackNodePorts lets a node port be reached at 127.0.0.1 when it
// leads to a pod's address (route_localnet, as kube-proxy sets it; the
// service proxy masquerades such traffic).
func AllowLoopbackNodePorts() error {
	const path = "/proc/sys/net/ipv4/conf/all/route_localnet"
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("letting node ports answer on 127.0.0.1 (%s): %w", path, err)
	}
	return nil
}
