// Package reconciler is berth's pure planning: workload controllers and the
// scheduler. It takes a read-only view of the cluster and the time and
// returns a plan; it does no I/O and keeps no state.
package reconciler

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/berth-dev/berth/api"
)

// Input is the state the reconciler plans from. It must not be modified.
type Input struct {
	Commit  string
	Desired *api.ObjectSet
	Nodes   []api.Node
	Pods    []corev1.Pod
	// Jobs are the recorded Job runs; CronJobs the recorded schedules.
	Jobs     []batchv1.Job
	CronJobs []batchv1.CronJob
	// Claims maps "namespace/claim" to the node that holds its data.
	Claims map[string]string
	// NodeTimeout is how long a node may miss heartbeats and stay Ready
	// (api.NodeReadyTimeout when zero).
	NodeTimeout time.Duration
	// PodNetwork gives nodes their pod CIDRs; nil gives none (the cluster
	// has not turned on the format that records them).
	PodNetwork *PodNetwork
	// Storage says the cluster records volumes and claims (format 4):
	// only then are claims bound, volumes provisioned and released, and
	// StatefulSets' claims recorded. Volumes are the volume records and
	// PVCs the StatefulSets' claims.
	Storage bool
	Volumes []corev1.PersistentVolume
	PVCs    []corev1.PersistentVolumeClaim
}

// nodeTimeout is the input's node timeout, or the default.
func (in *Input) nodeTimeout() time.Duration {
	if in.NodeTimeout > 0 {
		return in.NodeTimeout
	}
	return api.NodeReadyTimeout
}

// pass is one run of the reconciler: the input, indexed, and the plan it
// builds.
type pass struct {
	in       Input
	now      time.Time
	desired  *api.ObjectSet
	existing map[string]*corev1.Pod   // every pod, by key
	owned    map[string][]*corev1.Pod // pods by owner "Kind/namespace/name"
	nodes    []api.Node               // registered nodes with Git's labels and taints
	plan     api.Plan
	nameNext map[string]int // freeName's counter of each name base
	// claimRecords are the StatefulSets' claims, by key.
	claimRecords map[string]*corev1.PersistentVolumeClaim
}

// Reconcile computes the plan that moves the pods toward the desired
// objects: each controller's creates and deletes, the Job and CronJob
// records, garbage collection of pods whose owner is gone, and the
// scheduling of what is pending.
func Reconcile(in Input, now time.Time) api.Plan {
	in = in.withNodeConditions(now)
	r := newPass(in, now)
	r.plan.PodCIDRs = allocatePodCIDRs(in)
	live := map[string]bool{}
	for _, c := range r.controllers() {
		live[c.owner] = true
		c.sync()
	}
	r.collectGarbage(live)
	r.forgetCronJobs()
	r.evict()
	r.forceDelete()
	r.collectOrphans()
	r.dedupeDeletes()
	st := r.storage()
	schedule(&r.plan, in, now, st)
	if st != nil {
		st.release(claimsInUse(in.Pods, r.plan.Create))
		st.record(&r.plan)
	}
	return r.plan
}

// storage is the pass's view of claims and volumes once the controllers
// made and deleted claims, with the claims that wait for nothing bound
// and the claim folders of older releases adopted (nil while the cluster
// does not record storage).
func (r *pass) storage() *storage {
	if !r.in.Storage {
		return nil
	}
	r.collectClaims(claimsInUse(r.in.Pods, r.plan.Create))
	st := newStorage(&r.in, r.desired, r.now)
	for _, key := range r.plan.DeleteClaims {
		delete(st.claims, key)
	}
	for i := range r.plan.Claims {
		st.addClaim(&r.plan.Claims[i])
	}
	st.adopt()
	st.bindImmediate()
	return st
}

func newPass(in Input, now time.Time) *pass {
	r := &pass{in: in, now: now, desired: in.Desired, existing: indexPods(in.Pods), owned: map[string][]*corev1.Pod{}, nameNext: map[string]int{}}
	if r.desired == nil {
		r.desired = &api.ObjectSet{}
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		if kind, name := owner(p); kind != "" {
			r.owned[ownerKey(kind, p.Namespace, name)] = append(r.owned[ownerKey(kind, p.Namespace, name)], p)
		}
	}
	r.nodes = api.WithConditionTaints(api.WithGit(in.Nodes, r.desired.Nodes), now, in.nodeTimeout())
	r.claimRecords = map[string]*corev1.PersistentVolumeClaim{}
	for i := range in.PVCs {
		r.claimRecords[api.Key(in.PVCs[i].Namespace, in.PVCs[i].Name)] = &in.PVCs[i]
	}
	return r
}

// controller is one object that owns pods, and the function that moves
// its pods toward its spec.
type controller struct {
	owner string // "Kind/namespace/name"
	sync  func()
}

