package reconciler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/berth-dev/berth/api"
)

// GatewayView is the Gateway API as berth serves it: the listeners the
// agents serve with their attached routes, and every object of berth's
// classes with the status the specification defines.
type GatewayView struct {
	Listeners []api.GatewayListener
	Classes   []gatewayv1.GatewayClass
	Gateways  []gatewayv1.Gateway
	Routes    []gatewayv1.HTTPRoute
}

// Gateways works out which listeners berth serves and which HTTPRoutes
// attach to them, with the status of each object, from the live
// revision's objects and the nodes' addresses (where the Gateways
// answer). Conditions carry the time at (the live commit's), so they
// change only when the revision or the addresses do.
func Gateways(d *api.ObjectSet, addrs []string, at metav1.Time) GatewayView {
	if d == nil {
		return GatewayView{}
	}
	g := &gatewayPass{d: d, at: at, classes: map[string]bool{}, listeners: map[string][]*servedListener{}, ports: map[int32]string{}}
	v := GatewayView{Classes: g.gatewayClasses()}
	for _, gw := range sortedByAge(d.Gateways) {
		if g.classes[string(gw.Spec.GatewayClassName)] {
			v.Gateways = append(v.Gateways, g.gateway(gw, addrs))
		}
	}
	for _, r := range sortedByAge(d.HTTPRoutes) {
		if route, ok := g.route(r); ok {
			v.Routes = append(v.Routes, route)
		}
	}
	for i := range v.Gateways {
		g.countAttached(&v.Gateways[i])
	}
	for _, gw := range v.Gateways {
		for _, l := range g.listeners[key(gw.Namespace, gw.Name)] {
			if l.served {
				v.Listeners = append(v.Listeners, l.GatewayListener)
			}
		}
	}
	return v
}

// gatewayPass holds what one computation has found so far.
type gatewayPass struct {
	d         *api.ObjectSet
	at        metav1.Time
	classes   map[string]bool              // berth's GatewayClasses
	listeners map[string][]*servedListener // by Gateway
	ports     map[int32]string             // the protocol that took each port
}

// servedListener is a listener with what routes need of it.
type servedListener struct {
	api.GatewayListener
	spec   gatewayv1.Listener
	served bool
}

func key(ns, name string) string { return ns + "/" + name }

// sortedByAge copies objects in the specification's order of precedence:
// the oldest first, then by namespace/name.
func sortedByAge[T any, P interface {
	*T
	metav1.Object
}](items []T) []T {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b T) int {
		pa, pb := P(&a), P(&b)
		ta, tb := pa.GetCreationTimestamp(), pb.GetCreationTimestamp()
		return cmp.Or(ta.Time.Compare(tb.Time), cmp.Compare(key(pa.GetNamespace(), pa.GetName()), key(pb.GetNamespace(), pb.GetName())))
	})
	return out
}

// gatewayClasses are Git's GatewayClasses, those of berth's controller
// Accepted, and the built-in class unless Git defines one of its name.
func (g *gatewayPass) gatewayClasses() []gatewayv1.GatewayClass {
	var out []gatewayv1.GatewayClass
	builtin := true
	for _, c := range g.d.GatewayClasses {
		c = *c.DeepCopy()
		builtin = builtin && c.Name != api.GatewayClassBuiltin
		if c.Spec.ControllerName == api.GatewayController {
			g.classes[c.Name] = true
			c.Status.Conditions = []metav1.Condition{g.condition(string(gatewayv1.GatewayClassConditionStatusAccepted), true,
				string(gatewayv1.GatewayClassReasonAccepted), "berth serves this class", c.Generation)}
		}
		out = append(out, c)
	}
	if builtin {
		g.classes[api.GatewayClassBuiltin] = true
		out = append(out, gatewayv1.GatewayClass{
			TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "GatewayClass"},
			ObjectMeta: metav1.ObjectMeta{Name: api.GatewayClassBuiltin},
			Spec:       gatewayv1.GatewayClassSpec{ControllerName: api.GatewayController},
			Status: gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{g.condition(string(gatewayv1.GatewayClassConditionStatusAccepted), true,
				string(gatewayv1.GatewayClassReasonAccepted), "berth's built-in class", 0)}},
		})
	}
	return out
}

