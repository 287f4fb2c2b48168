package ingress

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// attached decodes HTTPRoutes from YAML and attaches them with their own
// hostnames; each backendRef resolves to a Backend named after it.
func attached(t *testing.T, docs ...string) []AttachedRoute {
	var out []AttachedRoute
	for i, doc := range docs {
		var r gatewayv1.HTTPRoute
		if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
			t.Fatalf("route %d: %v", i, err)
		}
		if r.Namespace == "" {
			r.Namespace = "default"
		}
		if r.CreationTimestamp.IsZero() {
			r.CreationTimestamp = metav1.NewTime(time.Unix(1700000000, 0))
		}
		var hosts []string
		for _, h := range r.Spec.Hostnames {
			hosts = append(hosts, string(h))
		}
		out = append(out, AttachedRoute{Route: &r, Hostnames: hosts, Backends: func(ref gatewayv1.BackendObjectReference) *Backend {
			return &Backend{Service: string(ref.Name), Addrs: []string{"10.0.0.1:80"}}
		}})
	}
	return out
}

// routedTo is the backend a request goes to, or "404".
func routedTo(r *Router, method, host, target string, headers map[string]string) string {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	m, ok := r.Route(req, host)
	if !ok {
		return "404"
	}
	b, _, ok := m.backends.pick()
	if !ok || b == nil {
		return "500"
	}
	return b.Service
}

// HTTPRoutePathMatchOrder of the conformance suite: Exact first, then the
// longest prefix, whatever the order of the rules.
func TestHTTPRoutePathMatchOrder(t *testing.T) {
	r := NewRouter(attached(t, `
metadata: {name: path-matching-order}
spec:
  rules:
  - {matches: [{path: {type: Exact, value: /match}}], backendRefs: [{name: v1, port: 8080}]}
  - {matches: [{path: {type: Exact, value: /match/exact}}], backendRefs: [{name: v2, port: 8080}]}
  - {matches: [{path: {type: Exact, value: /match/exact/one}}], backendRefs: [{name: v3, port: 8080}]}
  - {matches: [{path: {type: PathPrefix, value: /match/}}], backendRefs: [{name: v3, port: 8080}]}
  - {matches: [{path: {type: PathPrefix, value: /match/prefix/}}], backendRefs: [{name: v1, port: 8080}]}
  - {matches: [{path: {type: PathPrefix, value: /match/prefix/one}}], backendRefs: [{name: v2, port: 8080}]}
`))
	for path, want := range map[string]string{
		"/match/exact/one": "v3", "/match/exact": "v2", "/match": "v1",
		"/match/prefix/one/any": "v2", "/match/prefix/any": "v1", "/match/any": "v3", "/matchless": "404",
	} {
		if got := routedTo(r, "GET", "example.com", path, nil); got != want {
			t.Errorf("%s: routed to %s, want %s", path, got, want)
		}
	}
}

// HTTPRouteMatchingAcrossRoutes of the conformance suite: the longest
// prefix and then more header matches win across routes, per host.
func TestHTTPRouteMatchingAcrossRoutes(t *testing.T) {
	r := NewRouter(attached(t, `
metadata: {name: matching-part1}
spec:
  hostnames: [example.com, example.net]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}, {headers: [{name: version, value: one}]}]
    backendRefs: [{name: v1, port: 8080}]
`, `
metadata: {name: matching-part2}
spec:
  hostnames: [example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2}}, {headers: [{name: version, value: two}]}]
    backendRefs: [{name: v2, port: 8080}]
`))
	for _, tc := range []struct {
		host, path, version, want string
	}{
		{"example.com", "/", "", "v1"},
		{"example.com", "/example", "", "v1"},
		{"example.net", "/example", "", "v1"},
		{"example.com", "/example", "one", "v1"},
		{"example.com", "/v2", "", "v2"},
		{"example.net", "/v2", "", "v1"},
		{"example.com", "/v2/example", "", "v2"},
		{"example.com", "/", "two", "v2"},
		{"example.org", "/", "", "404"},
	} {
		headers := map[string]string{}
		if tc.version != "" {
			headers["Version"] = tc.version
		}
		if got := routedTo(r, "GET", tc.host, tc.path, headers); got != tc.want {
			t.Errorf("%s%s version %q: routed to %s, want %s", tc.host, tc.path, tc.version, got, tc.want)
		}
	}
}