// controllers lists every owner of pods the desired state and the
// records hold.
func (r *pass) controllers() []controller {
	d := r.desired
	var cs []controller
	add := func(kind, ns, name string, sync func()) {
		cs = append(cs, controller{ownerKey(kind, ns, name), sync})
	}
	for i := range d.Pods {
		p := &d.Pods[i]
		add("Pod", p.Namespace, p.Name, func() { r.barePod(p) })
	}
	for i := range d.Deployments {
		o := &d.Deployments[i]
		add("Deployment", o.Namespace, o.Name, func() { r.deployment(o) })
	}
	for i := range d.ReplicaSets {
		o := &d.ReplicaSets[i]
		add("ReplicaSet", o.Namespace, o.Name, func() { r.replicaSet(o) })
	}
	for i := range d.ReplicationControllers {
		o := &d.ReplicationControllers[i]
		add("ReplicationController", o.Namespace, o.Name, func() { r.replicationController(o) })
	}
	for i := range d.DaemonSets {
		o := &d.DaemonSets[i]
		add("DaemonSet", o.Namespace, o.Name, func() { r.daemonSet(o) })
	}
	for i := range d.StatefulSets {
		o := &d.StatefulSets[i]
		add("StatefulSet", o.Namespace, o.Name, func() { r.statefulSet(o); r.statefulClaims(o) })
	}
	for _, j := range r.jobs() {
		add("Job", j.Namespace, j.Name, func() { r.job(j) })
	}
	for i := range d.CronJobs {
		o := &d.CronJobs[i]
		add("CronJob", o.Namespace, o.Name, func() { r.cronJob(o) })
	}
	return cs
}

// collectGarbage deletes the pods whose owner is gone: removed from Git,
// or a Job run that was forgotten.
func (r *pass) collectGarbage(live map[string]bool) {
	for i := range r.in.Pods {
		p := &r.in.Pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		kind, name := owner(p)
		if !live[ownerKey(kind, p.Namespace, name)] {
			r.delete(p)
		}
	}
}

// forgetCronJobs drops the records of CronJobs removed from Git.
func (r *pass) forgetCronJobs() {
	inGit := map[string]bool{}
	for _, c := range r.desired.CronJobs {
		inGit[api.Key(c.Namespace, c.Name)] = true
	}
	for _, c := range r.in.CronJobs {
		if key := api.Key(c.Namespace, c.Name); !inGit[key] {
			r.plan.DeleteCronJobs = append(r.plan.DeleteCronJobs, key)
		}
	}
}

// delete adds a pod to the plan's deletions.
func (r *pass) delete(p *corev1.Pod) {
	r.plan.Delete = append(r.plan.Delete, api.PodKey(p))
}

// create adds a pod to the plan's creations.
func (r *pass) create(p corev1.Pod) {
	r.plan.Create = append(r.plan.Create, p)
}

// pods returns an owner's active pods (neither terminating nor finished)
// and how many of its pods are terminating. A finished pod of a
// controller whose pods always restart was evicted; as in Kubernetes, it
// stays, visible, and a new pod takes its place.
func (r *pass) pods(kind, ns, name string) (active []*corev1.Pod, terminating int) {
	for _, p := range r.owned[ownerKey(kind, ns, name)] {
		switch {
		case p.DeletionTimestamp != nil:
			terminating++
		case !finished(p):
			active = append(active, p)
		}
	}
	return active, terminating
}

func ownerKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

func indexPods(pods []corev1.Pod) map[string]*corev1.Pod {
	m := make(map[string]*corev1.Pod, len(pods))
	for i := range pods {
		m[api.PodKey(&pods[i])] = &pods[i]
	}
	return m
}

// barePod creates a Pod manifest's pod, and replaces it when its spec
// changed in Git (pods are immutable).
func (r *pass) barePod(want *corev1.Pod) {
	hash := specHash(want)
	active, _ := r.pods("Pod", want.Namespace, want.Name)
	for _, p := range active {
		if p.Annotations[api.AnnotationSpecHash] != hash {
			r.delete(p)
		}
	}
	if _, ok := r.existing[api.PodKey(want)]; !ok {
		r.create(barePod(want, r.in.Commit))
	}
}

// owner splits the owner annotation "Kind/name".
func owner(p *corev1.Pod) (kind, name string) {
	kind, name, ok := strings.Cut(p.Annotations[api.AnnotationOwner], "/")
	if !ok {
		return "", ""
	}
	return kind, name
}

// hashOf is the FNV-32a hash of v's JSON, safe-encoded as Kubernetes encodes
// pod-template-hash.
func hashOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("reconciler: hashing %T: %v", v, err)) // k8s types always marshal
	}
	h := fnv.New32a()
	h.Write(data)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func templateHash(t *corev1.PodTemplateSpec) string { return hashOf(t) }

func specHash(p *corev1.Pod) string {
	return hashOf(struct {
		Labels      map[string]string
		Annotations map[string]string
		Spec        corev1.PodSpec
	}{p.Labels, p.Annotations, p.Spec})
}

// barePod is the pod berth creates for a Pod manifest.
func barePod(want *corev1.Pod, commit string) corev1.Pod {
	p := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: *want.ObjectMeta.DeepCopy(),
		Spec:       *want.Spec.DeepCopy(),
	}
	hash := specHash(want)
	stamp(&p, "Pod/"+want.Name, commit, hash)
	p.Annotations[api.AnnotationSpecHash] = hash
	return p
}

// stamp sets the owner and commit annotations, a UID derived from the
// pod's identity, and the Pending phase.
func stamp(p *corev1.Pod, ownerRef, commit, salt string) {
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[api.AnnotationOwner] = ownerRef
	p.Annotations[api.AnnotationCommit] = commit
	p.UID = types.UID(uid(p.Namespace, p.Name, commit, salt))
	p.Spec.NodeName = ""
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
}

// ObjectUID is the UID berth gives an object that Git names (a
// Deployment) or that it derives (a Deployment's ReplicaSet): the same on
// every master and after every restart.
func ObjectUID(kind, namespace, name string) string { return uid(kind, namespace, name) }

func uid(parts ...string) string { return api.HashUID(parts...) }
