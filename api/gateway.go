package api

// The Gateway API controller berth is, and its built-in GatewayClass.
const (
	GatewayController   = "berth.dev/gateway"
	GatewayClassBuiltin = "berth"
)

// GatewayListener is a Gateway listener berth serves, with the HTTPRoutes
// attached to it: the master works them out (reconciler.Gateways) and
// sends them to the agents with the service table.
type GatewayListener struct {
	// Gateway is "namespace/name"; Name the listener's.
	Gateway string `json:"gateway"`
	Name    string `json:"name"`
	Port    int32  `json:"port"`
	// Protocol is HTTP or HTTPS.
	Protocol string `json:"protocol"`
	Hostname string `json:"hostname,omitempty"`
	// Certificates are the kubernetes.io/tls Secrets of an HTTPS
	// listener, as "namespace/name".
	Certificates []string        `json:"certificates,omitempty"`
	Routes       []AttachedRoute `json:"routes,omitempty"`
}

// AttachedRoute is an HTTPRoute attached to a listener.
type AttachedRoute struct {
	// Route is the HTTPRoute's "namespace/name".
	Route string `json:"route"`
	// Hostnames are the listener's and the route's in common (none:
	// every host).
	Hostnames []string `json:"hostnames,omitempty"`
	// Denied are the Services ("namespace/name") the route's backendRefs
	// name but may not use (another namespace without a ReferenceGrant):
	// their share of requests gets 500.
	Denied []string `json:"denied,omitempty"`
}
