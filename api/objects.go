package api

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ObjectSet is the set of typed objects decoded from one commit.
type ObjectSet struct {
	Namespaces  []corev1.Namespace  `json:"namespaces,omitempty"`
	Nodes       []corev1.Node       `json:"nodes,omitempty"`
	ConfigMaps  []corev1.ConfigMap  `json:"configMaps,omitempty"`
	Secrets     []corev1.Secret     `json:"secrets,omitempty"`
	Pods        []corev1.Pod        `json:"pods,omitempty"`
	Deployments []appsv1.Deployment `json:"deployments,omitempty"`
	// ReplicaSets and ReplicationControllers written in Git (a
	// Deployment's ReplicaSets are its pods grouped by template hash).
	ReplicaSets            []appsv1.ReplicaSet            `json:"replicaSets,omitempty"`
	ReplicationControllers []corev1.ReplicationController `json:"replicationControllers,omitempty"`
	DaemonSets             []appsv1.DaemonSet             `json:"daemonSets,omitempty"`
	StatefulSets           []appsv1.StatefulSet           `json:"statefulSets,omitempty"`
	Jobs                   []batchv1.Job                  `json:"jobs,omitempty"`
	CronJobs               []batchv1.CronJob              `json:"cronJobs,omitempty"`
	// Services have their cluster IP and node ports assigned by the
	// leader before the revision is recorded.
	Services []corev1.Service `json:"services,omitempty"`
	// Endpoints written in Git, for Services without a selector.
	Endpoints []corev1.Endpoints `json:"endpoints,omitempty"`
	// NetworkPolicies (raftstore format 2: a commit holding one is
	// refused while a master older than v0.2.0 votes).
	NetworkPolicies []networkingv1.NetworkPolicy `json:"networkPolicies,omitempty"`
	// Ingresses and IngressClasses (raftstore format 4: a commit holding
	// one is refused while a master older than v0.5.0 votes).
	Ingresses      []networkingv1.Ingress      `json:"ingresses,omitempty"`
	IngressClasses []networkingv1.IngressClass `json:"ingressClasses,omitempty"`
	// The Gateway API's kinds (raftstore format 4 too).
	GatewayClasses  []gatewayv1.GatewayClass   `json:"gatewayClasses,omitempty"`
	Gateways        []gatewayv1.Gateway        `json:"gateways,omitempty"`
	HTTPRoutes      []gatewayv1.HTTPRoute      `json:"httpRoutes,omitempty"`
	ReferenceGrants []gatewayv1.ReferenceGrant `json:"referenceGrants,omitempty"`
	// Storage (raftstore format 4 too): StorageClasses (besides the
	// built-in local-path), static PersistentVolumes, and claims.
	StorageClasses         []storagev1.StorageClass       `json:"storageClasses,omitempty"`
	PersistentVolumes      []corev1.PersistentVolume      `json:"persistentVolumes,omitempty"`
	PersistentVolumeClaims []corev1.PersistentVolumeClaim `json:"persistentVolumeClaims,omitempty"`
}

// Count returns the number of objects in the set.
func (s *ObjectSet) Count() int {
	if s == nil {
		return 0
	}
	return len(s.keyedObjects())
}

// Annotations and labels berth puts on the objects it creates.
const (
	// AnnotationCommit names the commit that produced an object's current spec.
	AnnotationCommit = "berth.dev/commit"
	// AnnotationOwner names the Git object that owns a pod, as "Kind/name".
	AnnotationOwner = "berth.dev/owner"
	// AnnotationSpecHash is the hash of the pod spec a pod was created from.
	AnnotationSpecHash = "berth.dev/spec-hash"
	// LabelPodTemplateHash is the label Kubernetes puts on a Deployment's pods.
	LabelPodTemplateHash = "pod-template-hash"
	// LabelControllerRevisionHash marks the template revision of a
	// DaemonSet's or StatefulSet's pod.
	LabelControllerRevisionHash = "controller-revision-hash"
	// LabelStatefulSetPodName is the label a StatefulSet puts on its pods.
	LabelStatefulSetPodName = "statefulset.kubernetes.io/pod-name"
	// LabelPodIndex is a StatefulSet pod's ordinal.
	LabelPodIndex = "apps.kubernetes.io/pod-index"
	// The labels of a Job's pods, as Kubernetes sets them.
	LabelJobName           = "job-name"
	LabelControllerUID     = "controller-uid"
	LabelBatchJobName      = "batch.kubernetes.io/job-name"
	LabelBatchControllerID = "batch.kubernetes.io/controller-uid"
	// LabelJobCompletionIndex (label and annotation) is an Indexed Job
	// pod's index.
	LabelJobCompletionIndex = "batch.kubernetes.io/job-completion-index"
	// AnnotationCronJobScheduledTimestamp is when a CronJob's Job was due.
	AnnotationCronJobScheduledTimestamp = "batch.kubernetes.io/cronjob-scheduled-timestamp"
)

