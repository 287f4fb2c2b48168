package manifest

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-dev/berth/api"
)

// ingressBackendFields are the fields of an Ingress backend.
var ingressBackendFields = []string{"service.name", "service.port.name", "service.port.number"}

// ingressFields are the implemented fields of an Ingress.
var ingressFields = concat(metadataFields, []string{"spec.ingressClassName", "spec.tls[].hosts[]", "spec.tls[].secretName",
	"spec.rules[].host", "spec.rules[].http.paths[].path", "spec.rules[].http.paths[].pathType"},
	prefixed("spec.defaultBackend.", ingressBackendFields), prefixed("spec.rules[].http.paths[].backend.", ingressBackendFields))

// ingressClassFields are the implemented fields of an IngressClass.
var ingressClassFields = concat(metadataFields, []string{"spec.controller"})

// validateIngress checks an Ingress as the apiserver does.
func validateIngress(ing *networkingv1.Ingress) []*fieldError {
	var fes []*fieldError
	if ing.Spec.DefaultBackend == nil && len(ing.Spec.Rules) == 0 {
		fes = append(fes, &fieldError{"spec", "either `defaultBackend` or `rules` must be specified"})
	}
	if c := ing.Spec.IngressClassName; c != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*c) {
			fes = append(fes, &fieldError{"spec.ingressClassName", fmt.Sprintf("invalid value %q: %s", *c, msg)})
		}
	}
	if d := ing.Spec.DefaultBackend; d != nil {
		fes = append(fes, validateIngressBackend(d, "spec.defaultBackend")...)
	}
	for i, t := range ing.Spec.TLS {
		for j, h := range t.Hosts {
			fes = append(fes, validateIngressHost(h, fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j))...)
		}
		if t.SecretName == "" {
			fes = append(fes, &fieldError{fmt.Sprintf("spec.tls[%d].secretName", i), "required: berth serves TLS from a kubernetes.io/tls Secret"})
		}
	}
	for i, r := range ing.Spec.Rules {
		f := fmt.Sprintf("spec.rules[%d]", i)
		if r.Host != "" {
			fes = append(fes, validateIngressHost(r.Host, f+".host")...)
		}
		if r.HTTP == nil {
			continue
		}
		if len(r.HTTP.Paths) == 0 {
			fes = append(fes, &fieldError{f + ".http.paths", "required"})
		}
		for j, p := range r.HTTP.Paths {
			pf := fmt.Sprintf("%s.http.paths[%d]", f, j)
			fes = append(fes, validateIngressPath(&p, pf)...)
			fes = append(fes, validateIngressBackend(&p.Backend, pf+".backend")...)
		}
	}
	return fes
}

// validateIngressHost checks a host: a DNS name, optionally a wildcard
// of one leading label, never an IP address.
func validateIngressHost(host, field string) []*fieldError {
	var msgs []string
	if strings.HasPrefix(host, "*.") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	} else {
		msgs = validation.IsDNS1123Subdomain(host)
	}
	if len(validation.IsValidIP(nil, host)) == 0 {
		msgs = append(msgs, "must be a DNS name, not an IP address")
	}
	var fes []*fieldError
	for _, msg := range msgs {
		fes = append(fes, &fieldError{field, fmt.Sprintf("invalid value %q: %s", host, msg)})
	}
	return fes
}

// invalidPathSequences may not appear in an Exact or Prefix path.
var invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}

// validateIngressPath checks a path rule's type and path.
func validateIngressPath(p *networkingv1.HTTPIngressPath, field string) []*fieldError {
	if p.PathType == nil {
		return []*fieldError{{field + ".pathType", `required: "Exact", "Prefix" or "ImplementationSpecific"`}}
	}
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			return []*fieldError{{field + ".path", fmt.Sprintf("invalid value %q: must be an absolute path", p.Path)}}
		}
		return nil
	default:
		return []*fieldError{{field + ".pathType", fmt.Sprintf(`unsupported value %q: supported values: "Exact", "ImplementationSpecific", "Prefix"`, *p.PathType)}}
	}
	if !strings.HasPrefix(p.Path, "/") {
		return []*fieldError{{field + ".path", fmt.Sprintf("invalid value %q: must be an absolute path", p.Path)}}
	}
	for _, seq := range invalidPathSequences {
		if strings.Contains(p.Path, seq) {
			return []*fieldError{{field + ".path", fmt.Sprintf("invalid value %q: must not contain '%s'", p.Path, seq)}}
		}
	}
	for _, suffix := range []string{"/..", "/."} {
		if strings.HasSuffix(p.Path, suffix) {
			return []*fieldError{{field + ".path", fmt.Sprintf("invalid value %q: cannot end with '%s'", p.Path, suffix)}}
		}
	}
	return nil
}

