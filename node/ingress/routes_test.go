package ingress

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// p is a path rule "TYPE:PATH=SERVICE" (TYPE Prefix, Exact or Impl).
type p string

// ingressOf builds an Ingress with one rule for host, its paths going to
// Services named in the rules, each on port 80.
func ingressOf(name, host string, paths ...p) networkingv1.Ingress {
	rule := networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
	for _, s := range paths {
		typ, rest, _ := strings.Cut(string(s), ":")
		path, svc, _ := strings.Cut(rest, "=")
		pt := map[string]networkingv1.PathType{"Prefix": networkingv1.PathTypePrefix, "Exact": networkingv1.PathTypeExact,
			"Impl": networkingv1.PathTypeImplementationSpecific}[typ]
		rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: path, PathType: &pt, Backend: serviceBackend(svc)})
	}
	return networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{rule}}}
}

func serviceBackend(svc string) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}
}

// servicesFor makes a Service (port 80) with one ready endpoint for each
// name, so that every route resolves.
func servicesFor(names ...string) ([]corev1.Service, []corev1.Endpoints) {
	var svcs []corev1.Service
	var eps []corev1.Endpoints
	for i, n := range names {
		meta := metav1.ObjectMeta{Namespace: "default", Name: n}
		svcs = append(svcs, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
		eps = append(eps, corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: fmt.Sprintf("10.0.0.%d", i+1)}}, Ports: []corev1.EndpointPort{{Port: 8080}}}}})
	}
	return svcs, eps
}

// routed is the Service a request goes to, "default" for the
// defaultBackend, "404" for none.
func routed(t *Table, host, path string) string {
	b, ok := t.Match(host, path)
	if !ok {
		return "404"
	}
	return strings.TrimPrefix(b.Service, "default/")
}

// The path table of the Kubernetes Ingress documentation ("Examples"
// under "Path types"), with a defaultBackend for what nothing matches.
func TestPathMatching(t *testing.T) {
	for _, tc := range []struct {
		paths []p
		path  string
		want  string
	}{
		{[]p{"Prefix:/=root"}, "/anything/at/all", "root"},
		{[]p{"Exact:/foo=foo"}, "/foo", "foo"},
		{[]p{"Exact:/foo=foo"}, "/bar", "default"},
		{[]p{"Exact:/foo=foo"}, "/foo/", "default"},
		{[]p{"Exact:/foo/=foo"}, "/foo", "default"},
		{[]p{"Prefix:/foo=foo"}, "/foo", "foo"},
		{[]p{"Prefix:/foo=foo"}, "/foo/", "foo"},
		{[]p{"Prefix:/foo/=foo"}, "/foo", "foo"},
		{[]p{"Prefix:/foo/=foo"}, "/foo/", "foo"},
		{[]p{"Prefix:/aaa/bb=bb"}, "/aaa/bbb", "default"},
		{[]p{"Prefix:/aaa/bbb=bbb"}, "/aaa/bbb", "bbb"},
		{[]p{"Prefix:/aaa/bbb/=bbb"}, "/aaa/bbb", "bbb"},
		{[]p{"Prefix:/aaa/bbb=bbb"}, "/aaa/bbb/", "bbb"},
		{[]p{"Prefix:/aaa/bbb=bbb"}, "/aaa/bbb/ccc", "bbb"},
		{[]p{"Prefix:/aaa/bbb=bbb"}, "/aaa/bbbxyz", "default"},
		{[]p{"Prefix:/=root", "Prefix:/aaa=aaa"}, "/aaa/ccc", "aaa"},
		{[]p{"Prefix:/=root", "Prefix:/aaa=aaa", "Prefix:/aaa/bbb=bbb"}, "/aaa/bbb", "bbb"},
		{[]p{"Prefix:/=root", "Prefix:/aaa=aaa", "Prefix:/aaa/bbb=bbb"}, "/ccc", "root"},
		{[]p{"Prefix:/aaa=aaa"}, "/ccc", "default"},
		{[]p{"Prefix:/foo=prefix", "Exact:/foo=exact"}, "/foo", "exact"},
		{[]p{"Exact:/foo=exact", "Prefix:/foo=prefix"}, "/foo/x", "prefix"},
		{[]p{"Impl:/foo=impl"}, "/foo/bar", "impl"},
		{[]p{"Impl:/foo=impl"}, "/foobar", "default"},
	} {
		ing := ingressOf("web", "", tc.paths...)
		def := serviceBackend("default")
		ing.Spec.DefaultBackend = &def
		svcs, eps := servicesFor("root", "foo", "bb", "bbb", "aaa", "prefix", "exact", "impl", "default")
		table := Build(Input{Ingresses: []networkingv1.Ingress{ing}, Services: svcs, Endpoints: eps})
		if got := routed(table, "example.com", tc.path); got != tc.want {
			t.Errorf("paths %v, request %s: routed to %s, want %s", tc.paths, tc.path, got, tc.want)
		}
		if len(table.Problems) > 0 {
			t.Errorf("paths %v: problems %v", tc.paths, table.Problems)
		}
	}
}