// condition is a metav1.Condition at the pass's time.
func (g *gatewayPass) condition(typ string, ok bool, reason, msg string, generation int64) metav1.Condition {
	status := metav1.ConditionTrue
	if !ok {
		status = metav1.ConditionFalse
	}
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: g.at, ObservedGeneration: generation}
}

// gateway checks a Gateway of berth's class and its listeners, and
// records those it serves.
func (g *gatewayPass) gateway(gw gatewayv1.Gateway, addrs []string) gatewayv1.Gateway {
	gw = *gw.DeepCopy()
	gk := key(gw.Namespace, gw.Name)
	programmed := 0
	same := map[string]int{} // listeners by port, protocol and hostname
	for _, l := range gw.Spec.Listeners {
		same[listenerKey(l)]++
	}
	for _, l := range gw.Spec.Listeners {
		sl, st := g.listener(&gw, l, same[listenerKey(l)] > 1)
		g.listeners[gk] = append(g.listeners[gk], sl)
		gw.Status.Listeners = append(gw.Status.Listeners, st)
		if sl.served {
			programmed++
		}
	}
	for _, a := range addrs {
		gw.Status.Addresses = append(gw.Status.Addresses, gatewayv1.GatewayStatusAddress{Type: ptrTo(gatewayv1.IPAddressType), Value: a})
	}
	gen := gw.Generation
	gw.Status.Conditions = []metav1.Condition{g.condition(string(gatewayv1.GatewayConditionAccepted), true, string(gatewayv1.GatewayReasonAccepted),
		"berth serves this Gateway on every node", gen)}
	switch {
	case len(addrs) == 0:
		gw.Status.Conditions = append(gw.Status.Conditions, g.condition(string(gatewayv1.GatewayConditionProgrammed), false,
			string(gatewayv1.GatewayReasonAddressNotAssigned), "no node is Ready", gen))
	case programmed == 0:
		gw.Status.Conditions = append(gw.Status.Conditions, g.condition(string(gatewayv1.GatewayConditionProgrammed), false,
			string(gatewayv1.GatewayReasonInvalid), "no listener is valid", gen))
	default:
		gw.Status.Conditions = append(gw.Status.Conditions, g.condition(string(gatewayv1.GatewayConditionProgrammed), true,
			string(gatewayv1.GatewayReasonProgrammed), fmt.Sprintf("%d of %d listeners programmed on every node", programmed, len(gw.Spec.Listeners)), gen))
	}
	return gw
}

// listenerKey is what two listeners of a Gateway may not share: port,
// protocol and hostname.
func listenerKey(l gatewayv1.Listener) string {
	host := ""
	if l.Hostname != nil {
		host = string(*l.Hostname)
	}
	return fmt.Sprintf("%d/%s/%s", l.Port, l.Protocol, host)
}