// validateIngressBackend checks a backend: a Service and one port, by
// name or number.
func validateIngressBackend(b *networkingv1.IngressBackend, field string) []*fieldError {
	s := b.Service
	if s == nil {
		return []*fieldError{{field + ".service", "required: berth routes to Services"}}
	}
	var fes []*fieldError
	for _, msg := range validation.IsDNS1035Label(s.Name) {
		fes = append(fes, &fieldError{field + ".service.name", fmt.Sprintf("invalid value %q: %s", s.Name, msg)})
	}
	switch {
	case s.Port.Name != "" && s.Port.Number != 0:
		fes = append(fes, &fieldError{field + ".service.port", "cannot set both port name & port number"})
	case s.Port.Name != "":
		for _, msg := range validation.IsValidPortName(s.Port.Name) {
			fes = append(fes, &fieldError{field + ".service.port.name", fmt.Sprintf("invalid value %q: %s", s.Port.Name, msg)})
		}
	case s.Port.Number == 0:
		fes = append(fes, &fieldError{field + ".service.port", "port name or number is required"})
	default:
		for _, msg := range validation.IsValidPortNum(int(s.Port.Number)) {
			fes = append(fes, &fieldError{field + ".service.port.number", fmt.Sprintf("invalid value %d: %s", s.Port.Number, msg)})
		}
	}
	return fes
}

// validateIngressClass checks an IngressClass: its controller is a
// domain-prefixed path.
func validateIngressClass(c *networkingv1.IngressClass) []*fieldError {
	ctrl := c.Spec.Controller
	if ctrl == "" {
		return []*fieldError{{"spec.controller", "required"}}
	}
	var fes []*fieldError
	for _, msg := range validation.IsDomainPrefixedPath(nil, ctrl) {
		fes = append(fes, &fieldError{"spec.controller", fmt.Sprintf("invalid value %q: %s", ctrl, msg.Detail)})
	}
	if len(ctrl) > 250 {
		fes = append(fes, &fieldError{"spec.controller", "must be no more than 250 characters"})
	}
	return fes
}

// checkIngresses checks what the commit's Ingresses name: each backend's
// Service and port, and each TLS entry's kubernetes.io/tls Secret, in
// the Ingress's namespace.
func checkIngresses(objs []*object) []error {
	services, secrets := map[string]*corev1.Service{}, map[string]*corev1.Secret{}
	for _, o := range objs {
		switch v := o.value.(type) {
		case *corev1.Service:
			services[api.Key(v.Namespace, v.Name)] = v
		case *corev1.Secret:
			secrets[api.Key(v.Namespace, v.Name)] = v
		}
	}
	var errs []error
	for _, o := range objs {
		ing, ok := o.value.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		var fes []*fieldError
		if d := ing.Spec.DefaultBackend; d != nil {
			fes = append(fes, checkIngressBackend(services, ing.Namespace, d, "spec.defaultBackend")...)
		}
		for i, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for j := range r.HTTP.Paths {
				fes = append(fes, checkIngressBackend(services, ing.Namespace, &r.HTTP.Paths[j].Backend,
					fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j))...)
			}
		}
		for i, t := range ing.Spec.TLS {
			s := secrets[api.Key(ing.Namespace, t.SecretName)]
			switch {
			case t.SecretName == "":
			case s == nil:
				fes = append(fes, &fieldError{fmt.Sprintf("spec.tls[%d].secretName", i), fmt.Sprintf("Secret %s/%s is not in the commit", ing.Namespace, t.SecretName)})
			case s.Type != corev1.SecretTypeTLS:
				fes = append(fes, &fieldError{fmt.Sprintf("spec.tls[%d].secretName", i), fmt.Sprintf("Secret %s/%s has type %q: it takes type %s (tls.crt and tls.key)", ing.Namespace, t.SecretName, s.Type, corev1.SecretTypeTLS)})
			}
		}
		for _, fe := range fes {
			errs = append(errs, o.errorAt(fe))
		}
	}
	return errs
}

// checkIngressBackend checks that a backend's Service is in the commit
// and has the port.
func checkIngressBackend(services map[string]*corev1.Service, ns string, b *networkingv1.IngressBackend, field string) []*fieldError {
	if b.Service == nil {
		return nil
	}
	svc := services[api.Key(ns, b.Service.Name)]
	if svc == nil {
		return []*fieldError{{field + ".service.name", fmt.Sprintf("Service %s/%s is not in the commit", ns, b.Service.Name)}}
	}
	for _, p := range svc.Spec.Ports {
		if (b.Service.Port.Name != "" && p.Name == b.Service.Port.Name) || (b.Service.Port.Name == "" && p.Port == b.Service.Port.Number) {
			return nil
		}
	}
	port := b.Service.Port.Name
	if port == "" {
		port = strconv.Itoa(int(b.Service.Port.Number))
	}
	return []*fieldError{{field + ".service.port", fmt.Sprintf("Service %s/%s has no port %s", ns, b.Service.Name, port)}}
}
