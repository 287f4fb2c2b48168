// Package reconciler is berth's pure planning: workload controllers and the
// scheduler. It takes a read-only view of the cluster and the time and
// returns a plan; it does no I/O and keeps no state.
package reconciler

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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
}

// Reconcile computes the plan that moves the pods toward the desired
// objects: create, delete, and schedule.
func Reconcile(in Input, now time.Time) api.Plan {
	var plan api.Plan
	existing := indexPods(in.Pods)
	desired := in.Desired
	if desired == nil {
		desired = &api.ObjectSet{}
	}
	wantBare := map[string]*corev1.Pod{}
	for i := range desired.Pods {
		wantBare[api.PodKey(&desired.Pods[i])] = &desired.Pods[i]
	}
	wantDeploy := map[string]*appsv1.Deployment{}
	for i := range desired.Deployments {
		d := &desired.Deployments[i]
		wantDeploy[api.Key(d.Namespace, d.Name)] = d
	}
	deletes := orphans(in.Pods, wantBare, wantDeploy)
	for _, d := range desired.Deployments {
		create, del := scaleDeployment(&d, in.Pods, existing, in.Commit)
		plan.Create = append(plan.Create, create...)
		deletes = append(deletes, del...)
	}
	for _, key := range sortedKeys(wantBare) {
		if _, ok := existing[key]; !ok {
			plan.Create = append(plan.Create, barePod(wantBare[key], in.Commit))
		}
	}
	plan.Delete = deletes
	schedule(&plan, in, now)
	return plan
}

func indexPods(pods []corev1.Pod) map[string]*corev1.Pod {
	m := make(map[string]*corev1.Pod, len(pods))
	for i := range pods {
		m[api.PodKey(&pods[i])] = &pods[i]
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// orphans returns the pods, not already terminating, whose owner is gone from
// Git or whose spec no longer matches it.
func orphans(pods []corev1.Pod, bare map[string]*corev1.Pod, deploys map[string]*appsv1.Deployment) []string {
	var out []string
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		kind, name := owner(p)
		switch kind {
		case "Pod":
			want, ok := bare[api.PodKey(p)]
			if !ok || p.Annotations[api.AnnotationSpecHash] != specHash(want) {
				out = append(out, api.PodKey(p))
			}
		case "Deployment":
			d, ok := deploys[api.Key(p.Namespace, name)]
			if !ok || p.Labels[api.LabelPodTemplateHash] != templateHash(&d.Spec.Template) {
				out = append(out, api.PodKey(p))
			}
		default:
			out = append(out, api.PodKey(p))
		}
	}
	return out
}

// owner splits the owner annotation "Kind/name".
func owner(p *corev1.Pod) (kind, name string) {
	o := p.Annotations[api.AnnotationOwner]
	for i := 0; i < len(o); i++ {
		if o[i] == '/' {
			return o[:i], o[i+1:]
		}
	}
	return "", ""
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

func uid(parts ...string) string {
	h := fnv.New128a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