// Methods, query parameters, regular expressions and wildcard hosts
// (which, unlike an Ingress's, cover any number of labels).
func TestHTTPRouteMatches(t *testing.T) {
	r := NewRouter(attached(t, `
metadata: {name: api}
spec:
  hostnames: ["*.example.com", api.example.com]
  rules:
  - {matches: [{method: POST}], backendRefs: [{name: writes, port: 80}]}
  - {matches: [{queryParams: [{name: debug, value: "1"}]}], backendRefs: [{name: debug, port: 80}]}
  - {matches: [{path: {type: RegularExpression, value: "/users/[0-9]+"}}], backendRefs: [{name: users, port: 80}]}
  - {matches: [{headers: [{name: x-canary, type: RegularExpression, value: "^(yes|true)$"}]}], backendRefs: [{name: canary, port: 80}]}
  - backendRefs: [{name: rest, port: 80}]
`, `
metadata: {name: deep}
spec:
  hostnames: ["*.deep.example.com"]
  rules:
  - backendRefs: [{name: deep, port: 80}]
`))
	for _, tc := range []struct {
		method, host, target, canary, want string
	}{
		{"POST", "api.example.com", "/anything", "", "writes"},
		{"GET", "api.example.com", "/x?debug=1", "", "debug"},
		{"GET", "api.example.com", "/users/42", "", "users"},
		{"GET", "api.example.com", "/users/bob", "", "rest"},
		{"GET", "a.b.example.com", "/", "true", "canary"},
		{"GET", "a.b.example.com", "/", "maybe", "rest"},
		{"GET", "x.deep.example.com", "/", "", "deep"},
		{"GET", "example.com", "/", "", "404"},
	} {
		headers := map[string]string{}
		if tc.canary != "" {
			headers["X-Canary"] = tc.canary
		}
		if got := routedTo(r, tc.method, tc.host, tc.target, headers); got != tc.want {
			t.Errorf("%s %s%s: routed to %s, want %s", tc.method, tc.host, tc.target, got, tc.want)
		}
	}
}

// Weighted backendRefs take exact shares: 80/20 over 1,000 requests, and
// a ref that does not resolve keeps its share (as 500s).
func TestHTTPRouteWeights(t *testing.T) {
	routes := attached(t, `
metadata: {name: split}
spec:
  rules:
  - backendRefs: [{name: stable, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}, {name: unused, port: 80, weight: 0}]
`)
	r := NewRouter(routes)
	counts := map[string]int{}
	for range 1000 {
		counts[routedTo(r, "GET", "example.com", "/", nil)]++
	}
	if counts["stable"] != 800 || counts["canary"] != 200 || len(counts) != 2 {
		t.Errorf("1,000 requests went %v, want stable 800, canary 200", counts)
	}
	routes[0].Backends = func(ref gatewayv1.BackendObjectReference) *Backend {
		if ref.Name == "canary" {
			return nil
		}
		return &Backend{Service: string(ref.Name)}
	}
	r = NewRouter(routes)
	counts = map[string]int{}
	for range 100 {
		counts[routedTo(r, "GET", "example.com", "/", nil)]++
	}
	if counts["stable"] != 80 || counts["500"] != 20 {
		t.Errorf("with the canary unresolved, 100 requests went %v, want stable 80, 500 20", counts)
	}
}

// HTTPRouteRewritePath of the conformance suite, and the paths of
// HTTPRouteRedirectPath.
func TestHTTPRoutePathModifiers(t *testing.T) {
	prefix := func(v string) *routeMatch {
		return &routeMatch{path: gatewayv1.PathMatchPathPrefix, value: strings.TrimRight(v, "/")}
	}
	replacePrefix := func(v string) *gatewayv1.HTTPPathModifier {
		return &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: &v}
	}
	replaceFull := func(v string) *gatewayv1.HTTPPathModifier {
		return &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: &v}
	}
	for _, tc := range []struct {
		match *routeMatch
		mod   *gatewayv1.HTTPPathModifier
		path  string
		want  string
	}{
		{prefix("/prefix/one"), replacePrefix("/one"), "/prefix/one/two", "/one/two"},
		{prefix("/strip-prefix"), replacePrefix("/"), "/strip-prefix/three", "/three"},
		{prefix("/strip-prefix"), replacePrefix("/"), "/strip-prefix", "/"},
		{prefix("/full/one"), replaceFull("/one"), "/full/one/two", "/one"},
		{prefix("/prefix/rewrite-path-and-modify-headers"), replacePrefix("/prefix"), "/prefix/rewrite-path-and-modify-headers/one", "/prefix/one"},
		{prefix("/original-prefix"), replacePrefix("/replacement-prefix"), "/original-prefix/lemon", "/replacement-prefix/lemon"},
		{prefix("/full"), replaceFull("/full-path-replacement"), "/full/path/original", "/full-path-replacement"},
	} {
		if got := modifiedPath(tc.path, tc.match, tc.mod); got != tc.want {
			t.Errorf("%s under %s: %s, want %s", tc.path, tc.match.value, got, tc.want)
		}
	}
}

