// Package ingress is the node's HTTP(S) proxy for Ingress objects: a
// routing table compiled from the cluster's Ingresses, Services and
// endpoints (Build), matched as Kubernetes defines host and path rules
// (Table.Match), and a reverse proxy that serves it with TLS chosen by
// SNI (Proxy).
package ingress

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/berth-dev/berth/api"
)

// ControllerName is the spec.controller of an IngressClass berth serves.
const ControllerName = api.IngressController

// annotationDefaultClass marks the IngressClass that Ingresses without a
// class take.
const annotationDefaultClass = "ingressclass.kubernetes.io/is-default-class"

// annotationLegacyClass is the class annotation older Ingresses carry.
const annotationLegacyClass = "kubernetes.io/ingress.class"

// Input is what a routing table is compiled from.
type Input struct {
	Ingresses []networkingv1.Ingress
	Classes   []networkingv1.IngressClass
	Services  []corev1.Service
	Endpoints []corev1.Endpoints
	// Secrets holds the kubernetes.io/tls Secrets the Ingresses and the
	// Gateway listeners name.
	Secrets []corev1.Secret
	// Listeners are the Gateway listeners berth serves, with their
	// attached routes; HTTPRoutes the routes they name.
	Listeners  []api.GatewayListener
	HTTPRoutes []gatewayv1.HTTPRoute
}

// Backend is where a matched request goes: a Service port, resolved to
// the addresses ("ip:port") of its ready endpoints.
type Backend struct {
	// Service is "namespace/name", Port the Service port as written.
	Service, Port string
	Addrs         []string
	next          atomic.Uint64
}

// Pick chooses the next address, round robin; ok is false when the
// Service has no ready endpoint.
func (b *Backend) Pick() (addr string, ok bool) {
	if len(b.Addrs) == 0 {
		return "", false
	}
	return b.Addrs[(b.next.Add(1)-1)%uint64(len(b.Addrs))], true
}

func (b *Backend) String() string { return "service " + b.Service + " port " + b.Port }

// route is one path of a rule.
type route struct {
	path    string // without its trailing slash, except "/"
	exact   bool
	backend *Backend
	ingress string // "namespace/name", for messages
}

// Table is a compiled routing table. It is immutable once built.
type Table struct {
	exact      map[string][]route // by host
	wildcard   map[string][]route // by the host's suffix after "*."
	anyHost    []route            // rules without a host
	fallback   *Backend           // the defaultBackend, if any
	fallbackOf string             // the Ingress it is of
	certs      *certs
	// gateways are the routers of the Gateway listeners, by port.
	gateways map[int]*Router
	// Problems are what could not be compiled, one line each (a missing
	// Service or port, a TLS Secret missing or malformed), for events.
	Problems []string
	// Served are the Ingresses the table holds, as "namespace/name".
	Served []string
}

// Build compiles the Ingresses of berth's class into a table. Ingresses
// are taken in namespace/name order, so a conflict (two defaultBackends)
// resolves the same way on every node.
func Build(in Input) *Table {
	t := &Table{exact: map[string][]route{}, wildcard: map[string][]route{}}
	r := newResolver(in)
	ings := slices.Clone(in.Ingresses)
	slices.SortFunc(ings, func(a, b networkingv1.Ingress) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	classes := ourClasses(in.Classes)
	for i := range ings {
		ing := &ings[i]
		if !classes.serves(ing) {
			continue
		}
		t.add(ing, r)
	}
	t.certs = r.certs(ings, classes, &t.Problems)
	t.gateways = r.gateways(in.Listeners, in.HTTPRoutes, t.certs, &t.Problems)
	t.certs.settle()
	sortRoutes(t.anyHost)
	for _, m := range []map[string][]route{t.exact, t.wildcard} {
		for _, rs := range m {
			sortRoutes(rs)
		}
	}
	return t
}

// add compiles one Ingress into the table.
func (t *Table) add(ing *networkingv1.Ingress, r *resolver) {
	key := ing.Namespace + "/" + ing.Name
	t.Served = append(t.Served, key)
	if d := ing.Spec.DefaultBackend; d != nil {
		b, err := r.backend(ing.Namespace, d)
		if err != nil {
			t.Problems = append(t.Problems, fmt.Sprintf("ingress %s: defaultBackend: %v", key, err))
		}
		switch {
		case b == nil:
		case t.fallback == nil:
			t.fallback, t.fallbackOf = b, key
		default:
			t.Problems = append(t.Problems, fmt.Sprintf("ingress %s: defaultBackend ignored: ingress %s's is in use", key, t.fallbackOf))
		}
	}
	for i, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			b, err := r.backend(ing.Namespace, &p.Backend)
			if err != nil {
				t.Problems = append(t.Problems, fmt.Sprintf("ingress %s: spec.rules[%d].http.paths[%d]: %v", key, i, j, err))
			}
			if b == nil {
				continue
			}
			t.addRoute(strings.ToLower(rule.Host), newRoute(p, b, key))
		}
	}
}

