package manifest

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

// service renders a Service named web with extra spec lines.
func service(spec string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n" + spec
}

// TestServiceDefaults compares the defaults with the values the
// Kubernetes API reference documents: type ClusterIP, sessionAffinity
// None, protocol TCP, targetPort the same as port.
func TestServiceDefaults(t *testing.T) {
	s := decodeOne(t, service("  ports:\n  - port: 80\n")).Services[0]
	p := s.Spec.Ports[0]
	if s.Namespace != "default" || s.Spec.Type != corev1.ServiceTypeClusterIP || s.Spec.SessionAffinity != corev1.ServiceAffinityNone ||
		p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(80) || s.Spec.ClusterIP != "" {
		t.Errorf("defaults: %+v", s.Spec)
	}
	named := decodeOne(t, service("  type: NodePort\n  ports:\n  - {name: http, port: 80, targetPort: http, nodePort: 30080}\n  - {name: dns, port: 53, protocol: UDP}\n")).Services[0]
	if named.Spec.Ports[0].TargetPort != intstr.FromString("http") || named.Spec.Ports[1].TargetPort != intstr.FromInt32(53) {
		t.Errorf("named target port: %+v", named.Spec.Ports)
	}
	ep := decodeOne(t, "apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\nsubsets:\n- addresses: [{ip: 192.168.1.5}]\n  ports: [{port: 5432}]\n").Endpoints[0]
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoints default protocol: %+v", ep.Subsets[0].Ports)
	}
	sticky := decodeOne(t, service("  type: NodePort\n  sessionAffinity: ClientIP\n  ports:\n  - port: 80\n")).Services[0]
	if c := sticky.Spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || *c.ClientIP.TimeoutSeconds != 10800 ||
		*sticky.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster || sticky.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Errorf("ClientIP affinity and traffic policies: defaults %+v", sticky.Spec)
	}
	if s := decodeOne(t, service("  type: ExternalName\n  externalName: db.example.com\n")).Services[0]; s.Spec.ExternalName != "db.example.com" {
		t.Errorf("external name: %+v", s.Spec)
	}
	if s := decodeOne(t, service("  clusterIP: None\n")).Services[0]; s.Spec.ClusterIP != "None" {
		t.Errorf("headless: %q", s.Spec.ClusterIP)
	}
}