// listener checks one listener: its port's protocol against the
// listeners before it, its hostname against the Gateway's other listeners
// (sameHost: another has its port, protocol and hostname), its
// certificates, its route kinds.
func (g *gatewayPass) listener(gw *gatewayv1.Gateway, l gatewayv1.Listener, sameHost bool) (*servedListener, gatewayv1.ListenerStatus) {
	gen := gw.Generation
	sl := &servedListener{spec: l, GatewayListener: api.GatewayListener{Gateway: key(gw.Namespace, gw.Name), Name: string(l.Name),
		Port: int32(l.Port), Protocol: string(l.Protocol)}}
	if l.Hostname != nil {
		sl.Hostname = string(*l.Hostname)
	}
	st := gatewayv1.ListenerStatus{Name: l.Name, SupportedKinds: []gatewayv1.RouteGroupKind{{Group: ptrTo(gatewayv1.Group(gatewayv1.GroupName)), Kind: "HTTPRoute"}}}
	conflict, conflictReason, refs, kinds := "", gatewayv1.ListenerReasonProtocolConflict, "", ""
	if taken, ok := g.ports[sl.Port]; ok && taken != sl.Protocol {
		conflict = fmt.Sprintf("port %d serves %s already", sl.Port, taken)
	} else if sameHost {
		conflict = fmt.Sprintf("another listener of the Gateway has port %d, protocol %s and hostname %q", sl.Port, sl.Protocol, sl.Hostname)
		conflictReason = gatewayv1.ListenerReasonHostnameConflict
	}
	if l.Protocol == gatewayv1.HTTPSProtocolType && l.TLS != nil {
		sl.Certificates, refs = g.certificates(gw, l.TLS.CertificateRefs)
	}
	if ar := l.AllowedRoutes; ar != nil && len(ar.Kinds) > 0 && !slices.ContainsFunc(ar.Kinds, func(k gatewayv1.RouteGroupKind) bool { return k.Kind == "HTTPRoute" }) {
		kinds = "berth serves HTTPRoutes only"
		st.SupportedKinds = nil
	}
	st.Conditions = []metav1.Condition{
		g.condition(string(gatewayv1.ListenerConditionAccepted), conflict == "", string(gatewayv1.ListenerReasonAccepted), "", gen),
		g.condition(string(gatewayv1.ListenerConditionConflicted), conflict != "", string(gatewayv1.ListenerReasonNoConflicts), conflict, gen),
		g.condition(string(gatewayv1.ListenerConditionResolvedRefs), refs == "" && kinds == "", string(gatewayv1.ListenerReasonResolvedRefs), refs+kinds, gen),
	}
	switch {
	case conflict != "":
		st.Conditions[0].Reason, st.Conditions[1].Reason = string(gatewayv1.ListenerReasonPortUnavailable), string(conflictReason)
	case refs != "":
		st.Conditions[2].Reason = string(gatewayv1.ListenerReasonInvalidCertificateRef)
	case kinds != "":
		st.Conditions[2].Reason = string(gatewayv1.ListenerReasonInvalidRouteKinds)
	default:
		sl.served = true
		g.ports[sl.Port] = sl.Protocol
	}
	reason := gatewayv1.ListenerReasonProgrammed
	if !sl.served {
		reason = gatewayv1.ListenerReasonInvalid
	}
	st.Conditions = append(st.Conditions, g.condition(string(gatewayv1.ListenerConditionProgrammed), sl.served, string(reason), "", gen))
	return sl, st
}

// certificates resolves an HTTPS listener's certificate refs to
// kubernetes.io/tls Secrets; problem says why one does not resolve.
func (g *gatewayPass) certificates(gw *gatewayv1.Gateway, refs []gatewayv1.SecretObjectReference) (certs []string, problem string) {
	for _, ref := range refs {
		ns := gw.Namespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		if ns != gw.Namespace && !g.granted("Gateway", gw.Namespace, "Secret", ns, string(ref.Name)) {
			return nil, fmt.Sprintf("Secret %s/%s is in another namespace and no ReferenceGrant lets Gateways of %s use it", ns, ref.Name, gw.Namespace)
		}
		s := g.secret(ns, string(ref.Name))
		if s == nil || s.Type != corev1.SecretTypeTLS {
			return nil, fmt.Sprintf("Secret %s/%s is missing or not of type %s", ns, ref.Name, corev1.SecretTypeTLS)
		}
		certs = append(certs, key(ns, string(ref.Name)))
	}
	return certs, ""
}

