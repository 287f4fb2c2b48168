package reconciler

import (
	"maps"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
)

// statefulClaims keeps the claims a StatefulSet makes from its
// volumeClaimTemplates, as Kubernetes' StatefulSet controller does: one
// per template for each ordinal that has a pod (unless Git holds a claim
// of that name, which the pod then uses), owned by the set while its
// whenDeleted policy is Delete, and deleted once the ordinal is scaled
// away and its pod is gone when its whenScaled policy is Delete.
func (r *pass) statefulClaims(s *appsv1.StatefulSet) {
	if !r.in.Storage || len(s.Spec.VolumeClaimTemplates) == 0 {
		return
	}
	n := int(derefInt32(s.Spec.Replicas, 1))
	withPod := map[int]bool{}
	for _, p := range r.owned[ownerKey("StatefulSet", s.Namespace, s.Name)] {
		withPod[ordinal(s.Name, p.Name)] = true
	}
	for i := range r.plan.Create {
		if p := &r.plan.Create[i]; p.Namespace == s.Namespace && p.Annotations[api.AnnotationOwner] == "StatefulSet/"+s.Name {
			withPod[ordinal(s.Name, p.Name)] = true
		}
	}
	git := map[string]bool{}
	for _, c := range r.desired.PersistentVolumeClaims {
		git[api.Key(c.Namespace, c.Name)] = true
	}
	for i := range withPod {
		for _, t := range s.Spec.VolumeClaimTemplates {
			if key := api.Key(s.Namespace, ClaimName(t.Name, s.Name, i)); !git[key] {
				r.keepClaim(s, &t, i)
			}
		}
	}
	if p := s.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		return
	}
	for _, c := range r.claimRecords {
		if i := claimOrdinal(c, s); c.Namespace == s.Namespace && i >= n && !withPod[i] {
			r.deleteClaim(c)
		}
	}
}

// keepClaim records ordinal i's claim of a template, or updates its
// owner reference when the set's whenDeleted policy changed.
func (r *pass) keepClaim(s *appsv1.StatefulSet, t *corev1.PersistentVolumeClaim, i int) {
	name := ClaimName(t.Name, s.Name, i)
	owners := claimOwners(s)
	if old := r.claimRecords[api.Key(s.Namespace, name)]; old != nil {
		if len(old.OwnerReferences) != len(owners) {
			c := old.DeepCopy()
			c.OwnerReferences = owners
			r.plan.Claims = append(r.plan.Claims, *c)
		}
		return
	}
	c := corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, UID: types.UID(ObjectUID("PersistentVolumeClaim", s.Namespace, name)),
			Labels: maps.Clone(t.Labels), Annotations: maps.Clone(t.Annotations), OwnerReferences: owners, CreationTimestamp: metav1.NewTime(r.now)},
		Spec: *t.Spec.DeepCopy(),
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	if s.Spec.Selector != nil {
		maps.Copy(c.Labels, s.Spec.Selector.MatchLabels)
	}
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[api.AnnotationOwner] = "StatefulSet/" + s.Name
	r.plan.Claims = append(r.plan.Claims, c)
}

// claimOwners are the owner references of a set's claims: the set while
// its whenDeleted policy is Delete, none otherwise.
func claimOwners(s *appsv1.StatefulSet) []metav1.OwnerReference {
	p := s.Spec.PersistentVolumeClaimRetentionPolicy
	if p == nil || p.WhenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		return nil
	}
	yes := true
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: s.Name,
		UID: types.UID(ObjectUID("StatefulSet", s.Namespace, s.Name)), Controller: &yes, BlockOwnerDeletion: &yes}}
}

// claimOrdinal is the ordinal of a set's claim ("<template>-<set>-<i>"),
// or -1 when the claim is not the set's.
func claimOrdinal(c *corev1.PersistentVolumeClaim, s *appsv1.StatefulSet) int {
	if c.Annotations[api.AnnotationOwner] != "StatefulSet/"+s.Name {
		return -1
	}
	for _, t := range s.Spec.VolumeClaimTemplates {
		if rest, ok := strings.CutPrefix(c.Name, t.Name+"-"+s.Name+"-"); ok {
			if i, err := strconv.Atoi(rest); err == nil && strconv.Itoa(i) == rest {
				return i
			}
		}
	}
	return -1
}

func (r *pass) deleteClaim(c *corev1.PersistentVolumeClaim) {
	r.plan.DeleteClaims = append(r.plan.DeleteClaims, api.Key(c.Namespace, c.Name))
}

// collectClaims deletes the claims whose owning StatefulSet left Git
// (whenDeleted: Delete) once no pod uses them.
func (r *pass) collectClaims(inUse map[string]bool) {
	sets := map[string]bool{}
	for _, s := range r.desired.StatefulSets {
		sets[api.Key(s.Namespace, s.Name)] = true
	}
	for _, key := range sortedKeys(r.claimRecords) {
		c := r.claimRecords[key]
		for _, o := range c.OwnerReferences {
			if o.Kind == "StatefulSet" && !sets[api.Key(c.Namespace, o.Name)] && !inUse[key] {
				r.deleteClaim(c)
			}
		}
	}
}
