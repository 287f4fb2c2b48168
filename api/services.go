package api

import (
	"net/netip"

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

// ServiceTable is what a node's service proxy needs: every Service with
// its cluster IP and node ports, and the endpoints of each. Hash names the
// content, so an agent can wait for a different table from any master.
type ServiceTable struct {
	Hash      string             `json:"hash"`
	Services  []corev1.Service   `json:"services"`
	Endpoints []corev1.Endpoints `json:"endpoints"`
}