func (g *gatewayPass) secret(ns, name string) *corev1.Secret {
	for i := range g.d.Secrets {
		if s := &g.d.Secrets[i]; s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

// granted reports whether a ReferenceGrant in the target's namespace
// lets objects of fromKind in fromNS refer to toKind (name, or any).
func (g *gatewayPass) granted(fromKind, fromNS, toKind, toNS, toName string) bool {
	for _, rg := range g.d.ReferenceGrants {
		if rg.Namespace != toNS {
			continue
		}
		from := slices.ContainsFunc(rg.Spec.From, func(f gatewayv1.ReferenceGrantFrom) bool {
			return string(f.Kind) == fromKind && string(f.Namespace) == fromNS
		})
		to := slices.ContainsFunc(rg.Spec.To, func(t gatewayv1.ReferenceGrantTo) bool {
			return string(t.Kind) == toKind && (t.Name == nil || string(*t.Name) == toName)
		})
		if from && to {
			return true
		}
	}
	return false
}

// route attaches an HTTPRoute to the listeners its parentRefs name, and
// sets the status of each parent of berth's. ok is false when no parent
// is berth's.
func (g *gatewayPass) route(r gatewayv1.HTTPRoute) (gatewayv1.HTTPRoute, bool) {
	r = *r.DeepCopy()
	denied, refs := g.backendRefs(&r)
	ours := false
	for _, p := range r.Spec.ParentRefs {
		ns := r.Namespace
		if p.Namespace != nil {
			ns = string(*p.Namespace)
		}
		ls, known := g.listeners[key(ns, string(p.Name))]
		if !known && g.gatewayExists(ns, string(p.Name)) {
			continue // a Gateway of another class
		}
		ours = true
		accepted, reason, msg := g.attach(&r, p, ls, denied)
		if !known {
			reason, msg = gatewayv1.RouteReasonNoMatchingParent, fmt.Sprintf("Gateway %s/%s not found", ns, p.Name)
		}
		refReason := gatewayv1.RouteReasonResolvedRefs
		if refs != "" {
			refReason = gatewayv1.RouteReasonBackendNotFound
			if strings.Contains(refs, "ReferenceGrant") {
				refReason = gatewayv1.RouteReasonRefNotPermitted
			}
		}
		r.Status.Parents = append(r.Status.Parents, gatewayv1.RouteParentStatus{ParentRef: p, ControllerName: api.GatewayController,
			Conditions: []metav1.Condition{
				g.condition(string(gatewayv1.RouteConditionAccepted), accepted, string(reason), msg, r.Generation),
				g.condition(string(gatewayv1.RouteConditionResolvedRefs), refs == "", string(refReason), refs, r.Generation),
			}})
	}
	return r, ours
}

func (g *gatewayPass) gatewayExists(ns, name string) bool {
	return slices.ContainsFunc(g.d.Gateways, func(gw gatewayv1.Gateway) bool { return gw.Namespace == ns && gw.Name == name })
}

// attach attaches a route to the listeners of one parentRef that allow
// it and share a hostname with it.
func (g *gatewayPass) attach(r *gatewayv1.HTTPRoute, p gatewayv1.ParentReference, ls []*servedListener, denied []string) (bool, gatewayv1.RouteConditionReason, string) {
	reason, msg := gatewayv1.RouteReasonNotAllowedByListeners, "no listener of the Gateway allows this route"
	attached := false
	for _, l := range ls {
		if !l.served || (p.SectionName != nil && string(*p.SectionName) != l.Name) || (p.Port != nil && int32(*p.Port) != l.Port) || !g.allows(l, r) {
			continue
		}
		hosts, ok := intersectHostnames(l.Hostname, r.Spec.Hostnames)
		if !ok {
			reason, msg = gatewayv1.RouteReasonNoMatchingListenerHostname, "no hostname of the route matches a listener's"
			continue
		}
		l.Routes = append(l.Routes, api.AttachedRoute{Route: key(r.Namespace, r.Name), Hostnames: hosts, Denied: denied})
		attached = true
	}
	if attached {
		return true, gatewayv1.RouteReasonAccepted, ""
	}
	return false, reason, msg
}

// allows reports whether a listener takes routes of the route's
// namespace.
func (g *gatewayPass) allows(l *servedListener, r *gatewayv1.HTTPRoute) bool {
	gwNS, _, _ := strings.Cut(l.Gateway, "/")
	from := gatewayv1.NamespacesFromSame
	var selector *metav1.LabelSelector
	if ar := l.spec.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		selector = ar.Namespaces.Selector
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSelector:
		sel, err := metav1.LabelSelectorAsSelector(selector)
		return err == nil && sel.Matches(labels.Set(g.namespaceLabels(r.Namespace)))
	}
	return r.Namespace == gwNS
}

func (g *gatewayPass) namespaceLabels(ns string) map[string]string {
	for _, n := range g.d.Namespaces {
		if n.Name == ns {
			out := map[string]string{corev1.LabelMetadataName: ns}
			for k, v := range n.Labels {
				out[k] = v
			}
			return out
		}
	}
	return map[string]string{corev1.LabelMetadataName: ns}
}

// backendRefs checks a route's backendRefs: Services of the commit with
// the port, in the route's namespace or one whose ReferenceGrant allows
// it. denied lists the Services it may not use; problem says what does
// not resolve.
func (g *gatewayPass) backendRefs(r *gatewayv1.HTTPRoute) (denied []string, problem string) {
	var problems []string
	for _, rule := range r.Spec.Rules {
		for _, b := range rule.BackendRefs {
			ns := r.Namespace
			if b.Namespace != nil {
				ns = string(*b.Namespace)
			}
			k := key(ns, string(b.Name))
			switch {
			case ns != r.Namespace && !g.granted("HTTPRoute", r.Namespace, "Service", ns, string(b.Name)):
				denied = append(denied, k)
				problems = append(problems, fmt.Sprintf("Service %s is in another namespace and no ReferenceGrant lets HTTPRoutes of %s use it", k, r.Namespace))
			case !g.servicePort(ns, string(b.Name), b.Port):
				problems = append(problems, fmt.Sprintf("Service %s has no port %v", k, portOf(b.Port)))
			}
		}
	}
	slices.Sort(denied)
	return slices.Compact(denied), strings.Join(slices.Compact(problems), "; ")
}

func portOf(p *gatewayv1.PortNumber) any {
	if p == nil {
		return "(none)"
	}
	return *p
}

// servicePort reports whether the commit has a Service with the port.
func (g *gatewayPass) servicePort(ns, name string, port *gatewayv1.PortNumber) bool {
	for _, s := range g.d.Services {
		if s.Namespace == ns && s.Name == name {
			return port != nil && slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == int32(*port) })
		}
	}
	return false
}

