package master

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/reconciler"
)

// serviceTables computes the service table once per change of the pods,
// however many agents wait for it, and at least every tableMaxAge (a node
// that stops sending heartbeats takes its pods out of the endpoints
// without any entry being applied). Heartbeats do not recompute it.
type serviceTables struct {
	mu    sync.Mutex
	index uint64 // the store's PodsIndex
	at    time.Time
	table *api.ServiceTable
	// unopened are the TLS Secrets that would not open, with why: each
	// is logged once, not at every rebuild of the table.
	unopened map[string]string
}

const tableMaxAge = time.Second

// serviceTable returns the Services of the live revision and their
// endpoints as the pods are now, and the NetworkPolicies resolved against
// the pods.
func (m *Master) serviceTable() *api.ServiceTable {
	index := m.store.PodsIndex()
	c := &m.services
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.table != nil && c.index == index && time.Since(c.at) < tableMaxAge {
		return c.table
	}
	t := &api.ServiceTable{Services: []corev1.Service{}, Endpoints: []corev1.Endpoints{}}
	t.Nodes = m.store.NodeRoutes()
	if desired := m.store.Desired(); desired != nil && len(desired.Services)+len(desired.Endpoints)+len(desired.NetworkPolicies)+len(desired.Ingresses)+len(desired.Gateways) > 0 {
		v := m.store.View(false)
		t.Services = v.Desired.Services
		now := time.Now()
		pods := reconciler.MarkPodsNotReady(v.Pods, m.creditedNodes(v, now), now, m.nodeTimeout(v))
		t.Endpoints = reconciler.ServiceEndpoints(v.Desired, pods)
		t.Policies = reconciler.CompileNetworkPolicies(v.Desired, v.Pods)
		t.Ingresses, t.IngressClasses = v.Desired.Ingresses, v.Desired.IngressClasses
		t.Gateways = reconciler.Gateways(v.Desired, nil, metav1.Time{}).Listeners
		t.HTTPRoutes = attachedRoutes(v.Desired.HTTPRoutes, t.Gateways)
		t.IngressSecrets = m.tlsSecrets(v.Desired, t.Gateways)
	}
	data, _ := json.Marshal(t)
	sum := sha256.Sum256(data)
	t.Hash = hex.EncodeToString(sum[:8])
	c.index, c.at, c.table = index, time.Now(), t
	return t
}

// attachedRoutes are the HTTPRoutes attached to a served listener.
func attachedRoutes(routes []gatewayv1.HTTPRoute, listeners []api.GatewayListener) []gatewayv1.HTTPRoute {
	named := map[string]bool{}
	for _, l := range listeners {
		for _, r := range l.Routes {
			named[r.Route] = true
		}
	}
	var out []gatewayv1.HTTPRoute
	for _, r := range routes {
		if named[api.Key(r.Namespace, r.Name)] {
			out = append(out, r)
		}
	}
	return out
}

// tlsSecrets are the Secrets the Ingresses' TLS entries and the served
// Gateway listeners name, opened for the agents' proxies. One that will
// not open is left out (and the agents say its Ingress or listener has no
// certificate).
func (m *Master) tlsSecrets(d *api.ObjectSet, listeners []api.GatewayListener) []corev1.Secret {
	named := map[string]bool{}
	for _, ing := range d.Ingresses {
		for _, t := range ing.Spec.TLS {
			named[api.Key(ing.Namespace, t.SecretName)] = true
		}
	}
	for _, l := range listeners {
		for _, c := range l.Certificates {
			named[c] = true
		}
	}
	var out []corev1.Secret
	unopened := map[string]string{}
	for i := range d.Secrets {
		s := &d.Secrets[i]
		key := api.Key(s.Namespace, s.Name)
		if !named[key] {
			continue
		}
		opened, err := m.openSecret(s)
		if err != nil {
			if unopened[key] = err.Error(); m.services.unopened[key] != err.Error() {
				m.log.Warn("ingress TLS secret will not open", "secret", key, "err", err)
			}
			continue
		}
		out = append(out, opened)
	}
	m.services.unopened = unopened // the caller holds m.services.mu
	return out
}

// handleServiceTable is the agents' blocking query: it answers when the
// table differs from ?hash=, or when the wait ends.
func (m *Master) handleServiceTable(w http.ResponseWriter, r *http.Request) {
	have := r.URL.Query().Get("hash")
	_, ctx, cancel, err := blockingQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer cancel()
	agent := auth.From(r.Context()).IsNode()
	for {
		index := m.store.PodsIndex()
		t := m.serviceTable()
		if t.Hash != have || have == "" || ctx.Err() != nil {
			writeJSON(w, forCaller(t, agent))
			return
		}
		wait, cancel := context.WithTimeout(ctx, tableMaxAge)
		m.store.WaitPodsChange(wait, index)
		cancel()
	}
}

// forCaller is the service table as a caller may read it: the TLS
// Secrets' values go to agents only (a viewer reads them redacted, as
// Secrets everywhere else).
func forCaller(t *api.ServiceTable, agent bool) *api.ServiceTable {
	if agent || len(t.IngressSecrets) == 0 {
		return t
	}
	c := *t
	c.IngressSecrets = make([]corev1.Secret, len(t.IngressSecrets))
	for i, s := range t.IngressSecrets {
		c.IngressSecrets[i] = *s.DeepCopy()
		for k := range c.IngressSecrets[i].Data {
			c.IngressSecrets[i].Data[k] = nil
		}
	}
	return &c
}

// handleServices lists the Services of the live revision, with the cluster
// IPs and node ports they were given.
func (m *Master) handleServices(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	v := m.store.View(false)
	writeJSON(w, kubeList("v1", "Service", withLoadBalancers(m.serviceTable().Services, m.kubeNodes(v, time.Now())), keep))
}

// withLoadBalancers copies the Services with the addresses a
// LoadBalancer Service answers on (every Ready node's InternalIP, as the
// Ingresses) in its status.
func withLoadBalancers(svcs []corev1.Service, nodes []corev1.Node) []corev1.Service {
	var lb []corev1.LoadBalancerIngress
	for _, in := range readyAddresses(nodes, false).Ingress { // nftables on every node
		lb = append(lb, corev1.LoadBalancerIngress{IP: in.IP, IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)})
	}
	out := make([]corev1.Service, len(svcs))
	for i := range svcs {
		out[i] = svcs[i]
		if svcs[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
			out[i].Status.LoadBalancer.Ingress = lb
		}
	}
	return out
}

// handleIngresses lists the Ingresses with the addresses they answer on.
func (m *Master) handleIngresses(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	v := m.store.View(false)
	lb := ingressAddresses(m.kubeNodes(v, time.Now()))
	ings := make([]networkingv1.Ingress, 0, len(v.Desired.Ingresses))
	for _, ing := range v.Desired.Ingresses {
		ing = *ing.DeepCopy()
		ing.Status.LoadBalancer = lb
		ings = append(ings, ing)
	}
	writeJSON(w, kubeList("networking.k8s.io/v1", "Ingress", ings, keep))
}

// handleEndpoints lists the Endpoints of every Service.
func (m *Master) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	writeJSON(w, kubeList("v1", "Endpoints", m.serviceTable().Endpoints, keep))
}

// handleEndpointSlices lists the EndpointSlices of the Endpoints.
func (m *Master) handleEndpointSlices(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	writeJSON(w, kubeList("discovery.k8s.io/v1", "EndpointSlice", reconciler.EndpointSlices(m.serviceTable().Endpoints), keep))
}