// Redirects (HTTPRouteRedirectHostAndStatus, -Port, -Scheme): what the
// filter does not set comes from the request; a new scheme takes its
// well-known port, which the Location leaves out.
func TestHTTPRouteRedirects(t *testing.T) {
	m := &routeMatch{path: gatewayv1.PathMatchPathPrefix, value: "/path-and-host"}
	for _, tc := range []struct {
		filter gatewayv1.HTTPRequestRedirectFilter
		code   int
		want   string
	}{
		{gatewayv1.HTTPRequestRedirectFilter{Hostname: ptr.To(gatewayv1.PreciseHostname("example.org"))}, 302, "http://example.org:8080/path-and-host/x?a=b"},
		{gatewayv1.HTTPRequestRedirectFilter{StatusCode: ptr.To(301)}, 301, "http://example.com:8080/path-and-host/x?a=b"},
		{gatewayv1.HTTPRequestRedirectFilter{Port: ptr.To(gatewayv1.PortNumber(8443))}, 302, "http://example.com:8443/path-and-host/x?a=b"},
		{gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https")}, 302, "https://example.com/path-and-host/x?a=b"},
		{gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https"), Port: ptr.To(gatewayv1.PortNumber(8443))}, 302, "https://example.com:8443/path-and-host/x?a=b"},
		{gatewayv1.HTTPRequestRedirectFilter{Port: ptr.To(gatewayv1.PortNumber(80))}, 302, "http://example.com/path-and-host/x?a=b"},
	} {
		req := httptest.NewRequest("GET", "http://example.com:8080/path-and-host/x?a=b", nil)
		w := httptest.NewRecorder()
		redirect(w, req, m, &tc.filter, "http", 8080)
		if w.Code != tc.code || w.Header().Get("Location") != tc.want {
			t.Errorf("%+v: %d %s, want %d %s", tc.filter, w.Code, w.Header().Get("Location"), tc.code, tc.want)
		}
	}
}

// RequestHeaderModifier: set overwrites, add appends, remove deletes.
func TestHeaderModifier(t *testing.T) {
	h := http.Header{"X-Header-Set": {"old"}, "X-Header-Add-Append": {"one"}, "X-Header-Remove": {"gone"}}
	modifyHeaders(h, &gatewayv1.HTTPHeaderFilter{
		Set:    []gatewayv1.HTTPHeader{{Name: "X-Header-Set", Value: "set-overwrites-values"}},
		Add:    []gatewayv1.HTTPHeader{{Name: "X-Header-Add", Value: "header-val-1"}, {Name: "X-Header-Add-Append", Value: "header-val-2"}},
		Remove: []string{"X-Header-Remove"},
	})
	want := http.Header{"X-Header-Set": {"set-overwrites-values"}, "X-Header-Add": {"header-val-1"}, "X-Header-Add-Append": {"one", "header-val-2"}}
	if len(h) != len(want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if strings.Join(h.Values(k), ",") != strings.Join(v, ",") {
			t.Errorf("%s: %v, want %v", k, h.Values(k), v)
		}
	}
}

// Through the proxy, on loopback: a split by weight lands 80/20, a
// rewrite reaches the backend, a response header is added, a redirect
// answers without a backend.
func TestRouteHandler(t *testing.T) {
	backends := map[string]*Backend{}
	for _, name := range []string{"stable", "canary"} {
		ip, port := backendServer(t, name)
		backends[name] = &Backend{Service: "default/" + name, Port: "80", Addrs: []string{net.JoinHostPort(ip, strconv.Itoa(int(port)))}}
	}
	routes := attached(t, `
metadata: {name: web}
spec:
  hostnames: [web.example.com]
  rules:
  - backendRefs: [{name: stable, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - {type: URLRewrite, urlRewrite: {hostname: internal.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: X-Rewritten, value: "yes"}]}}
    backendRefs: [{name: stable, port: 80}]
  - matches: [{path: {type: Exact, value: /moved}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
`)
	routes[0].Backends = func(ref gatewayv1.BackendObjectReference) *Backend { return backends[string(ref.Name)] }
	p := NewProxy(slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := p.Server(slog.New(slog.NewTextHandler(io.Discard, nil)))
	addr := serve(t, srv, nil)
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	srv.Handler = p.RouteHandler(NewRouter(routes), "http", port)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	counts := map[string]int{}
	for range 1000 {
		_, body := get(t, client, "http", addr, "web.example.com", "/")
		name, _, _ := strings.Cut(body, " ")
		counts[name]++
	}
	if counts["stable"] != 800 || counts["canary"] != 200 {
		t.Errorf("1,000 requests through the proxy went %v, want stable 800, canary 200", counts)
	}

	req, _ := http.NewRequest("GET", "http://"+addr+"/old/page", nil)
	req.Host = "web.example.com"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "stable host=internal.example.com path=/new/page") || resp.Header.Get("X-Rewritten") != "yes" {
		t.Errorf("a rewritten request: %q, X-Rewritten %q", body, resp.Header.Get("X-Rewritten"))
	}

	req, _ = http.NewRequest("GET", "http://"+addr+"/moved?x=1", nil)
	req.Host = "web.example.com"
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://web.example.com/moved?x=1" {
		t.Errorf("a redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, body := get(t, client, "http", addr, "other.example.com", "/"); code != http.StatusNotFound || !strings.Contains(body, "no HTTPRoute matches") {
		t.Errorf("an unknown host: %d %q", code, body)
	}
}
