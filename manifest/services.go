package manifest

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-dev/berth/api"
)

// serviceFields are the implemented fields of a Service.
var serviceFields = concat(metadataFields, []string{
	"spec.type", "spec.selector.*", "spec.clusterIP", "spec.clusterIPs[]", "spec.sessionAffinity", "spec.externalName",
	"spec.publishNotReadyAddresses", "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
	"spec.internalTrafficPolicy", "spec.externalTrafficPolicy",
	"spec.ports[].name", "spec.ports[].protocol", "spec.ports[].appProtocol", "spec.ports[].port",
	"spec.ports[].targetPort", "spec.ports[].nodePort",
})

// endpointsFields are the implemented fields of an Endpoints object.
var endpointsFields = concat(metadataFields, []string{
	"subsets[].addresses[].ip", "subsets[].notReadyAddresses[].ip",
	"subsets[].ports[].name", "subsets[].ports[].port", "subsets[].ports[].protocol", "subsets[].ports[].appProtocol",
})

// defaultService fills the defaults the apiserver applies to a Service.
func defaultService(s *corev1.Service) {
	if s.Spec.Type == "" {
		s.Spec.Type = corev1.ServiceTypeClusterIP
	}
	if s.Spec.SessionAffinity == "" {
		s.Spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		defaultAffinityTimeout(s)
	}
	if s.Spec.Type != corev1.ServiceTypeExternalName && s.Spec.InternalTrafficPolicy == nil {
		cluster := corev1.ServiceInternalTrafficPolicyCluster
		s.Spec.InternalTrafficPolicy = &cluster
	}
	if api.HasNodePorts(s) && s.Spec.ExternalTrafficPolicy == "" {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if s.Spec.ClusterIP == "" && len(s.Spec.ClusterIPs) > 0 {
		s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == (intstr.IntOrString{}) {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
}

// defaultAffinityTimeout sets ClientIP affinity's timeout to the
// apiserver's default, 10800 s, when the manifest leaves it out.
func defaultAffinityTimeout(s *corev1.Service) {
	c := s.Spec.SessionAffinityConfig
	if c == nil {
		c = &corev1.SessionAffinityConfig{}
		s.Spec.SessionAffinityConfig = c
	}
	if c.ClientIP == nil {
		c.ClientIP = &corev1.ClientIPConfig{}
	}
	if c.ClientIP.TimeoutSeconds == nil {
		t := int32(corev1.DefaultClientIPServiceAffinitySeconds)
		c.ClientIP.TimeoutSeconds = &t
	}
}

// defaultEndpoints fills the default protocol of each port.
func defaultEndpoints(e *corev1.Endpoints) {
	for i := range e.Subsets {
		for j := range e.Subsets[i].Ports {
			if p := &e.Subsets[i].Ports[j]; p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// validateService checks a Service as the apiserver does, for the types
// and fields berth implements.
func validateService(s *corev1.Service, svc api.ServiceNetwork) []*fieldError {
	var fes []*fieldError
	for _, msg := range validation.IsDNS1035Label(s.Name) {
		fes = append(fes, &fieldError{"metadata.name", fmt.Sprintf("%q: %s", s.Name, msg)})
	}
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		if s.Spec.ExternalName != "" {
			fes = append(fes, &fieldError{"spec.externalName", "may only be set for an ExternalName service"})
		}
	case corev1.ServiceTypeExternalName:
		return append(fes, validateExternalName(s)...)
	default:
		fes = append(fes, &fieldError{"spec.type", fmt.Sprintf("unsupported value %q: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"", s.Spec.Type)})
	}
	fes = append(fes, validateAffinity(s)...)
	fes = append(fes, validateTrafficPolicies(s)...)
	fes = append(fes, validateLabels(s.Spec.Selector, "spec.selector")...)
	fes = append(fes, validateClusterIP(s, svc)...)
	return append(fes, validateServicePorts(s)...)
}

// validateExternalName checks a Service of type ExternalName, an alias
// the cluster DNS answers with a CNAME: a DNS name, no cluster IP, and
// ports only as names of what the other end serves.
func validateExternalName(s *corev1.Service) []*fieldError {
	var fes []*fieldError
	if s.Spec.ExternalName == "" {
		fes = append(fes, &fieldError{"spec.externalName", "required for an ExternalName service"})
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.TrimSuffix(s.Spec.ExternalName, ".")) {
		if s.Spec.ExternalName != "" {
			fes = append(fes, &fieldError{"spec.externalName", fmt.Sprintf("%q: %s", s.Spec.ExternalName, msg)})
		}
	}
	if s.Spec.ClusterIP != "" || len(s.Spec.ClusterIPs) > 0 {
		fes = append(fes, &fieldError{"spec.clusterIP", "must be empty for an ExternalName service"})
	}
	if s.Spec.SessionAffinity != corev1.ServiceAffinityNone {
		fes = append(fes, &fieldError{"spec.sessionAffinity", "must be None for an ExternalName service"})
	}
	for i, p := range s.Spec.Ports {
		fes = append(fes, validateProtocol(p.Protocol, fmt.Sprintf("spec.ports[%d]", i))...)
		if p.NodePort != 0 {
			fes = append(fes, &fieldError{fmt.Sprintf("spec.ports[%d].nodePort", i), "may only be set for a NodePort service"})
		}
	}
	return fes
}

// maxAffinitySeconds is the longest ClientIP affinity the apiserver
// takes: a day.
const maxAffinitySeconds = 86400

// validateAffinity checks sessionAffinity (None or ClientIP) and its
// timeout, as the apiserver does.
func validateAffinity(s *corev1.Service) []*fieldError {
	switch s.Spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		if s.Spec.SessionAffinityConfig != nil {
			return []*fieldError{{"spec.sessionAffinityConfig", "must be empty when sessionAffinity is None"}}
		}
	case corev1.ServiceAffinityClientIP:
		c := s.Spec.SessionAffinityConfig
		if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			return nil // defaulted
		}
		if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxAffinitySeconds {
			return []*fieldError{{"spec.sessionAffinityConfig.clientIP.timeoutSeconds", fmt.Sprintf("%d: must be greater than 0 and at most %d", t, maxAffinitySeconds)}}
		}
	default:
		return []*fieldError{{"spec.sessionAffinity", fmt.Sprintf("unsupported value %q: supported values: \"ClientIP\", \"None\"", s.Spec.SessionAffinity)}}
	}
	return nil
}

// validateTrafficPolicies checks internalTrafficPolicy and
// externalTrafficPolicy (Cluster or Local; the latter only for a node
// port), as the apiserver does.
func validateTrafficPolicies(s *corev1.Service) []*fieldError {
	var fes []*fieldError
	if p := s.Spec.InternalTrafficPolicy; p != nil && *p != corev1.ServiceInternalTrafficPolicyCluster && *p != corev1.ServiceInternalTrafficPolicyLocal {
		fes = append(fes, &fieldError{"spec.internalTrafficPolicy", fmt.Sprintf("unsupported value %q: supported values: \"Cluster\", \"Local\"", *p)})
	}
	switch p := s.Spec.ExternalTrafficPolicy; {
	case p == "":
	case !api.HasNodePorts(s):
		fes = append(fes, &fieldError{"spec.externalTrafficPolicy", "may only be set for a NodePort or LoadBalancer service"})
	case p != corev1.ServiceExternalTrafficPolicyCluster && p != corev1.ServiceExternalTrafficPolicyLocal:
		fes = append(fes, &fieldError{"spec.externalTrafficPolicy", fmt.Sprintf("unsupported value %q: supported values: \"Cluster\", \"Local\"", p)})
	}
	return fes
}

func headless(s *corev1.Service) bool { return s.Spec.ClusterIP == corev1.ClusterIPNone }

func validateClusterIP(s *corev1.Service, svc api.ServiceNetwork) []*fieldError {
	var fes []*fieldError
	ip := s.Spec.ClusterIP
	if len(s.Spec.ClusterIPs) > 1 || (len(s.Spec.ClusterIPs) == 1 && s.Spec.ClusterIPs[0] != ip) {
		fes = append(fes, &fieldError{"spec.clusterIPs", "must hold one address, the same as spec.clusterIP (berth is IPv4 single-stack)"})
	}
	switch {
	case ip == "":
	case ip == corev1.ClusterIPNone:
		if api.HasNodePorts(s) {
			fes = append(fes, &fieldError{"spec.clusterIP", fmt.Sprintf("may not be \"None\" for a %s service", s.Spec.Type)})
		}
	default:
		addr, err := netip.ParseAddr(ip)
		if err != nil || !addr.Is4() {
			fes = append(fes, &fieldError{"spec.clusterIP", fmt.Sprintf("%q: must be \"None\", empty, or an IPv4 address", ip)})
		} else if !svc.CIDR.Contains(addr) {
			fes = append(fes, &fieldError{"spec.clusterIP", fmt.Sprintf("%s: not in the service range %s", ip, svc.CIDR)})
		} else if addr == svc.DNS {
			fes = append(fes, &fieldError{"spec.clusterIP", fmt.Sprintf("%s: the address of the cluster DNS, which berth's agents serve", ip)})
		}
	}
	return fes
}

func validateServicePorts(s *corev1.Service) []*fieldError {
	var fes []*fieldError
	if len(s.Spec.Ports) == 0 && !headless(s) {
		fes = append(fes, &fieldError{"spec.ports", "required (only a headless service, clusterIP None, may have none)"})
	}
	names, ports := map[string]bool{}, map[string]bool{}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		f := fmt.Sprintf("spec.ports[%d]", i)
		fes = append(fes, validatePortName(p.Name, f, len(s.Spec.Ports) > 1, names)...)
		fes = append(fes, validateProtocol(p.Protocol, f)...)
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			fes = append(fes, &fieldError{f + ".port", msg})
		}
		if key := fmt.Sprintf("%d/%s", p.Port, p.Protocol); ports[key] {
			fes = append(fes, &fieldError{f, fmt.Sprintf("port %s is listed twice", key)})
		} else {
			ports[key] = true
		}
		fes = append(fes, validateTargetPort(p.TargetPort, f+".targetPort")...)
		fes = append(fes, validateNodePort(s, p.NodePort, f+".nodePort")...)
	}
	return fes
}

// validatePortName checks a port's name: required when there are several
// ports, a DNS label, and unique.
func validatePortName(name, f string, required bool, seen map[string]bool) []*fieldError {
	switch {
	case name == "" && required:
		return []*fieldError{{f + ".name", "required when there is more than one port"}}
	case name == "":
		return nil
	case seen[name]:
		return []*fieldError{{f + ".name", fmt.Sprintf("%q: duplicate port name", name)}}
	}
	seen[name] = true
	var fes []*fieldError
	for _, msg := range validation.IsDNS1123Label(name) {
		fes = append(fes, &fieldError{f + ".name", fmt.Sprintf("%q: %s", name, msg)})
	}
	return fes
}

func validateProtocol(p corev1.Protocol, f string) []*fieldError {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP:
		return nil
	case corev1.ProtocolSCTP:
		return []*fieldError{{f + ".protocol", "SCTP: not supported by berth (TCP and UDP are)"}}
	}
	return []*fieldError{{f + ".protocol", fmt.Sprintf("unsupported value %q: supported values: \"TCP\", \"UDP\"", p)}}
}

func validateTargetPort(t intstr.IntOrString, f string) []*fieldError {
	var msgs []string
	if t.Type == intstr.String {
		msgs = validation.IsValidPortName(t.StrVal)
	} else {
		msgs = validation.IsValidPortNum(int(t.IntVal))
	}
	var fes []*fieldError
	for _, msg := range msgs {
		fes = append(fes, &fieldError{f, fmt.Sprintf("%s: %s", t.String(), msg)})
	}
	return fes
}

func validateNodePort(s *corev1.Service, port int32, f string) []*fieldError {
	switch {
	case port == 0:
		return nil
	case !api.HasNodePorts(s):
		return []*fieldError{{f, "may only be set for a NodePort or LoadBalancer service"}}
	case port < api.NodePortMin || port > api.NodePortMax:
		return []*fieldError{{f, fmt.Sprintf("%d: not in the node port range %d-%d", port, api.NodePortMin, api.NodePortMax)}}
	}
	return nil
}

// validateEndpoints checks an Endpoints object written in Git.
func validateEndpoints(e *corev1.Endpoints, svc api.ServiceNetwork) []*fieldError {
	var fes []*fieldError
	for i, sub := range e.Subsets {
		f := fmt.Sprintf("subsets[%d]", i)
		fes = append(fes, validateEndpointAddresses(sub.Addresses, f+".addresses", svc)...)
		fes = append(fes, validateEndpointAddresses(sub.NotReadyAddresses, f+".notReadyAddresses", svc)...)
		if len(sub.Ports) == 0 {
			fes = append(fes, &fieldError{f + ".ports", "required"})
		}
		names := map[string]bool{}
		for j, p := range sub.Ports {
			pf := fmt.Sprintf("%s.ports[%d]", f, j)
			fes = append(fes, validatePortName(p.Name, pf, len(sub.Ports) > 1, names)...)
			fes = append(fes, validateProtocol(p.Protocol, pf)...)
			for _, msg := range validation.IsValidPortNum(int(p.Port)) {
				fes = append(fes, &fieldError{pf + ".port", msg})
			}
		}
	}
	return fes
}

// validateEndpointAddresses refuses what the apiserver refuses: anything
// but an IPv4 address, and loopback, link-local or multicast addresses.
func validateEndpointAddresses(addrs []corev1.EndpointAddress, f string, svc api.ServiceNetwork) []*fieldError {
	var fes []*fieldError
	for i, a := range addrs {
		af := fmt.Sprintf("%s[%d].ip", f, i)
		ip, err := netip.ParseAddr(a.IP)
		switch {
		case err != nil || !ip.Is4():
			fes = append(fes, &fieldError{af, fmt.Sprintf("%q: must be an IPv4 address", a.IP)})
		case ip.IsLoopback(), ip.IsLinkLocalUnicast(), ip.IsMulticast(), ip.IsUnspecified():
			fes = append(fes, &fieldError{af, fmt.Sprintf("%s: may not be a loopback, link-local, multicast or unspecified address", a.IP)})
		case svc.CIDR.Contains(ip):
			fes = append(fes, &fieldError{af, fmt.Sprintf("%s: may not be in the service range %s", a.IP, svc.CIDR)})
		}
	}
	return fes
}

// checkServices finds problems between Services and Endpoints of a
// commit: a cluster IP or node port used twice, and Endpoints written for
// a Service whose selector already decides them.
func checkServices(objs []*object) []error {
	var errs []error
	ips, nodePorts, lbPorts := map[string]*object{}, map[string]*object{}, map[string]*object{}
	selected := map[string]bool{}
	for _, o := range objs {
		s, ok := o.value.(*corev1.Service)
		if !ok {
			continue
		}
		if len(s.Spec.Selector) > 0 {
			selected[api.Key(s.Namespace, s.Name)] = true
		}
		if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			errs = appendClash(errs, ips, ip, o, "spec.clusterIP", "cluster IP "+ip)
		}
		for i, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				key := fmt.Sprintf("%d/%s", p.NodePort, p.Protocol)
				errs = appendClash(errs, nodePorts, key, o, fmt.Sprintf("spec.ports[%d].nodePort", i), "node port "+key)
			}
			if s.Spec.Type == corev1.ServiceTypeLoadBalancer { // every node's address answers on the port
				key := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
				errs = appendClash(errs, lbPorts, key, o, fmt.Sprintf("spec.ports[%d].port", i), "load balancer port "+key)
			}
		}
	}
	for _, o := range objs {
		if e, ok := o.value.(*corev1.Endpoints); ok && selected[api.Key(e.Namespace, e.Name)] {
			errs = append(errs, o.errorAt(&fieldError{"metadata.name", fmt.Sprintf(
				"Service %s/%s has a selector, so berth computes its endpoints: remove the selector or this manifest", e.Namespace, e.Name)}))
		}
	}
	return errs
}

// appendClash records key for o, or adds an error naming the first user.
func appendClash(errs []error, seen map[string]*object, key string, o *object, field, what string) []error {
	prev, ok := seen[key]
	if !ok {
		seen[key] = o
		return errs
	}
	return append(errs, o.errorAt(&fieldError{field, fmt.Sprintf("%s is also used by %s (%s:%d)", what, prev.id(), prev.file, prev.line)}))
}
