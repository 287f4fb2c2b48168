package reconciler

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
)

// suffixAlphabet is the alphabet Kubernetes draws pod name suffixes from.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffix is a 5 character name suffix drawn from a hash of parts.
func suffix(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	v := h.Sum64()
	out := make([]byte, 5)
	for k := range out {
		out[k] = suffixAlphabet[v%uint64(len(suffixAlphabet))]
		v /= uint64(len(suffixAlphabet))
	}
	return string(out)
}

// freeName is "<base>-<suffix>", the first suffix (hashed from salt and a
// counter) that no pod has yet and that is not in taken. The pass keeps
// each base's counter, so the next name starts where the last one was
// found (every suffix before it is in use): n new pods cost n lookups,
// not n²/2.
func (r *pass) freeName(ns, base, salt string, taken map[string]bool) string {
	key := ns + "/" + base + "/" + salt
	for i := r.nameNext[key]; ; i++ {
		name := base + "-" + suffix(base, salt, r.in.Commit, strconv.Itoa(i))
		if _, ok := r.existing[api.Key(ns, name)]; ok {
			continue
		}
		if !taken[name] {
			taken[name] = true
			r.nameNext[key] = i + 1
			return name
		}
	}
}

// templatePod is a new pod of a controller: the template's labels,
// annotations and spec, with extra labels, stamped with its owner. Its
// UID is drawn from its name and the time of the pass, so a pod created
// again under the same name (a StatefulSet's) gets a new one.
func (r *pass) templatePod(t *corev1.PodTemplateSpec, ns, name, ownerRef string, extra map[string]string) corev1.Pod {
	t = t.DeepCopy()
	p := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: t.Labels, Annotations: t.Annotations},
		Spec:       t.Spec,
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	for k, v := range extra {
		p.Labels[k] = v
	}
	stamp(&p, ownerRef, r.in.Commit, r.now.Format(time.RFC3339Nano))
	p.OwnerReferences = []metav1.OwnerReference{controllerRef(ownerRef, ns, p.Labels)}
	return p
}

// controllerRef is the ownerReference Kubernetes gives a controller's
// pod: a Deployment's pods belong to its ReplicaSet of their template.
// berth collects garbage by the owner annotation; the reference is for
// the tools that read it.
func controllerRef(ownerRef, ns string, labels map[string]string) metav1.OwnerReference {
	kind, name, _ := strings.Cut(ownerRef, "/")
	apiVersion := map[string]string{"ReplicationController": "v1", "Job": "batch/v1"}[kind]
	if apiVersion == "" {
		apiVersion = "apps/v1"
	}
	if kind == "Deployment" {
		kind, name = "ReplicaSet", name+"-"+labels[api.LabelPodTemplateHash]
	}
	id := types.UID(uid(kind, ns, name))
	if kind == "Job" {
		id = types.UID(labels[api.LabelControllerUID])
	}
	yes := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: id, Controller: &yes, BlockOwnerDeletion: &yes}
}

// scaleTo creates pods with newPod, or deletes the ones that are first to
// go, until active holds want pods.
func (r *pass) scaleTo(active []*corev1.Pod, want int, newPod func(taken map[string]bool) corev1.Pod) {
	if len(active) > want {
		for _, p := range byDeletionRank(active)[:len(active)-want] {
			r.delete(p)
		}
		return
	}
	taken := map[string]bool{}
	for n := len(active); n < want; n++ {
		r.create(newPod(taken))
	}
}

// byDeletionRank sorts pods in the order Kubernetes scales down: not
// scheduled, then not running, then not ready, then the newest.
func byDeletionRank(pods []*corev1.Pod) []*corev1.Pod {
	out := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool { return deletionRank(out[i]) < deletionRank(out[j]) })
	return out
}

func deletionRank(p *corev1.Pod) string {
	rank := 3
	switch {
	case p.Spec.NodeName == "":
		rank = 0
	case p.Status.Phase != corev1.PodRunning:
		rank = 1
	case !PodReady(p):
		rank = 2
	}
	return fmt.Sprintf("%d-%020d-%s", rank, 1<<62-p.CreationTimestamp.Unix(), p.Name)
}

// PodReady reports whether the pod's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	return readySince(p) != nil
}

// readySince is when the pod's Ready condition last became true, or nil
// when it is not true.
func readySince(p *corev1.Pod) *metav1.Time {
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return nil
}

// Available reports whether a pod is running and has been ready for
// minReadySeconds.
func Available(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	since := readySince(p)
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || since == nil {
		return false
	}
	return minReadySeconds == 0 || !since.Add(time.Duration(minReadySeconds)*time.Second).After(now)
}

func countAvailable(pods []*corev1.Pod, minReady int32, now time.Time) int {
	n := 0
	for _, p := range pods {
		if Available(p, minReady, now) {
			n++
		}
	}
	return n
}

func derefInt32(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}

// replicaSet keeps spec.replicas pods matching a ReplicaSet. As in
// Kubernetes, a changed template only shapes new pods: a ReplicaSet does
// not replace the pods it has.
func (r *pass) replicaSet(rs *appsv1.ReplicaSet) {
	active, _ := r.pods("ReplicaSet", rs.Namespace, rs.Name)
	r.scaleTo(active, int(derefInt32(rs.Spec.Replicas, 1)), func(taken map[string]bool) corev1.Pod {
		name := r.freeName(rs.Namespace, rs.Name, templateHash(&rs.Spec.Template), taken)
		return r.templatePod(&rs.Spec.Template, rs.Namespace, name, "ReplicaSet/"+rs.Name, nil)
	})
}

// replicationController is replicaSet for the older kind with an
// equality selector.
func (r *pass) replicationController(rc *corev1.ReplicationController) {
	active, _ := r.pods("ReplicationController", rc.Namespace, rc.Name)
	r.scaleTo(active, int(derefInt32(rc.Spec.Replicas, 1)), func(taken map[string]bool) corev1.Pod {
		name := r.freeName(rc.Namespace, rc.Name, templateHash(rc.Spec.Template), taken)
		return r.templatePod(rc.Spec.Template, rc.Namespace, name, "ReplicationController/"+rc.Name, nil)
	})
}
