package ingress

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/berth-dev/berth/api"
)

// resolver turns Ingress backends into Service endpoints and TLS entries
// into certificates.
type resolver struct {
	services  map[string]*corev1.Service
	endpoints map[string]*corev1.Endpoints
	secrets   map[string]*corev1.Secret
	backends  map[string]*Backend // one per Service port, shared by its routes
}

func newResolver(in Input) *resolver {
	r := &resolver{services: map[string]*corev1.Service{}, endpoints: map[string]*corev1.Endpoints{},
		secrets: map[string]*corev1.Secret{}, backends: map[string]*Backend{}}
	for i := range in.Services {
		r.services[in.Services[i].Namespace+"/"+in.Services[i].Name] = &in.Services[i]
	}
	for i := range in.Endpoints {
		r.endpoints[in.Endpoints[i].Namespace+"/"+in.Endpoints[i].Name] = &in.Endpoints[i]
	}
	for i := range in.Secrets {
		r.secrets[in.Secrets[i].Namespace+"/"+in.Secrets[i].Name] = &in.Secrets[i]
	}
	return r
}

// backend resolves an Ingress backend in a namespace. A Service that is
// missing or has no such port gives an error and a Backend without
// addresses (its requests get 503, as they would with no ready pod); a
// resource backend gives no Backend.
func (r *resolver) backend(ns string, b *networkingv1.IngressBackend) (*Backend, error) {
	if b.Resource != nil {
		return nil, fmt.Errorf("backend.resource %s/%s: berth serves Service backends only", b.Resource.Kind, b.Resource.Name)
	}
	if b.Service == nil {
		return nil, fmt.Errorf("backend: no service")
	}
	key := ns + "/" + b.Service.Name
	port := b.Service.Port.Name
	if port == "" {
		port = strconv.Itoa(int(b.Service.Port.Number))
	}
	if cached := r.backends[key+":"+port]; cached != nil {
		return cached, nil
	}
	be := &Backend{Service: key, Port: port}
	r.backends[key+":"+port] = be
	svc := r.services[key]
	if svc == nil {
		return be, fmt.Errorf("service %s not found", key)
	}
	sp := servicePort(svc, b.Service.Port)
	if sp == nil {
		return be, fmt.Errorf("service %s has no port %s", key, port)
	}
	be.Addrs = readyAddrs(r.endpoints[key], sp.Name)
	return be, nil
}

// servicePort finds a Service's port by name or number.
func servicePort(svc *corev1.Service, p networkingv1.ServiceBackendPort) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if (p.Name != "" && sp.Name == p.Name) || (p.Name == "" && sp.Port == p.Number) {
			return sp
		}
	}
	return nil
}

