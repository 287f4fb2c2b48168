// Package kubeapi serves the read-only Kubernetes API over berth's state:
// discovery (aggregated and legacy), get, list and watch with selectors and
// Tables, the status and scale subresources, access reviews, and a Status
// 405 naming the Git repository for every write. The master gives it the
// objects it serves (a Source); kubeapi keeps them in a watch cache whose
// resourceVersions are the Raft indexes they were seen at.
package kubeapi

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Object is a Kubernetes object: a typed k8s.io/api pointer.
type Object interface {
	runtime.Object
	metav1.Object
}

// Resource IDs, the keys of a Snapshot's objects: the resource's plural
// name, then its group after a dot (core resources have none).
const (
	Pods                   = "pods"
	Services               = "services"
	Endpoints              = "endpoints"
	ConfigMaps             = "configmaps"
	Secrets                = "secrets"
	Namespaces             = "namespaces"
	Nodes                  = "nodes"
	Events                 = "events"
	ReplicationControllers = "replicationcontrollers"
	Deployments            = "deployments.apps"
	ReplicaSets            = "replicasets.apps"
	StatefulSets           = "statefulsets.apps"
	DaemonSets             = "daemonsets.apps"
	Jobs                   = "jobs.batch"
	CronJobs               = "cronjobs.batch"
	EndpointSlices         = "endpointslices.discovery.k8s.io"
	NetworkPolicies        = "networkpolicies.networking.k8s.io"
	// Leases are the nodes' heartbeats, in the kube-node-lease namespace
	// (kubectl describe node reads them).
	Leases = "leases.coordination.k8s.io"
	// Ingresses and IngressClasses, from Git (and the built-in class).
	Ingresses      = "ingresses.networking.k8s.io"
	IngressClasses = "ingressclasses.networking.k8s.io"
	// The Gateway API's kinds, with their status.
	GatewayClasses  = "gatewayclasses.gateway.networking.k8s.io"
	Gateways        = "gateways.gateway.networking.k8s.io"
	HTTPRoutes      = "httproutes.gateway.networking.k8s.io"
	ReferenceGrants = "referencegrants.gateway.networking.k8s.io"
	// Storage: the classes (and the built-in local-path), volumes and
	// claims, with their status.
	StorageClasses         = "storageclasses.storage.k8s.io"
	PersistentVolumes      = "persistentvolumes"
	PersistentVolumeClaims = "persistentvolumeclaims"
	// EventsV1 is not in a Snapshot: it serves the core Events as
	// events.k8s.io/v1.
	EventsV1 = "events.events.k8s.io"
)

// resource describes one served resource.
type resource struct {
	id         string
	gvk        schema.GroupVersionKind
	plural     string
	singular   string
	namespaced bool
	short      []string
	categories []string
	// subresources served (GET only): "status", "scale".
	subresources []string
	// from names the Snapshot resource the objects come from (itself
	// unless a second version of another resource).
	from string
	// convert turns a stored object into this resource's form (nil: as is).
	convert func(Object) Object
	// fields are the fields a field selector may name, beyond
	// metadata.name and metadata.namespace.
	fields func(Object) fields.Set
	// table prints the rows of a Table.
	table *printer
	// newList makes an empty list of the kind.
	newList func() runtime.Object
}

var all = []string{"all"}

