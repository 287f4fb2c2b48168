package master

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/kubeapi"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
)

// kubeSource gives the Kubernetes API the objects it serves: the live
// revision's, with the status the reconciler computes, and the pods,
// nodes and events the store holds.
type kubeSource struct {
	m *Master

	mu      sync.Mutex
	commit  string               // the live commit created was computed for
	created map[string]time.Time // "Kind/namespace/name": when first applied
}

// Index is the store's index.
func (k *kubeSource) Index() uint64 { return k.m.store.Index() }

// Wait returns once the store passes after.
func (k *kubeSource) Wait(ctx context.Context, after uint64) { k.m.store.WaitChange(ctx, after) }

// Snapshot builds every served object at the store's index.
func (k *kubeSource) Snapshot() kubeapi.Snapshot {
	m := k.m
	v := m.store.View(false)
	now := time.Now()
	created := maps.Clone(k.createdTimes(v.LiveCommit))
	nodes := m.creditedNodes(v, now)
	pods := reconciler.MarkPodsNotReady(v.Pods, nodes, now, m.nodeTimeout(v))
	ws := reconciler.WorkloadStatus(m.input(v, now), now)
	d := v.Desired
	objs := map[string][]kubeapi.Object{}
	put := func(id, kind string, o kubeapi.Object) {
		if o.GetUID() == "" {
			o.SetUID(types.UID(reconciler.ObjectUID(kind, o.GetNamespace(), o.GetName())))
		}
		if t := o.GetCreationTimestamp(); t.IsZero() {
			o.SetCreationTimestamp(metav1.NewTime(created[kind+"/"+api.Key(o.GetNamespace(), o.GetName())]))
		}
		objs[id] = append(objs[id], o)
	}
	for i := range pods {
		put(kubeapi.Pods, "Pod", &pods[i])
	}
	kn := m.kubeNodes(v, now)
	eachCopy(withLoadBalancers(d.Services, kn), func(o kubeapi.Object) { put(kubeapi.Services, "Service", o) })
	eachCopy(d.ConfigMaps, func(o kubeapi.Object) { put(kubeapi.ConfigMaps, "ConfigMap", o) })
	eachCopy(d.Secrets, func(o kubeapi.Object) { put(kubeapi.Secrets, "Secret", o) })
	eachCopy(d.NetworkPolicies, func(o kubeapi.Object) { put(kubeapi.NetworkPolicies, "NetworkPolicy", o) })
	eachCopy(ws.Deployments, func(o kubeapi.Object) { put(kubeapi.Deployments, "Deployment", o) })
	eachCopy(ws.ReplicaSets, func(o kubeapi.Object) { put(kubeapi.ReplicaSets, "ReplicaSet", o) })
	eachCopy(ws.ReplicationControllers, func(o kubeapi.Object) { put(kubeapi.ReplicationControllers, "ReplicationController", o) })
	eachCopy(ws.DaemonSets, func(o kubeapi.Object) { put(kubeapi.DaemonSets, "DaemonSet", o) })
	eachCopy(ws.StatefulSets, func(o kubeapi.Object) { put(kubeapi.StatefulSets, "StatefulSet", o) })
	eachCopy(ws.Jobs, func(o kubeapi.Object) { put(kubeapi.Jobs, "Job", o) })
	eachCopy(ws.CronJobs, func(o kubeapi.Object) { put(kubeapi.CronJobs, "CronJob", o) })
	// A Service's Endpoints and EndpointSlices are as old as the Service.
	serviceCreated := map[string]time.Time{}
	for _, o := range objs[kubeapi.Services] {
		serviceCreated[api.Key(o.GetNamespace(), o.GetName())] = o.GetCreationTimestamp().Time
	}
	endpoints := reconciler.ServiceEndpoints(d, pods)
	for i := range endpoints {
		e := &endpoints[i]
		created["Endpoints/"+api.Key(e.Namespace, e.Name)] = serviceCreated[api.Key(e.Namespace, e.Name)]
		put(kubeapi.Endpoints, "Endpoints", e)
	}
	epSlices := reconciler.EndpointSlices(endpoints)
	for i := range epSlices {
		s := &epSlices[i]
		s.CreationTimestamp = metav1.NewTime(serviceCreated[api.Key(s.Namespace, s.Labels[discoveryv1.LabelServiceName])])
		put(kubeapi.EndpointSlices, "EndpointSlice", s)
	}
	for i := range kn {
		put(kubeapi.Nodes, "Node", &kn[i])
		put(kubeapi.Leases, "Lease", nodeLease(&kn[i], m.nodeTimeout(v)))
	}
	lb := ingressAddresses(kn)
	eachCopy(d.Ingresses, func(o kubeapi.Object) {
		o.(*networkingv1.Ingress).Status.LoadBalancer = lb
		put(kubeapi.Ingresses, "Ingress", o)
	})
	for _, c := range ingressClasses(d.IngressClasses, kn) {
		put(kubeapi.IngressClasses, "IngressClass", c)
	}
	gv := m.gatewayView(v, kn)
	eachCopy(gv.Classes, func(o kubeapi.Object) { put(kubeapi.GatewayClasses, "GatewayClass", o) })
	eachCopy(gv.Gateways, func(o kubeapi.Object) { put(kubeapi.Gateways, "Gateway", o) })
	eachCopy(gv.Routes, func(o kubeapi.Object) { put(kubeapi.HTTPRoutes, "HTTPRoute", o) })
	eachCopy(d.ReferenceGrants, func(o kubeapi.Object) { put(kubeapi.ReferenceGrants, "ReferenceGrant", o) })
	sv := reconciler.Storage(d, v.Volumes, v.PVCs)
	eachCopy(sv.Classes, func(o kubeapi.Object) { put(kubeapi.StorageClasses, "StorageClass", o) })
	eachCopy(sv.Volumes, func(o kubeapi.Object) { put(kubeapi.PersistentVolumes, "PersistentVolume", o) })
	eachCopy(sv.Claims, func(o kubeapi.Object) { put(kubeapi.PersistentVolumeClaims, "PersistentVolumeClaim", o) })
	events := m.store.Events(func(*corev1.Event) bool { return true })
	events = uniqueNames(append(events, deploymentEvents(events, ws.ReplicaSets)...))
	for i := range events {
		put(kubeapi.Events, "Event", &events[i])
	}
	for _, ns := range namespaces(d, objs) {
		put(kubeapi.Namespaces, "Namespace", ns)
	}
	return kubeapi.Snapshot{Index: v.Index, Objects: objs}
}

