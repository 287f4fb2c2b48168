package api

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The Ingress classes berth serves: the built-in class, and any
// IngressClass whose spec.controller is IngressController.
const (
	IngressClassBuiltin = "berth"
	IngressController   = "berth.dev/ingress"
)

// HasNodePorts reports whether a Service takes node ports: a NodePort
// Service, or a LoadBalancer one (which Kubernetes gives node ports too).
func HasNodePorts(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
}

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

// ClusterDomain is the default cluster domain (the kubelet's
// --cluster-domain).
const ClusterDomain = "cluster.local"

// ServiceNetwork is where Services live: the range cluster IPs come from,
// the address pods reach the cluster DNS at (never given to a Service),
// and the cluster's DNS domain. Masters take them from --service-cidr,
// --cluster-dns and --cluster-domain; agents from their assignments.
type ServiceNetwork struct {
	CIDR   netip.Prefix
	DNS    netip.Addr
	Domain string
}

// DefaultServiceNetwork is Kubernetes' defaults: 10.96.0.0/12, its tenth
// address, cluster.local.
func DefaultServiceNetwork() ServiceNetwork {
	return ServiceNetwork{CIDR: ServiceCIDR, DNS: ClusterDNS, Domain: ClusterDomain}
}

// OrDefault fills what is unset with the defaults.
func (n ServiceNetwork) OrDefault() ServiceNetwork {
	d := DefaultServiceNetwork()
	if !n.CIDR.IsValid() {
		n.CIDR = d.CIDR
	}
	if !n.DNS.IsValid() {
		n.DNS = d.DNS
	}
	if n.Domain == "" {
		n.Domain = d.Domain
	}
	return n
}

// Validate checks the network as masters take it from their flags.
func (n ServiceNetwork) Validate() error {
	c := n.CIDR
	switch {
	case !c.IsValid() || !c.Addr().Is4():
		return fmt.Errorf("--service-cidr %s: an IPv4 range is needed (IPv6 Services are not implemented)", c)
	case c.Masked() != c:
		return fmt.Errorf("--service-cidr %s: the address has bits outside the prefix (did you mean %s?)", c, c.Masked())
	case c.Bits() > 28:
		return fmt.Errorf("--service-cidr %s: too small; /28 or larger", c)
	case !c.Contains(n.DNS) || n.DNS == c.Addr():
		return fmt.Errorf("--cluster-dns %s: must be an address of --service-cidr %s", n.DNS, c)
	}
	if errs := validation.IsDNS1123Subdomain(n.Domain); len(errs) > 0 {
		return fmt.Errorf("--cluster-domain %q: %s", n.Domain, strings.Join(errs, "; "))
	}
	return nil
}

// TenthAddress is the cluster DNS address kubeadm gives a service range:
// its tenth address.
func TenthAddress(cidr netip.Prefix) netip.Addr {
	a := cidr.Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	return a
}

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
	// Policies are the NetworkPolicies, resolved against the pods.
	Policies []CompiledPolicy `json:"policies,omitempty"`
	// Ingresses and IngressClasses are the live revision's; IngressSecrets
	// the kubernetes.io/tls Secrets the Ingresses name, opened (agents
	// before v0.5.0 ignore them).
	Ingresses      []networkingv1.Ingress      `json:"ingresses,omitempty"`
	IngressClasses []networkingv1.IngressClass `json:"ingressClasses,omitempty"`
	IngressSecrets []corev1.Secret             `json:"ingressSecrets,omitempty"`
	// Gateways are the Gateway listeners berth serves, with their
	// attached routes, and HTTPRoutes those routes; their TLS Secrets are
	// among IngressSecrets.
	Gateways   []GatewayListener     `json:"gateways,omitempty"`
	HTTPRoutes []gatewayv1.HTTPRoute `json:"httpRoutes,omitempty"`
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