func TestServiceValidation(t *testing.T) {
	port := "  ports:\n  - port: 80\n"
	cases := []struct{ name, data, want string }{
		{"name is a DNS-1035 label", strings.Replace(service(port), "name: web", "name: 1web", 1),
			`w.yaml:4: Service/default/1web: metadata.name: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character`},
		{"ports required", service(""), "w.yaml:5: Service/default/web: spec.ports: required (only a headless service, clusterIP None, may have none)"},
		{"port range", service("  ports:\n  - port: 70000\n"), "spec.ports[0].port: must be between 1 and 65535, inclusive"},
		{"names with several ports", service("  ports:\n  - port: 80\n  - port: 443\n"), "spec.ports[0].name: required when there is more than one port"},
		{"duplicate port names", service("  ports:\n  - {name: a, port: 80}\n  - {name: a, port: 443}\n"), `spec.ports[1].name: "a": duplicate port name`},
		{"duplicate ports", service("  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80}\n"), "spec.ports[1]: port 80/TCP is listed twice"},
		{"target port name", service("  ports:\n  - {port: 80, targetPort: not_a_name}\n"), "spec.ports[0].targetPort: not_a_name: must contain only alpha-numeric characters"},
		{"sctp", service("  ports:\n  - {port: 80, protocol: SCTP}\n"), "spec.ports[0].protocol: SCTP: not supported by berth (TCP and UDP are)"},
		{"unknown type", service("  type: Balanced\n" + port), `spec.type: unsupported value "Balanced": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`},
		{"external name required", service("  type: ExternalName\n" + port), "spec.externalName: required for an ExternalName service"},
		{"external name syntax", service("  type: ExternalName\n  externalName: not_a_name\n"), `spec.externalName: "not_a_name": a lowercase RFC 1123 subdomain`},
		{"external name without a cluster IP", service("  type: ExternalName\n  externalName: db.example.com\n  clusterIP: 10.96.0.30\n"), "spec.clusterIP: must be empty for an ExternalName service"},
		{"external name of another type", service("  externalName: db.example.com\n" + port), "spec.externalName: may only be set for an ExternalName service"},
		{"unknown type", service("  type: Magic\n" + port), `spec.type: unsupported value "Magic"`},
		{"session affinity", service("  sessionAffinity: Sticky\n" + port), `spec.sessionAffinity: unsupported value "Sticky"`},
		{"affinity timeout", service("  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 90000}}\n" + port),
			"spec.sessionAffinityConfig.clientIP.timeoutSeconds: 90000: must be greater than 0 and at most 86400"},
		{"affinity config without affinity", service("  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n" + port), "spec.sessionAffinityConfig: must be empty when sessionAffinity is None"},
		{"internal traffic policy", service("  internalTrafficPolicy: Nearby\n" + port), `spec.internalTrafficPolicy: unsupported value "Nearby"`},
		{"external traffic policy of a ClusterIP service", service("  externalTrafficPolicy: Local\n" + port), "spec.externalTrafficPolicy: may only be set for a NodePort or LoadBalancer service"},
		{"node port without NodePort", service("  ports:\n  - {port: 80, nodePort: 30080}\n"), "spec.ports[0].nodePort: may only be set for a NodePort or LoadBalancer service"},
		{"node port range", service("  type: NodePort\n  ports:\n  - {port: 80, nodePort: 8080}\n"), "spec.ports[0].nodePort: 8080: not in the node port range 30000-32767"},
		{"cluster IP range", service("  clusterIP: 192.168.0.1\n" + port), "spec.clusterIP: 192.168.0.1: not in the service range 10.96.0.0/12"},
		{"cluster IP syntax", service("  clusterIP: nope\n" + port), `spec.clusterIP: "nope": must be "None", empty, or an IPv4 address`},
		{"headless NodePort", service("  type: NodePort\n  clusterIP: None\n" + port), `spec.clusterIP: may not be "None" for a NodePort service`},
		{"dual stack", service("  clusterIPs: [10.96.0.20, fd00::20]\n" + port), "spec.clusterIPs: must hold one address"},
		{"unsupported field", service("  loadBalancerIP: 10.0.0.1\n" + port), "spec.loadBalancerIP: not supported by berth"},
		{"selector labels", strings.Replace(service(port), "{app: web}", "{app: 'a b'}", 1), `spec.selector: key "app": value "a b"`},
		{"endpoints loopback", "apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\nsubsets:\n- addresses: [{ip: 127.0.0.1}]\n  ports: [{port: 5432}]\n",
			"subsets[0].addresses[0].ip: 127.0.0.1: may not be a loopback, link-local, multicast or unspecified address"},
		{"endpoints ports", "apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\nsubsets:\n- addresses: [{ip: 10.0.0.1}]\n", "subsets[0].ports: required"},
		{"endpoints of a selector", service(port) + "---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets:\n- addresses: [{ip: 10.0.0.1}]\n  ports: [{port: 80}]\n",
			"Endpoints/default/web: metadata.name: Service default/web has a selector, so berth computes its endpoints: remove the selector or this manifest"},
		{"cluster IP twice", service("  clusterIP: 10.96.0.20\n"+port) + "---\n" + strings.Replace(service("  clusterIP: 10.96.0.20\n"+port), "name: web", "name: api", 1),
			"Service/default/api: spec.clusterIP: cluster IP 10.96.0.20 is also used by Service/default/web (w.yaml:1)"},
		{"node port twice", service("  type: NodePort\n  ports:\n  - {port: 80, nodePort: 30080}\n") + "---\n" +
			strings.Replace(service("  type: NodePort\n  ports:\n  - {port: 80, nodePort: 30080}\n"), "name: web", "name: api", 1),
			"Service/default/api: spec.ports[0].nodePort: node port 30080/TCP is also used by Service/default/web"},
		{"load balancer port twice", service("  type: LoadBalancer\n  ports:\n  - {port: 8443}\n") + "---\n" +
			strings.Replace(service("  type: LoadBalancer\n  ports:\n  - {port: 8443}\n"), "name: web", "name: api", 1),
			"Service/default/api: spec.ports[0].port: load balancer port 8443/TCP is also used by Service/default/web"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectError(t, tc.data, tc.want) })
	}
}

// TestServiceNetworkOfTheCluster: a decoder of a cluster with its own
// service network checks cluster IPs and endpoints against that range and
// DNS address, not the defaults.
func TestServiceNetworkOfTheCluster(t *testing.T) {
	limits := DefaultLimits()
	limits.Services = api.ServiceNetwork{CIDR: netip.MustParsePrefix("10.100.0.0/16"), DNS: netip.MustParseAddr("10.100.0.53"), Domain: "berth.test"}
	port := "  ports:\n  - port: 80\n"
	for _, tc := range []struct{ ip, want string }{
		{"10.96.0.50", "spec.clusterIP: 10.96.0.50: not in the service range 10.100.0.0/16"},
		{"10.100.0.53", "spec.clusterIP: 10.100.0.53: the address of the cluster DNS"},
		{"10.100.0.60", ""},
	} {
		_, errs := DecodeWithLimits([]File{{Name: "w.yaml", Data: []byte(service("  clusterIP: " + tc.ip + "\n" + port))}}, limits)
		got := fmt.Sprint(errs)
		if (tc.want == "") != (len(errs) == 0) || !strings.Contains(got, tc.want) {
			t.Errorf("clusterIP %s: errors %v; want %q", tc.ip, errs, tc.want)
		}
	}
	_, errs := DecodeWithLimits([]File{{Name: "e.yaml", Data: []byte("apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\nsubsets:\n- addresses: [{ip: 10.100.1.1}]\n  ports: [{port: 5432}]\n")}}, limits)
	if !strings.Contains(fmt.Sprint(errs), "10.100.1.1: may not be in the service range 10.100.0.0/16") {
		t.Errorf("an endpoint in the service range: %v", errs)
	}
}