// addRoute files a route under its host.
func (t *Table) addRoute(host string, rt route) {
	switch {
	case host == "":
		t.anyHost = append(t.anyHost, rt)
	case strings.HasPrefix(host, "*."):
		t.wildcard[host[2:]] = append(t.wildcard[host[2:]], rt)
	default:
		t.exact[host] = append(t.exact[host], rt)
	}
}

// newRoute is a path rule. ImplementationSpecific matches as Prefix does.
func newRoute(p networkingv1.HTTPIngressPath, b *Backend, ingress string) route {
	path := p.Path
	if path == "" {
		path = "/"
	}
	exact := p.PathType != nil && *p.PathType == networkingv1.PathTypeExact
	if !exact && path != "/" {
		path = strings.TrimRight(path, "/")
	}
	return route{path: path, exact: exact, backend: b, ingress: ingress}
}

// sortRoutes orders routes as they are tried: the longest path first,
// Exact before Prefix at the same length.
func sortRoutes(rs []route) {
	slices.SortStableFunc(rs, func(a, b route) int {
		if c := cmp.Compare(len(b.path), len(a.path)); c != 0 {
			return c
		}
		if a.exact != b.exact {
			if a.exact {
				return -1
			}
			return 1
		}
		return 0
	})
}

// Gateway is the router of the Gateway listeners on a port, or nil.
func (t *Table) Gateway(port int) *Router { return t.gateways[port] }

// GatewayPorts are the ports of the Gateway listeners, with whether each
// serves HTTPS.
func (t *Table) GatewayPorts() map[int]bool {
	out := map[int]bool{}
	for port, r := range t.gateways {
		out[port] = r.https
	}
	return out
}

// Match finds the backend of a request's host (without its port) and
// path: the routes of the exact host if any, else of the wildcard host
// (one label deep), else of the rules without a host; the first route
// that matches (see sortRoutes); else the defaultBackend.
func (t *Table) Match(host, path string) (*Backend, bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	routes, ok := t.exact[host]
	if !ok {
		if _, suffix, found := strings.Cut(host, "."); found {
			routes, ok = t.wildcard[suffix]
		}
	}
	if !ok {
		routes = t.anyHost
	}
	if path == "" {
		path = "/"
	}
	for i := range routes {
		if routes[i].matches(path) {
			return routes[i].backend, true
		}
	}
	return t.fallback, t.fallback != nil
}

// matches reports whether a request path matches the route: Exact is
// the same string; Prefix compares the path's elements (split on "/"),
// so /foo matches /foo, /foo/ and /foo/bar, but not /foobar.
func (rt *route) matches(path string) bool {
	if rt.exact {
		return path == rt.path
	}
	if rt.path == "/" {
		return true
	}
	if !strings.HasPrefix(path, rt.path) {
		return false
	}
	rest := path[len(rt.path):]
	return rest == "" || rest[0] == '/'
}

// classSet is the IngressClasses berth serves.
type classSet struct {
	names map[string]bool
	// takesUnclassed: berth serves Ingresses without a class (its class
	// is the default, or no class in the cluster is).
	takesUnclassed bool
}

// BuiltinClass is the IngressClass berth serves without one in Git.
const BuiltinClass = api.IngressClassBuiltin

// ourClasses finds berth's IngressClasses: the built-in one and those
// whose controller is berth's.
func ourClasses(classes []networkingv1.IngressClass) classSet {
	s := classSet{names: map[string]bool{BuiltinClass: true}}
	ourDefault, otherDefault := false, false
	for _, c := range classes {
		isDefault := c.Annotations[annotationDefaultClass] == "true"
		if c.Spec.Controller == ControllerName {
			s.names[c.Name] = true
			ourDefault = ourDefault || isDefault
		} else {
			otherDefault = otherDefault || isDefault
		}
	}
	s.takesUnclassed = ourDefault || !otherDefault
	return s
}

// serves reports whether berth serves an Ingress: its class is berth's,
// or it has none and berth takes those.
func (s classSet) serves(ing *networkingv1.Ingress) bool {
	class := ""
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	} else if a, ok := ing.Annotations[annotationLegacyClass]; ok {
		class = a
	}
	if class == "" {
		return s.takesUnclassed
	}
	return s.names[class]
}
