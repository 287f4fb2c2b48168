package reconciler

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/api"
)

// gatewaySet decodes the Gateway API objects of a test (YAML documents
// of one kind each) into an ObjectSet with Services web (port 80) in
// default and in other, and a TLS Secret edge-tls.
func gatewaySet(t *testing.T, docs ...string) *api.ObjectSet {
	d := &api.ObjectSet{}
	for _, ns := range []string{"default", "other"} {
		d.Services = append(d.Services, corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
	}
	d.Secrets = []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "edge-tls"}, Type: corev1.SecretTypeTLS}}
	d.Namespaces = []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{"team": "a"}}}}
	for _, doc := range docs {
		var tm metav1.TypeMeta
		yaml.Unmarshal([]byte(doc), &tm)
		switch tm.Kind {
		case "Gateway":
			appendDoc(t, doc, &d.Gateways)
		case "HTTPRoute":
			appendDoc(t, doc, &d.HTTPRoutes)
		case "ReferenceGrant":
			appendDoc(t, doc, &d.ReferenceGrants)
		case "GatewayClass":
			appendDoc(t, doc, &d.GatewayClasses)
		default:
			t.Fatalf("no kind berth's gateway tests take: %q", tm.Kind)
		}
	}
	return d
}

// appendDoc decodes a YAML document strictly and appends it to list.
func appendDoc[T any](t *testing.T, doc string, list *[]T) {
	var o T
	if err := yaml.UnmarshalStrict([]byte(doc), &o); err != nil {
		t.Fatal(err)
	}
	*list = append(*list, o)
}

const edgeGateway = `kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: berth
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: "*.example.com", tls: {certificateRefs: [{name: edge-tls}]}, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}}
  - {name: clash, port: 443, protocol: HTTP}
`

// gwCondition finds a condition's status and reason.
func gwCondition(cs []metav1.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return "none"
}

func TestGatewayAttachment(t *testing.T) {
	d := gatewaySet(t, edgeGateway, `kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [web.example.com, web.example.org]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`, `kind: HTTPRoute
metadata: {name: team-a, namespace: other}
spec:
  parentRefs: [{name: edge, namespace: default}]
  rules: [{backendRefs: [{name: web, port: 80}, {name: web, namespace: default, port: 80}]}]
`, `kind: HTTPRoute
metadata: {name: lost, namespace: default}
spec:
  parentRefs: [{name: nowhere}]
  rules: [{backendRefs: [{name: web, port: 81}]}]
`)
	v := Gateways(d, []string{"192.0.2.1"}, metav1.Time{})
	var served []string
	for _, l := range v.Listeners {
		var routes []string
		for _, r := range l.Routes {
			routes = append(routes, r.Route+"="+strings.Join(r.Hostnames, ",")+" denied="+strings.Join(r.Denied, ","))
		}
		served = append(served, l.Name+":"+strings.Join(routes, ";"))
	}
	want := []string{
		// The HTTP listener takes routes of its own namespace, for every
		// host they name.
		"http:default/web=web.example.com,web.example.org denied=",
		// The HTTPS one, of namespaces labelled team=a, for its wildcard.
		"https:other/team-a=*.example.com denied=default/web",
	}
	if strings.Join(served, "\n") != strings.Join(want, "\n") {
		t.Errorf("served listeners:\n%s\nwant:\n%s", strings.Join(served, "\n"), strings.Join(want, "\n"))
	}
	gw := v.Gateways[0]
	if got := gwCondition(gw.Status.Conditions, "Programmed"); got != "True/Programmed" || gw.Status.Addresses[0].Value != "192.0.2.1" {
		t.Errorf("gateway: Programmed %s, addresses %v", got, gw.Status.Addresses)
	}
	if got := gwCondition(gw.Status.Listeners[2].Conditions, "Conflicted"); got != "True/ProtocolConflict" {
		t.Errorf("an HTTP listener on the HTTPS port: Conflicted %s", got)
	}
	if got := gwCondition(gw.Status.Listeners[0].Conditions, "Conflicted"); got != "False/NoConflicts" {
		t.Errorf("a listener alone on its port: Conflicted %s", got)
	}
	if gw.Status.Listeners[0].AttachedRoutes != 1 || gw.Status.Listeners[1].AttachedRoutes != 1 {
		t.Errorf("attached routes: %d, %d", gw.Status.Listeners[0].AttachedRoutes, gw.Status.Listeners[1].AttachedRoutes)
	}
	parents := map[string]string{}
	for _, r := range v.Routes {
		p := r.Status.Parents[0]
		parents[r.Name] = gwCondition(p.Conditions, "Accepted") + " " + gwCondition(p.Conditions, "ResolvedRefs")
	}
	for name, want := range map[string]string{
		"web":    "True/Accepted True/ResolvedRefs",
		"team-a": "True/Accepted False/RefNotPermitted",
		"lost":   "False/NoMatchingParent False/BackendNotFound",
	} {
		if parents[name] != want {
			t.Errorf("route %s: %s, want %s", name, parents[name], want)
		}
	}

	// A ReferenceGrant lets team-a's route use the default Service.
	d = gatewaySet(t, edgeGateway, `kind: HTTPRoute
metadata: {name: team-a, namespace: other}
spec:
  parentRefs: [{name: edge, namespace: default, sectionName: https}]
  hostnames: [shop.example.com, shop.example.org]
  rules: [{backendRefs: [{name: web, namespace: default, port: 80}]}]
`, `kind: ReferenceGrant
metadata: {name: from-other, namespace: default}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: other}]
  to: [{group: "", kind: Service}]
`)
	v = Gateways(d, nil, metav1.Time{})
	if len(v.Listeners) != 2 || len(v.Listeners[1].Routes) != 1 || strings.Join(v.Listeners[1].Routes[0].Hostnames, ",") != "shop.example.com" ||
		len(v.Listeners[1].Routes[0].Denied) != 0 || len(v.Listeners[0].Routes) != 0 {
		t.Errorf("with a grant, by sectionName: %+v", v.Listeners)
	}
	if got := gwCondition(v.Gateways[0].Status.Conditions, "Programmed"); got != "False/AddressNotAssigned" {
		t.Errorf("no Ready node: Programmed %s", got)
	}
}

