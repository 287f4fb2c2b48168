package reconciler

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/berth-dev/berth/api"
)

// StorageView is the storage objects as the API shows them: the classes
// (with the built-in local-path), the volumes (records, and Git's static
// volumes no record holds yet, Available), and the claims (Git's and the
// StatefulSets'), each Bound to its volume, with its capacity, or
// Pending.
type StorageView struct {
	Classes []storagev1.StorageClass
	Volumes []corev1.PersistentVolume
	Claims  []corev1.PersistentVolumeClaim
}

// Storage builds the storage view from the live objects and the records.
func Storage(desired *api.ObjectSet, volumes []corev1.PersistentVolume, claims []corev1.PersistentVolumeClaim) StorageView {
	if desired == nil {
		desired = &api.ObjectSet{}
	}
	v := StorageView{Classes: desired.StorageClassesWithBuiltin()}
	recorded := map[string]bool{}
	bound := map[string]*corev1.PersistentVolume{}
	for i := range volumes {
		pv := volumes[i].DeepCopy()
		recorded[pv.Name] = true
		if pv.Status.Phase == corev1.VolumeBound && pv.DeletionTimestamp == nil {
			bound[api.ClaimKey(pv)] = pv
		}
		v.Volumes = append(v.Volumes, *pv)
	}
	for _, pv := range desired.PersistentVolumes {
		if !recorded[pv.Name] {
			pv = *pv.DeepCopy()
			pv.Status.Phase = corev1.VolumeAvailable
			v.Volumes = append(v.Volumes, pv)
		}
	}
	sort.Slice(v.Volumes, func(i, j int) bool { return v.Volumes[i].Name < v.Volumes[j].Name })
	all := append(append([]corev1.PersistentVolumeClaim(nil), desired.PersistentVolumeClaims...), claims...)
	for i := range all {
		c := all[i].DeepCopy()
		claimStatus(c, bound[api.Key(c.Namespace, c.Name)], v.Classes)
		v.Claims = append(v.Claims, *c)
	}
	sort.Slice(v.Claims, func(i, j int) bool {
		return api.Key(v.Claims[i].Namespace, v.Claims[i].Name) < api.Key(v.Claims[j].Namespace, v.Claims[j].Name)
	})
	return v
}

// claimStatus fills a claim's status from its bound volume (nil: Pending).
func claimStatus(c *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, classes []storagev1.StorageClass) {
	if c.Spec.StorageClassName == nil {
		if class := ClaimClass(c, classes); class != "" {
			c.Spec.StorageClassName = &class
		}
	}
	if c.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		c.Spec.VolumeMode = &fs
	}
	if pv == nil {
		c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
		return
	}
	c.Spec.VolumeName = pv.Name
	c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: pv.Spec.AccessModes, Capacity: pv.Spec.Capacity}
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	enforced, why := sizeEnforced(pv)
	if enforced != "" {
		c.Annotations[api.AnnotationSizeEnforced] = enforced
	}
	if why != "" {
		c.Annotations[api.AnnotationSizeNotEnforced] = why
	}
	if n := api.VolumeNode(pv); n != "" {
		c.Annotations[api.AnnotationSelectedNode] = n
	}
}

// sizeEnforced is whether a volume's size is enforced ("true", "false",
// or "" until its agent says), and why not: its agent's report, or what
// berth knows of a static volume or an adopted claim folder.
func sizeEnforced(pv *corev1.PersistentVolume) (string, string) {
	switch {
	case pv.Annotations[api.AnnotationSizeEnforced] != "":
		return pv.Annotations[api.AnnotationSizeEnforced], pv.Annotations[api.AnnotationSizeNotEnforced]
	case pv.Annotations[api.AnnotationProvisionedBy] == "":
		return "false", "a static volume: berth does not limit hostPath or local volumes"
	case pv.Annotations[api.AnnotationAdopted] != "":
		return "false", "a claim folder of a release before v0.5.0"
	}
	return "", ""
}