// readyAddrs are the ready endpoints of a Service port, as "ip:port".
func readyAddrs(ep *corev1.Endpoints, portName string) []string {
	if ep == nil {
		return nil
	}
	var out []string
	for _, sub := range ep.Subsets {
		for _, p := range sub.Ports {
			if p.Name != portName || (p.Protocol != "" && p.Protocol != corev1.ProtocolTCP) {
				continue
			}
			for _, a := range sub.Addresses {
				out = append(out, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	return out
}

// certs are the TLS certificates of the served Ingresses.
type certs struct {
	byHost   map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // by the suffix after "*."
	// fallback serves a name no entry lists: the first entry without
	// hosts, else the first certificate (see settle).
	fallback *tls.Certificate
	hostless *tls.Certificate // the first entry without hosts
	all      []*tls.Certificate
}

// add records a certificate for its hosts (an Ingress TLS entry's, or a
// listener's hostname); one without hosts may serve names nobody lists.
func (c *certs) add(cert *tls.Certificate, hosts ...string) {
	c.all = append(c.all, cert)
	if len(hosts) == 0 && c.hostless == nil {
		c.hostless = cert
	}
	for _, h := range hosts {
		c.file(strings.ToLower(h), cert)
	}
}

// settle chooses the fallback once every certificate is added.
func (c *certs) settle() {
	c.fallback = c.hostless
	if c.fallback == nil && len(c.all) > 0 {
		c.fallback = c.all[0]
	}
}

// certs loads the certificates of the served Ingresses' TLS entries.
// An entry whose Secret is missing or malformed is a problem, and its
// hosts are served with another certificate if one covers them.
func (r *resolver) certs(ings []networkingv1.Ingress, classes classSet, problems *[]string) *certs {
	c := &certs{byHost: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}}
	for i := range ings {
		ing := &ings[i]
		if !classes.serves(ing) {
			continue
		}
		for j, entry := range ing.Spec.TLS {
			cert, err := r.keyPair(ing.Namespace, entry.SecretName)
			if err != nil {
				*problems = append(*problems, fmt.Sprintf("ingress %s/%s: spec.tls[%d]: %v", ing.Namespace, ing.Name, j, err))
				continue
			}
			c.add(cert, entry.Hosts...)
		}
	}
	return c
}

// file records a certificate for a host; the first entry for a host wins.
func (c *certs) file(host string, cert *tls.Certificate) {
	m, key := c.byHost, host
	if strings.HasPrefix(host, "*.") {
		m, key = c.wildcard, host[2:]
	}
	if m[key] == nil {
		m[key] = cert
	}
}

// keyPair loads a kubernetes.io/tls Secret.
func (r *resolver) keyPair(ns, name string) (*tls.Certificate, error) {
	s := r.secrets[ns+"/"+name]
	if s == nil {
		return nil, fmt.Errorf("secret %s/%s not found", ns, name)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return nil, fmt.Errorf("secret %s/%s has no %s and %s", ns, name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	return &cert, nil
}

// get chooses the certificate for a TLS handshake by its server name:
// an entry for the exact host, then for its wildcard, then any
// certificate whose names cover it, then the fallback.
func (c *certs) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if cert := c.byHost[name]; cert != nil {
		return cert, nil
	}
	if _, suffix, ok := strings.Cut(name, "."); ok && c.wildcard[suffix] != nil {
		return c.wildcard[suffix], nil
	}
	for _, cert := range c.all {
		if name != "" && cert.Leaf != nil && cert.Leaf.VerifyHostname(name) == nil {
			return cert, nil
		}
	}
	if c.fallback == nil {
		return nil, fmt.Errorf("no Ingress serves TLS for %q", hello.ServerName)
	}
	return c.fallback, nil
}

// gateways compiles the Gateway listeners into one router per port (the
// listeners of a port share it: their routes carry their hostnames), and
// files their certificates by hostname.
func (r *resolver) gateways(listeners []api.GatewayListener, routes []gatewayv1.HTTPRoute, c *certs, problems *[]string) map[int]*Router {
	byKey := map[string]*gatewayv1.HTTPRoute{}
	for i := range routes {
		byKey[routes[i].Namespace+"/"+routes[i].Name] = &routes[i]
	}
	attached := map[int][]AttachedRoute{}
	https := map[int]bool{}
	for _, l := range listeners {
		port := int(l.Port)
		https[port] = l.Protocol == "HTTPS"
		if _, ok := attached[port]; !ok {
			attached[port] = nil // a listener without routes still answers (404)
		}
		for _, name := range l.Certificates {
			ns, secret, _ := strings.Cut(name, "/")
			cert, err := r.keyPair(ns, secret)
			if err != nil {
				*problems = append(*problems, fmt.Sprintf("gateway %s listener %s: %v", l.Gateway, l.Name, err))
				continue
			}
			if l.Hostname == "" {
				c.add(cert)
			} else {
				c.add(cert, l.Hostname)
			}
		}
		for _, ar := range l.Routes {
			rt := byKey[ar.Route]
			if rt == nil {
				*problems = append(*problems, fmt.Sprintf("gateway %s listener %s: HTTPRoute %s is not in the table", l.Gateway, l.Name, ar.Route))
				continue
			}
			attached[port] = append(attached[port], AttachedRoute{Route: rt, Hostnames: ar.Hostnames, Backends: r.routeBackends(rt.Namespace, ar.Denied)})
		}
	}
	out := map[int]*Router{}
	for port, routes := range attached {
		out[port] = NewRouter(routes)
		out[port].https = https[port]
	}
	return out
}

// routeBackends resolves the backendRefs of a route in namespace ns:
// Services by port number; those the route may not use do not resolve.
func (r *resolver) routeBackends(ns string, denied []string) func(gatewayv1.BackendObjectReference) *Backend {
	return func(ref gatewayv1.BackendObjectReference) *Backend {
		target := ns
		if ref.Namespace != nil {
			target = string(*ref.Namespace)
		}
		if slices.Contains(denied, target+"/"+string(ref.Name)) || ref.Port == nil {
			return nil
		}
		b, err := r.backend(target, &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: string(ref.Name), Port: networkingv1.ServiceBackendPort{Number: int32(*ref.Port)}}})
		if err != nil {
			return nil
		}
		return b
	}
}
