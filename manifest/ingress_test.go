package manifest

import (
	"strings"
	"testing"
)

// ingressApp is two Services, a TLS Secret, an IngressClass of berth's
// and an Ingress routing two hosts and two paths.
const ingressApp = `apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: blog}
spec:
  selector: {app: blog}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==, tls.key: a2V5}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: berth
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: berth.dev/ingress}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: berth
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  defaultBackend: {service: {name: blog, port: {number: 8080}}}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: shop, port: {name: http}}}}
      - {path: /blog, pathType: Exact, backend: {service: {name: blog, port: {number: 8080}}}}
  - host: "*.blog.example.com"
    http:
      paths:
      - {path: /, pathType: ImplementationSpecific, backend: {service: {name: blog, port: {number: 8080}}}}
`

func TestIngressDecodes(t *testing.T) {
	set := decodeOne(t, ingressApp)
	if len(set.Ingresses) != 1 || len(set.IngressClasses) != 1 {
		t.Fatalf("%d Ingresses and %d IngressClasses, want 1 and 1", len(set.Ingresses), len(set.IngressClasses))
	}
	if got := strings.Join(set.Keys(), " "); !strings.Contains(got, "Ingress/default/web") || !strings.Contains(got, "IngressClass/berth") {
		t.Errorf("keys %s", got)
	}
}

// Bad Ingresses are refused with the field and the reason, one line
// each, as the apiserver would, and what they name must be in the commit.
func TestIngressErrors(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"pathType: Exact", "pathType: Regex", `spec.rules[0].http.paths[1].pathType: unsupported value "Regex"`},
		{"{path: /blog, pathType: Exact,", "{path: blog, pathType: Exact,", `spec.rules[0].http.paths[1].path: invalid value "blog": must be an absolute path`},
		{"{path: /blog, pathType: Exact,", "{path: /a//b, pathType: Exact,", `spec.rules[0].http.paths[1].path: invalid value "/a//b": must not contain '//'`},
		{"{path: /blog, pathType: Exact,", "{path: /blog,", `spec.rules[0].http.paths[1].pathType: required`},
		{"host: shop.example.com", "host: 10.0.0.1", `spec.rules[0].host: invalid value "10.0.0.1": must be a DNS name, not an IP address`},
		{"host: \"*.blog.example.com\"", "host: \"a.*.example.com\"", `spec.rules[1].host: invalid value "a.*.example.com"`},
		{"port: {name: http}", "port: {name: http, number: 80}", "spec.rules[0].http.paths[0].backend.service.port: cannot set both port name & port number"},
		{"port: {name: http}", "port: {name: web}", "spec.rules[0].http.paths[0].backend.service.port: Service default/shop has no port web"},
		{"{service: {name: shop,", "{service: {name: shops,", "spec.rules[0].http.paths[0].backend.service.name: Service default/shops is not in the commit"},
		{"secretName: shop-tls", "secretName: nope", "spec.tls[0].secretName: Secret default/nope is not in the commit"},
		{"type: kubernetes.io/tls\n", "", `spec.tls[0].secretName: Secret default/shop-tls has type "Opaque": it takes type kubernetes.io/tls`},
		{"controller: berth.dev/ingress", "controller: berth", `IngressClass/berth: spec.controller: invalid value "berth"`},
	} {
		expectMutationError(t, ingressApp, tc.from, tc.to, tc.want)
	}
}

// expectMutationError decodes a fixture with one string replaced and
// checks that the errors name want.
func expectMutationError(t *testing.T, fixture, from, to, want string) {
	t.Helper()
	if !strings.Contains(fixture, from) {
		t.Fatalf("the fixture has no %q", from)
	}
	_, errs := Decode([]File{{Name: "app.yaml", Data: []byte(strings.Replace(fixture, from, to, 1))}})
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	if joined := strings.Join(all, "\n"); !strings.Contains(joined, want) {
		t.Errorf("%q -> %q: errors do not contain %q:\n%s", from, to, want, joined)
	}
}