// ingressAddresses are where the Ingresses and Gateways answer: the
// InternalIP of every Ready node that runs the Ingress proxy (its agent
// reports the IngressPortsBound condition; it serves on all the node's
// addresses).
func ingressAddresses(nodes []corev1.Node) networkingv1.IngressLoadBalancerStatus {
	return readyAddresses(nodes, true)
}

// readyAddresses are the InternalIPs of the Ready nodes (only those that
// run the Ingress proxy with proxied set).
func readyAddresses(nodes []corev1.Node, proxied bool) networkingv1.IngressLoadBalancerStatus {
	var lb networkingv1.IngressLoadBalancerStatus
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.Status.Conditions[0].Status != corev1.ConditionTrue {
			continue
		}
		if proxied && !slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == api.NodeIngressPortsBound }) {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && !seen[a.Address] {
				seen[a.Address] = true
				lb.Ingress = append(lb.Ingress, networkingv1.IngressLoadBalancerIngress{IP: a.Address})
			}
		}
	}
	return lb
}

// ingressClasses are Git's IngressClasses and, unless Git names one so,
// the built-in class berth serves, as old as the cluster's first node.
func ingressClasses(git []networkingv1.IngressClass, nodes []corev1.Node) []*networkingv1.IngressClass {
	var out []*networkingv1.IngressClass
	builtin := true
	for i := range git {
		out = append(out, git[i].DeepCopy())
		builtin = builtin && git[i].Name != api.IngressClassBuiltin
	}
	if builtin {
		c := &networkingv1.IngressClass{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "IngressClass"},
			ObjectMeta: metav1.ObjectMeta{Name: api.IngressClassBuiltin}, Spec: networkingv1.IngressClassSpec{Controller: api.IngressController}}
		for _, n := range nodes {
			if c.CreationTimestamp.IsZero() || n.CreationTimestamp.Before(&c.CreationTimestamp) {
				c.CreationTimestamp = n.CreationTimestamp
			}
		}
		out = append(out, c)
	}
	return out
}

// nodeLease is a node's heartbeat as the kubelet's Lease in
// kube-node-lease, owned by the Node.
func nodeLease(n *corev1.Node, timeout time.Duration) *coordinationv1.Lease {
	renewed := metav1.NewMicroTime(n.Status.Conditions[0].LastHeartbeatTime.Time)
	return &coordinationv1.Lease{
		TypeMeta: metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Namespace: corev1.NamespaceNodeLease, CreationTimestamp: n.CreationTimestamp,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(n.Name), LeaseDurationSeconds: ptr.To(int32(timeout / time.Second)), RenewTime: &renewed},
	}
}