// resources are the served resources, in discovery order.
var resources = []*resource{
	{id: Pods, gvk: corev1.SchemeGroupVersion.WithKind("Pod"), short: []string{"po"}, categories: all, subresources: []string{"status"},
		namespaced: true, fields: podFields, table: podPrinter},
	{id: Services, gvk: corev1.SchemeGroupVersion.WithKind("Service"), short: []string{"svc"}, categories: all, subresources: []string{"status"},
		namespaced: true, table: servicePrinter},
	{id: Endpoints, gvk: corev1.SchemeGroupVersion.WithKind("Endpoints"), short: []string{"ep"}, namespaced: true, table: endpointsPrinter},
	{id: ConfigMaps, gvk: corev1.SchemeGroupVersion.WithKind("ConfigMap"), short: []string{"cm"}, namespaced: true, table: configMapPrinter},
	{id: Secrets, gvk: corev1.SchemeGroupVersion.WithKind("Secret"), namespaced: true, fields: secretFields, table: secretPrinter},
	{id: Namespaces, gvk: corev1.SchemeGroupVersion.WithKind("Namespace"), short: []string{"ns"}, subresources: []string{"status"},
		fields: namespaceFields, table: namespacePrinter},
	{id: Nodes, gvk: corev1.SchemeGroupVersion.WithKind("Node"), short: []string{"no"}, subresources: []string{"status"},
		fields: nodeFields, table: nodePrinter},
	{id: Events, gvk: corev1.SchemeGroupVersion.WithKind("Event"), short: []string{"ev"}, namespaced: true, fields: eventFields, table: eventPrinter},
	{id: ReplicationControllers, gvk: corev1.SchemeGroupVersion.WithKind("ReplicationController"), short: []string{"rc"}, categories: all,
		subresources: []string{"status", "scale"}, namespaced: true, table: replicationControllerPrinter},
	{id: Deployments, gvk: appsv1.SchemeGroupVersion.WithKind("Deployment"), short: []string{"deploy"}, categories: all,
		subresources: []string{"status", "scale"}, namespaced: true, table: deploymentPrinter},
	{id: ReplicaSets, gvk: appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), short: []string{"rs"}, categories: all,
		subresources: []string{"status", "scale"}, namespaced: true, table: replicaSetPrinter},
	{id: StatefulSets, gvk: appsv1.SchemeGroupVersion.WithKind("StatefulSet"), short: []string{"sts"}, categories: all,
		subresources: []string{"status", "scale"}, namespaced: true, table: statefulSetPrinter},
	{id: DaemonSets, gvk: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), short: []string{"ds"}, categories: all,
		subresources: []string{"status"}, namespaced: true, table: daemonSetPrinter},
	{id: Jobs, gvk: batchv1.SchemeGroupVersion.WithKind("Job"), categories: all, subresources: []string{"status"}, namespaced: true,
		fields: jobFields, table: jobPrinter},
	{id: CronJobs, gvk: batchv1.SchemeGroupVersion.WithKind("CronJob"), short: []string{"cj"}, categories: all, subresources: []string{"status"},
		namespaced: true, table: cronJobPrinter},
	{id: EndpointSlices, gvk: discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), namespaced: true, table: endpointSlicePrinter},
	{id: EventsV1, gvk: eventsv1.SchemeGroupVersion.WithKind("Event"), short: []string{"ev"}, namespaced: true, from: Events,
		convert: eventV1, fields: eventV1Fields, table: eventV1Printer},
	{id: NetworkPolicies, gvk: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), short: []string{"netpol"}, namespaced: true,
		table: networkPolicyPrinter},
	{id: Ingresses, gvk: networkingv1.SchemeGroupVersion.WithKind("Ingress"), short: []string{"ing"}, subresources: []string{"status"},
		namespaced: true, table: ingressPrinter},
	{id: IngressClasses, gvk: networkingv1.SchemeGroupVersion.WithKind("IngressClass"), table: ingressClassPrinter},
	{id: GatewayClasses, gvk: gatewayv1.SchemeGroupVersion.WithKind("GatewayClass"), short: []string{"gc"}, subresources: []string{"status"},
		table: gatewayClassPrinter},
	{id: Gateways, gvk: gatewayv1.SchemeGroupVersion.WithKind("Gateway"), short: []string{"gtw"}, subresources: []string{"status"},
		namespaced: true, table: gatewayPrinter},
	{id: HTTPRoutes, gvk: gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute"), subresources: []string{"status"}, namespaced: true,
		table: httpRoutePrinter},
	{id: ReferenceGrants, gvk: gatewayv1.SchemeGroupVersion.WithKind("ReferenceGrant"), short: []string{"refgrant"}, namespaced: true,
		table: referenceGrantPrinter},
	{id: PersistentVolumes, gvk: corev1.SchemeGroupVersion.WithKind("PersistentVolume"), short: []string{"pv"}, subresources: []string{"status"},
		table: persistentVolumePrinter},
	{id: PersistentVolumeClaims, gvk: corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), short: []string{"pvc"},
		subresources: []string{"status"}, namespaced: true, table: persistentVolumeClaimPrinter},
	{id: StorageClasses, gvk: storagev1.SchemeGroupVersion.WithKind("StorageClass"), short: []string{"sc"}, table: storageClassPrinter},
	{id: Leases, gvk: coordinationv1.SchemeGroupVersion.WithKind("Lease"), namespaced: true, table: leasePrinter},
}

// byGVR finds a resource by group, version and plural name.
var byGVR = map[schema.GroupVersionResource]*resource{}

func init() {
	for _, r := range resources {
		r.plural, _, _ = strings.Cut(r.id, ".")
		r.singular = strings.ToLower(r.gvk.Kind)
		if r.from == "" {
			r.from = r.id
		}
		r.newList = listMaker(r.gvk)
		byGVR[r.gvk.GroupVersion().WithResource(r.plural)] = r
	}
}

// apiVersion is the resource's "group/version" ("v1" for core).
func (r *resource) apiVersion() string { return r.gvk.GroupVersion().String() }

// fieldSet is the object's fields a field selector may name.
func (r *resource) fieldSet(o Object) fields.Set {
	set := fields.Set{}
	if r.fields != nil {
		set = r.fields(o)
	}
	set["metadata.name"] = o.GetName()
	if r.namespaced {
		set["metadata.namespace"] = o.GetNamespace()
	}
	return set
}

// listMaker makes empty lists of a kind: the list types are generic here,
// as the items are written by the server.
func listMaker(gvk schema.GroupVersionKind) func() runtime.Object {
	return func() runtime.Object {
		return &metav1.List{TypeMeta: metav1.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind + "List"}}
	}
}

// groupVersions lists the served group versions, core first.
func groupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, r := range resources {
		gv := r.gvk.GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	return append(out, extraGroupVersions...)
}

// serves reports whether the resource serves a subresource ("" for the
// object itself).
func (r *resource) serves(sub string) bool { return sub == "" || slices.Contains(r.subresources, sub) }