// countAttached sets each listener's attachedRoutes.
func (g *gatewayPass) countAttached(gw *gatewayv1.Gateway) {
	ls := g.listeners[key(gw.Namespace, gw.Name)]
	for i := range gw.Status.Listeners {
		if i < len(ls) {
			gw.Status.Listeners[i].AttachedRoutes = int32(len(ls[i].Routes))
		}
	}
}

// intersectHostnames is what a listener's hostname and a route's have in
// common, the more specific of each matching pair; ok is false when they
// have none. An empty result with ok means every host.
func intersectHostnames(listener string, route []gatewayv1.Hostname) ([]string, bool) {
	if len(route) == 0 {
		if listener == "" {
			return nil, true
		}
		return []string{listener}, true
	}
	var out []string
	for _, h := range route {
		r := strings.ToLower(string(h))
		switch {
		case listener == "" || r == listener:
			out = append(out, r)
		case covers(listener, r):
			out = append(out, r)
		case covers(r, listener):
			out = append(out, listener)
		}
	}
	return out, len(out) > 0
}

// covers reports whether a wildcard hostname covers another name (the
// Gateway API's wildcards cover one label or more).
func covers(wildcard, name string) bool {
	suffix, ok := strings.CutPrefix(wildcard, "*")
	return ok && strings.HasSuffix(name, suffix) && len(name) > len(suffix)
}

func ptrTo[T any](v T) *T { return &v }