// Key returns the "namespace/name" key of an object.
func Key(namespace, name string) string { return namespace + "/" + name }

// PodKey returns the "namespace/name" key of a pod.
func PodKey(p *corev1.Pod) string { return Key(p.Namespace, p.Name) }

// keyedObjects maps "Kind/namespace/name" ("Kind/name" for Namespaces
// and Nodes) to each object of the set.
func (s *ObjectSet) keyedObjects() map[string]any {
	m := map[string]any{}
	if s == nil {
		return m
	}
	for i := range s.Namespaces {
		m["Namespace/"+s.Namespaces[i].Name] = &s.Namespaces[i]
	}
	for i := range s.Nodes {
		m["Node/"+s.Nodes[i].Name] = withoutTaintTimes(&s.Nodes[i])
	}
	keyAll(m, "ConfigMap", s.ConfigMaps)
	keyAll(m, "Secret", s.Secrets)
	keyAll(m, "Pod", s.Pods)
	keyAll(m, "Deployment", s.Deployments)
	keyAll(m, "ReplicaSet", s.ReplicaSets)
	keyAll(m, "ReplicationController", s.ReplicationControllers)
	keyAll(m, "DaemonSet", s.DaemonSets)
	keyAll(m, "StatefulSet", s.StatefulSets)
	keyAll(m, "Job", s.Jobs)
	keyAll(m, "CronJob", s.CronJobs)
	keyAll(m, "Service", s.Services)
	keyAll(m, "Endpoints", s.Endpoints)
	keyAll(m, "NetworkPolicy", s.NetworkPolicies)
	keyAll(m, "Ingress", s.Ingresses)
	for i := range s.IngressClasses {
		m["IngressClass/"+s.IngressClasses[i].Name] = &s.IngressClasses[i]
	}
	for i := range s.GatewayClasses {
		m["GatewayClass/"+s.GatewayClasses[i].Name] = &s.GatewayClasses[i]
	}
	keyAll(m, "Gateway", s.Gateways)
	keyAll(m, "HTTPRoute", s.HTTPRoutes)
	keyAll(m, "ReferenceGrant", s.ReferenceGrants)
	for i := range s.StorageClasses {
		m["StorageClass/"+s.StorageClasses[i].Name] = &s.StorageClasses[i]
	}
	for i := range s.PersistentVolumes {
		m["PersistentVolume/"+s.PersistentVolumes[i].Name] = &s.PersistentVolumes[i]
	}
	keyAll(m, "PersistentVolumeClaim", s.PersistentVolumeClaims)
	return m
}

// Keys lists the set's objects as "Kind/namespace/name" ("Kind/name" for
// cluster-scoped kinds), sorted.
func (s *ObjectSet) Keys() []string {
	keys := slices.Collect(maps.Keys(s.keyedObjects()))
	slices.Sort(keys)
	return keys
}

// keyAll adds namespaced objects to m under "Kind/namespace/name".
func keyAll[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](m map[string]any, kind string, items []T) {
	for i := range items {
		p := P(&items[i])
		m[kind+"/"+Key(p.GetNamespace(), p.GetName())] = p
	}
}

// Summarize lists what next adds, changes and removes against prev.
func Summarize(prev, next *ObjectSet) *Summary {
	before, after := prev.keyedObjects(), next.keyedObjects()
	sum := &Summary{}
	for k, v := range after {
		old, ok := before[k]
		switch {
		case !ok:
			sum.Added = append(sum.Added, k)
		case !equalJSON(old, v):
			sum.Changed = append(sum.Changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			sum.Removed = append(sum.Removed, k)
		}
	}
	sort.Strings(sum.Added)
	sort.Strings(sum.Changed)
	sort.Strings(sum.Removed)
	return sum
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// withoutTaintTimes is a Node manifest as Git holds it: the store dates
// its taints (TimeAdded), which is no change of the manifest.
func withoutTaintTimes(n *corev1.Node) *corev1.Node {
	c := n.DeepCopy()
	for i := range c.Spec.Taints {
		c.Spec.Taints[i].TimeAdded = nil
	}
	return c
}
