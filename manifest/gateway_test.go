package manifest

import (
	"testing"
)

// gatewayApp is a Gateway of berth's class with an HTTP and an HTTPS
// listener, a route splitting 80/20 and a ReferenceGrant.
const gatewayApp = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: berth}
spec: {controllerName: berth.dev/gateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: berth
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: "*.example.com"
    tls: {mode: Terminate, certificateRefs: [{name: edge-tls}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: edge}]
  hostnames: [web.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: stable, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}]
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 301}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: from-web}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service}]
`

func TestGatewayKindsDecode(t *testing.T) {
	set := decodeOne(t, gatewayApp)
	if len(set.GatewayClasses) != 1 || len(set.Gateways) != 1 || len(set.HTTPRoutes) != 1 || len(set.ReferenceGrants) != 1 {
		t.Fatalf("decoded %d GatewayClasses, %d Gateways, %d HTTPRoutes, %d ReferenceGrants", len(set.GatewayClasses), len(set.Gateways),
			len(set.HTTPRoutes), len(set.ReferenceGrants))
	}
}

func TestGatewayErrors(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"protocol: HTTP,", "protocol: TCP,", `spec.listeners[0].protocol: unsupported value "TCP"`},
		{"{name: http, port: 80,", "{name: http, port: 0,", "spec.listeners[0].port: invalid value 0"},
		{"{name: http, port: 80,", "{name: https, port: 80,", `spec.listeners[1].name: duplicate listener name "https"`},
		{"    tls: {mode: Terminate, certificateRefs: [{name: edge-tls}]}\n", "", "spec.listeners[1].tls.certificateRefs: required for protocol HTTPS"},
		{"from: All", "from: Elsewhere", `spec.listeners[0].allowedRoutes.namespaces.from: unsupported value "Elsewhere"`},
		{"{type: PathPrefix, value: /}", "{type: RegularExpression, value: \"(\"}", `spec.rules[0].matches[0].path.value: invalid regular expression "("`},
		{"{type: Exact, value: /old}", "{type: Exact, value: old}", `spec.rules[1].matches[0].path.value: invalid value "old": must be an absolute path`},
		{"statusCode: 301", "statusCode: 307", "spec.rules[1].filters[0].requestRedirect.statusCode: unsupported value 307"},
		{"type: RequestRedirect, requestRedirect", "type: RequestMirror, requestRedirect", `spec.rules[1].filters[0].type: unsupported value "RequestMirror"`},
		{"{name: canary, port: 80, weight: 20}", "{name: canary, weight: 20}", "spec.rules[0].backendRefs[1].port: required for a Service"},
		{"replaceFullPath: /new", "replacePrefixMatch: /new", `spec.rules[1].filters[0].requestRedirect.path: type "ReplaceFullPath" needs replaceFullPath`},
		{"controllerName: berth.dev/gateway", "controllerName: berth", `GatewayClass/berth: spec.controllerName: invalid value "berth"`},
	} {
		expectMutationError(t, gatewayApp, tc.from, tc.to, tc.want)
	}
}