// Hosts: exact names first, then a wildcard one label deep, then the
// rules without a host; the longest path wins across Ingresses.
func TestHostMatching(t *testing.T) {
	ings := []networkingv1.Ingress{
		ingressOf("wild", "*.foo.com", "Prefix:/=wild"),
		ingressOf("bar", "bar.foo.com", "Prefix:/=bar"),
		ingressOf("any", "", "Prefix:/=any"),
		ingressOf("api", "api.example.com", "Prefix:/=api-root"),
		ingressOf("api-v2", "api.example.com", "Prefix:/v2=api-v2"),
	}
	svcs, eps := servicesFor("wild", "bar", "any", "api-root", "api-v2")
	table := Build(Input{Ingresses: ings, Services: svcs, Endpoints: eps})
	for _, tc := range []struct{ host, path, want string }{
		{"bar.foo.com", "/", "bar"},
		{"BAR.foo.com", "/", "bar"},
		{"bar.foo.com.", "/", "bar"},
		{"baz.foo.com", "/x", "wild"},
		{"baz.bar.foo.com", "/", "any"}, // a wildcard covers one label
		{"foo.com", "/", "any"},
		{"api.example.com", "/v2/users", "api-v2"},
		{"api.example.com", "/v1/users", "api-root"},
		{"other.example.com", "/", "any"},
	} {
		if got := routed(table, tc.host, tc.path); got != tc.want {
			t.Errorf("host %s path %s: routed to %s, want %s", tc.host, tc.path, got, tc.want)
		}
	}
}

// An Ingress is served when its class is berth's (built in, or an
// IngressClass with berth's controller), or it has none and no other
// class is the default.
func TestIngressClasses(t *testing.T) {
	class := func(name, controller string, isDefault bool) networkingv1.IngressClass {
		c := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if isDefault {
			c.Annotations = map[string]string{annotationDefaultClass: "true"}
		}
		return c
	}
	withClass := func(name, class string) networkingv1.Ingress {
		ing := ingressOf(name, name+".example.com", p("Prefix:/="+name))
		if class != "" {
			ing.Spec.IngressClassName = &class
		}
		return ing
	}
	legacy := withClass("legacy", "")
	legacy.Annotations = map[string]string{annotationLegacyClass: "nginx"}
	ings := []networkingv1.Ingress{withClass("none", ""), withClass("builtin", "berth"), withClass("mine", "mine"),
		withClass("nginx", "nginx"), legacy}
	for _, tc := range []struct {
		classes []networkingv1.IngressClass
		want    string
	}{
		{nil, "builtin none"},
		{[]networkingv1.IngressClass{class("mine", ControllerName, false)}, "builtin mine none"},
		{[]networkingv1.IngressClass{class("mine", ControllerName, false), class("nginx", "k8s.io/ingress-nginx", true)}, "builtin mine"},
		{[]networkingv1.IngressClass{class("mine", ControllerName, true), class("nginx", "k8s.io/ingress-nginx", true)}, "builtin mine none"},
	} {
		table := Build(Input{Ingresses: ings, Classes: tc.classes})
		var served []string
		for _, s := range table.Served {
			served = append(served, strings.TrimPrefix(s, "default/"))
		}
		if got := strings.Join(served, " "); got != tc.want {
			t.Errorf("classes %v: served %q, want %q", tc.classes, got, tc.want)
		}
	}
}

// A backend names its Service port by number or by name, and reaches
// that port's ready endpoints only; what does not resolve is a problem,
// and a missing Service answers as one without endpoints.
func TestBackends(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "default", Name: "web"}
	svc := corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "admin", Port: 9000}}}}
	ep := corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.3"}},
		Ports:             []corev1.EndpointPort{{Name: "http", Port: 8080}, {Name: "admin", Port: 9090}},
	}}}
	ing := ingressOf("web", "", "Prefix:/=web", "Prefix:/gone=gone", "Prefix:/noport=web")
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http"}
	ing.Spec.Rules[0].HTTP.Paths[2].Backend.Service.Port = networkingv1.ServiceBackendPort{Number: 81}
	admin := ingressOf("admin", "admin.example.com", "Prefix:/=web")
	admin.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Number: 9000}
	table := Build(Input{Ingresses: []networkingv1.Ingress{ing, admin}, Services: []corev1.Service{svc}, Endpoints: []corev1.Endpoints{ep}})

	b, _ := table.Match("example.com", "/")
	var picks []string
	for range 4 {
		addr, _ := b.Pick()
		picks = append(picks, addr)
	}
	if got := strings.Join(picks, " "); got != "10.0.0.1:8080 10.0.0.2:8080 10.0.0.1:8080 10.0.0.2:8080" {
		t.Errorf("port by name, round robin over ready endpoints: %s", got)
	}
	if b, _ := table.Match("admin.example.com", "/"); strings.Join(b.Addrs, " ") != "10.0.0.1:9090 10.0.0.2:9090" {
		t.Errorf("port by number: %v", b.Addrs)
	}
	if b, ok := table.Match("example.com", "/gone/x"); !ok || len(b.Addrs) != 0 {
		t.Errorf("a missing Service: %v, %v (want a backend without endpoints)", b, ok)
	}
	want := []string{
		"ingress default/web: spec.rules[0].http.paths[1]: service default/gone not found",
		"ingress default/web: spec.rules[0].http.paths[2]: service default/web has no port 81",
	}
	if strings.Join(table.Problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(table.Problems, "\n"), strings.Join(want, "\n"))
	}
}
