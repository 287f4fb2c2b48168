package api

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The address ranges of Services, as in a default Kubernetes cluster.
var (
	// ServiceCIDR is the range cluster IPs come from (the apiserver's
	// default --service-cluster-ip-range).
	ServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
	// ClusterDNS is the address pods reach the cluster DNS at: the tenth
	// of the service range, as kubeadm's kube-dns Service has it. No
	// Service is given it.
	ClusterDNS = netip.MustParseAddr("10.96.0.10")
)

// The range of node ports (the apiserver's default --service-node-port-range).
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// ServiceTable is what a node's network needs: every Service with its
// cluster IP and node ports, the endpoints of each, and the other nodes'
// pod CIDRs to route. Hash names the content, so an agent can wait for a
// different table from any master.
type ServiceTable struct {
	Hash      string             `json:"hash"`
	Services  []corev1.Service   `json:"services"`
	Endpoints []corev1.Endpoints `json:"endpoints"`
	// Nodes are the nodes that have a pod CIDR (agents before v0.2.0
	// ignore them).
	Nodes []NodeRoute `json:"nodes,omitempty"`
}

// NodeRoute is where a node's pods are: its address and its pod CIDR.
type NodeRoute struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PodCIDR string `json:"podCIDR"`
}

// NodeRoutes lists the nodes that have a pod CIDR and an address, by
// name, with the host of each node's address.
func NodeRoutes(nodes []Node) []NodeRoute {
	var out []NodeRoute
	for _, n := range nodes {
		host, _, err := net.SplitHostPort(n.Address)
		if err != nil {
			host = n.Address
		}
		if n.PodCIDR == "" || host == "" {
			continue
		}
		out = append(out, NodeRoute{Name: n.Name, Address: host, PodCIDR: n.PodCIDR})
	}
	slices.SortFunc(out, func(a, b NodeRoute) int { return strings.Compare(a.Name, b.Name) })
	return out
}
