package ingress

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// The scenarios of kubernetes-sigs/ingress-controller-conformance
// (features/path_rules, host_rules and default_backend), each with the
// Ingress of its feature's background, as table tests of the routing
// table: the Service a request reaches, or 404. The TLS scenario is
// TestProxyTLSBySNI; that the request's path and host reach the backend
// unchanged is TestProxyRoutesHostsAndPaths.
func TestIngressControllerConformance(t *testing.T) {
	paths := []networkingv1.Ingress{
		ingressOf("exact", "exact-path-rules", "Exact:/foo=foo-exact"),
		ingressOf("prefix", "prefix-path-rules", "Prefix:/foo=foo-prefix", "Prefix:/aaa/bbb=aaa-slash-bbb-prefix", "Prefix:/aaa=aaa-prefix"),
		ingressOf("mixed", "mixed-path-rules", "Prefix:/foo=foo-prefix", "Exact:/foo=foo-exact"),
		ingressOf("trailing", "trailing-slash-path-rules", "Prefix:/aaa/bbb/=aaa-slash-bbb-slash-prefix", "Exact:/foo/=foo-slash-exact"),
	}
	hosts := []networkingv1.Ingress{
		ingressOf("wildcard", "*.foo.com", "Prefix:/=wildcard-foo-com"),
		ingressOf("host", "foo.bar.com", "Prefix:/=foo-bar-com"),
	}
	def := ingressOf("default-backend", "")
	def.Spec.Rules = nil
	echo := serviceBackend("echo-service")
	def.Spec.DefaultBackend = &echo
	svcs, eps := servicesFor("foo-exact", "foo-prefix", "aaa-slash-bbb-prefix", "aaa-prefix", "aaa-slash-bbb-slash-prefix",
		"foo-slash-exact", "wildcard-foo-com", "foo-bar-com", "echo-service")
	for _, feature := range []struct {
		name      string
		ingresses []networkingv1.Ingress
		scenarios []struct{ scenario, host, path, want string }
	}{
		{"path rules", paths, []struct{ scenario, host, path, want string }{
			{"exact /foo matches request /foo", "exact-path-rules", "/foo", "foo-exact"},
			{"exact /foo does not match request /foo/", "exact-path-rules", "/foo/", "404"},
			{"exact /foo does not match request /FOO", "exact-path-rules", "/FOO", "404"},
			{"exact /foo does not match request /bar", "exact-path-rules", "/bar", "404"},
			{"prefix /foo matches request /foo", "prefix-path-rules", "/foo", "foo-prefix"},
			{"prefix /foo matches request /foo/", "prefix-path-rules", "/foo/", "foo-prefix"},
			{"prefix /foo does not match request /FOO", "prefix-path-rules", "/FOO", "404"},
			{"prefix /aaa/bbb matches request /aaa/bbb", "prefix-path-rules", "/aaa/bbb", "aaa-slash-bbb-prefix"},
			{"prefix /aaa/bbb matches request /aaa/bbb/ccc", "prefix-path-rules", "/aaa/bbb/ccc", "aaa-slash-bbb-prefix"},
			{"prefix /aaa matches request /aaa/ccc", "prefix-path-rules", "/aaa/ccc", "aaa-prefix"},
			{"prefix /aaa does not match request /aaaccc", "prefix-path-rules", "/aaaccc", "404"},
			{"mixed: exact /foo is preferred for request /foo", "mixed-path-rules", "/foo", "foo-exact"},
			{"prefix /aaa/bbb/ matches request /aaa/bbb", "trailing-slash-path-rules", "/aaa/bbb", "aaa-slash-bbb-slash-prefix"},
			{"prefix /aaa/bbb/ matches request /aaa/bbb/", "trailing-slash-path-rules", "/aaa/bbb/", "aaa-slash-bbb-slash-prefix"},
			{"exact /foo/ does not match request /foo", "trailing-slash-path-rules", "/foo", "404"},
		}},
		{"host rules", hosts, []struct{ scenario, host, path, want string }{
			{"host foo.bar.com matches request foo.bar.com", "foo.bar.com", "/", "foo-bar-com"},
			{"host foo.bar.com does not match request subdomain.bar.com", "subdomain.bar.com", "/", "404"},
			{"wildcard *.foo.com matches bar.foo.com", "bar.foo.com", "/", "wildcard-foo-com"},
			{"a wildcard covers one DNS label only: baz.bar.foo.com", "baz.bar.foo.com", "/", "404"},
			{"a wildcard covers one DNS label: not foo.com", "foo.com", "/", "404"},
		}},
		{"default backend", []networkingv1.Ingress{def}, []struct{ scenario, host, path, want string }{
			{"GET my-host /", "my-host", "/", "echo-service"},
			{"GET my-host /sub-path", "my-host", "/sub-path", "echo-service"},
			{"POST some-host /", "some-host", "/", "echo-service"},
			{"PUT (no host) /resource", "", "/resource", "echo-service"},
		}},
	} {
		table := Build(Input{Ingresses: feature.ingresses, Services: svcs, Endpoints: eps})
		if len(table.Problems) > 0 {
			t.Errorf("%s: problems %v", feature.name, table.Problems)
		}
		for _, s := range feature.scenarios {
			if got := routed(table, s.host, s.path); got != s.want {
				t.Errorf("%s: %s: routed to %s, want %s", feature.name, s.scenario, got, s.want)
			}
		}
	}
}