// deploymentEvents are the ScalingReplicaSet events of Deployments
// (kubectl describe deployment shows them), one for each pod the
// Deployment's ReplicaSets created or deleted, made from those
// ReplicaSets' own events: the store records what the plans did to pods.
func deploymentEvents(events []corev1.Event, sets []appsv1.ReplicaSet) []corev1.Event {
	owner := map[string]string{}
	for _, rs := range sets {
		for _, ref := range rs.OwnerReferences {
			if ref.Kind == "Deployment" && ref.Controller != nil && *ref.Controller {
				owner[api.Key(rs.Namespace, rs.Name)] = ref.Name
			}
		}
	}
	var out []corev1.Event
	for _, e := range events {
		o := e.InvolvedObject
		d := owner[api.Key(o.Namespace, o.Name)]
		if o.Kind != "ReplicaSet" || d == "" || (e.Reason != "SuccessfulCreate" && e.Reason != "SuccessfulDelete") {
			continue
		}
		verb, what := "up", strings.Replace(e.Message, "Created pod: ", "created pod ", 1)
		if e.Reason == "SuccessfulDelete" {
			verb, what = "down", strings.Replace(e.Message, "Deleted pod: ", "deleted pod ", 1)
		}
		de := *e.DeepCopy()
		de.Name = d + "." + strings.TrimPrefix(e.Name, o.Name+".")
		de.UID = ""
		de.InvolvedObject = corev1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: o.Namespace, Name: d,
			UID: types.UID(reconciler.ObjectUID("Deployment", o.Namespace, d))}
		de.Reason, de.Message = "ScalingReplicaSet", fmt.Sprintf("Scaled %s replica set %s (%s)", verb, o.Name, what)
		de.Source, de.ReportingController = corev1.EventSource{Component: "deployment-controller"}, "deployment-controller"
		out = append(out, de)
	}
	return out
}

// uniqueNames gives each event a name of its own: events recorded at one
// instant about one object share "object.time" (a plan that creates three
// pods of a ReplicaSet), so a repeated name gets a hash of what the event
// says.
func uniqueNames(events []corev1.Event) []corev1.Event {
	count := map[string]int{}
	for _, e := range events {
		count[api.Key(e.Namespace, e.Name)]++
	}
	for i := range events {
		e := &events[i]
		if count[api.Key(e.Namespace, e.Name)] > 1 {
			h := fnv.New32a()
			h.Write([]byte(e.InvolvedObject.Kind + "/" + e.Reason + "/" + e.Message))
			e.Name = fmt.Sprintf("%s.%08x", e.Name, h.Sum32())
		}
	}
	return events
}

// eachCopy calls f with a copy of each item: the store's objects are
// shared, and the API's cache writes into what it is given.
func eachCopy[T any, P interface {
	*T
	kubeapi.Object
}](items []T, f func(kubeapi.Object)) {
	for i := range items {
		f(P(&items[i]).DeepCopyObject().(kubeapi.Object))
	}
}

// namespaces are the Namespaces Git names, "default", and every
// namespace an object is in, all Active; one Git does not name is as old
// as its oldest object.
func namespaces(d *api.ObjectSet, objs map[string][]kubeapi.Object) []*corev1.Namespace {
	byName := map[string]*corev1.Namespace{}
	implicit := map[string]bool{}
	var out []*corev1.Namespace
	add := func(ns *corev1.Namespace) {
		if byName[ns.Name] == nil {
			ns.Status.Phase = corev1.NamespaceActive
			byName[ns.Name] = ns
			out = append(out, ns)
		}
	}
	for i := range d.Namespaces {
		add(d.Namespaces[i].DeepCopy())
	}
	for _, list := range objs {
		for _, o := range list {
			if n := o.GetNamespace(); n != "" && byName[n] == nil {
				implicit[n] = true
				add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
			}
			if ns, t := byName[o.GetNamespace()], o.GetCreationTimestamp(); implicit[o.GetNamespace()] && !t.IsZero() &&
				(ns.CreationTimestamp.IsZero() || t.Before(&ns.CreationTimestamp)) {
				ns.CreationTimestamp = t
			}
		}
	}
	add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	return out
}

// createdTimes maps each object of the live revision to when the commit
// that added it was applied, from the revision log; it is computed again
// only when the live commit changes.
func (k *kubeSource) createdTimes(live string) map[string]time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.created != nil && k.commit == live {
		return k.created
	}
	created := map[string]time.Time{}
	for _, e := range k.m.store.Log() {
		if e.Outcome != api.OutcomeApplied || e.Summary == nil {
			continue
		}
		for _, key := range e.Summary.Added {
			created[key] = e.AppliedAt
		}
		for _, key := range e.Summary.Removed {
			delete(created, key)
		}
	}
	k.commit, k.created = live, created
	return created
}

// kubeNodes are the nodes as Kubernetes Nodes, with their conditions.
func (m *Master) kubeNodes(v raftstore.View, now time.Time) []corev1.Node {
	timeout := m.nodeTimeout(v)
	nodes := api.WithConditionTaints(api.WithGit(m.creditedNodes(v, now), v.Desired.Nodes), now, timeout)
	out := make([]corev1.Node, 0, len(nodes))
	for i := range nodes {
		k := nodes[i].ToKube(now, timeout)
		if msg := reconciler.PodCIDRShortage(&m.cfg.PodNetwork, nodes, nodes[i].Name); msg != "" && !nodes[i].NetworkReady() {
			k.Status.Conditions[0].Message += ": " + msg
		}
		out = append(out, k)
	}
	return out
}