func TestHostnameIntersection(t *testing.T) {
	for _, tc := range []struct {
		listener string
		route    []gatewayv1.Hostname
		want     string
		ok       bool
	}{
		{"", nil, "", true},
		{"*.example.com", nil, "*.example.com", true},
		{"", []gatewayv1.Hostname{"a.example.com"}, "a.example.com", true},
		{"*.example.com", []gatewayv1.Hostname{"a.b.example.com", "example.com", "x.org"}, "a.b.example.com", true},
		{"a.example.com", []gatewayv1.Hostname{"*.example.com"}, "a.example.com", true},
		{"*.example.com", []gatewayv1.Hostname{"*.foo.example.com"}, "*.foo.example.com", true},
		{"a.example.com", []gatewayv1.Hostname{"b.example.com"}, "", false},
	} {
		got, ok := intersectHostnames(tc.listener, tc.route)
		if strings.Join(got, ",") != tc.want || ok != tc.ok {
			t.Errorf("%q and %v: %v %v, want %q %v", tc.listener, tc.route, got, ok, tc.want, tc.ok)
		}
	}
}

// Two listeners of one Gateway with the same port, protocol and hostname
// are both Conflicted (HostnameConflict) and not served; another
// hostname on the port is.
func TestGatewayHostnameConflict(t *testing.T) {
	v := Gateways(gatewaySet(t, `kind: Gateway
metadata: {name: twice, namespace: default}
spec:
  gatewayClassName: berth
  listeners:
  - {name: a, port: 8080, protocol: HTTP, hostname: a.example.com}
  - {name: b, port: 8080, protocol: HTTP, hostname: a.example.com}
  - {name: c, port: 8080, protocol: HTTP, hostname: c.example.com}
`), []string{"192.0.2.1"}, metav1.Time{})
	var got []string
	for _, st := range v.Gateways[0].Status.Listeners {
		got = append(got, string(st.Name)+"="+gwCondition(st.Conditions, "Conflicted"))
	}
	if want := "a=True/HostnameConflict b=True/HostnameConflict c=False/NoConflicts"; strings.Join(got, " ") != want {
		t.Errorf("listeners: %s, want %s", strings.Join(got, " "), want)
	}
	if len(v.Listeners) != 1 || v.Listeners[0].Name != "c" {
		t.Errorf("served listeners: %+v", v.Listeners)
	}
}
