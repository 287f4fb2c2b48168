package reconciler

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-dev/berth/api"
)

// The binding of PersistentVolumeClaims to PersistentVolumes, by the rules
// of Kubernetes' PV controller (issue #19; not wired into the plan yet).

// ClaimClass is the StorageClass a claim asks for: its storageClassName,
// or the default class when it names none ("" when there is no default).
// A claim whose storageClassName is "" asks for volumes without a class.
func ClaimClass(c *corev1.PersistentVolumeClaim, classes []storagev1.StorageClass) string {
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	var defaults []storagev1.StorageClass
	for _, sc := range classes {
		if sc.Annotations[api.AnnotationDefaultStorageClass] == "true" {
			defaults = append(defaults, sc)
		}
	}
	if len(defaults) == 0 {
		return ""
	}
	// Several defaults: the newest wins, as the apiserver's admission does.
	slices.SortFunc(defaults, func(a, b storagev1.StorageClass) int {
		return cmp.Or(b.CreationTimestamp.Compare(a.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	return defaults[0].Name
}

// MatchVolume finds the volume a claim binds to: the one it names
// (spec.volumeName), else the smallest available volume of its class and
// volume mode that offers its access modes, its size and its selector's
// labels, reserved for no other claim (claimRef). boundTo maps each bound
// volume to its claim ("namespace/name"). When none fits, why says so.
func MatchVolume(c *corev1.PersistentVolumeClaim, class string, volumes []corev1.PersistentVolume, boundTo map[string]string) (pv *corev1.PersistentVolume, why string) {
	key := c.Namespace + "/" + c.Name
	var best *corev1.PersistentVolume
	for i := range volumes {
		v := &volumes[i]
		if c.Spec.VolumeName != "" && v.Name != c.Spec.VolumeName {
			continue
		}
		if owner := boundTo[v.Name]; owner != "" && owner != key {
			if c.Spec.VolumeName != "" {
				return nil, fmt.Sprintf("volume %s is bound to claim %s", v.Name, owner)
			}
			continue
		}
		if reason := volumeFits(c, class, v); reason != "" {
			if c.Spec.VolumeName != "" {
				return nil, fmt.Sprintf("volume %s: %s", v.Name, reason)
			}
			continue
		}
		if boundTo[v.Name] == key || reservedFor(v, c) {
			return v, "" // already this claim's
		}
		if v.Spec.ClaimRef != nil {
			continue // reserved for another claim
		}
		if best == nil || smaller(v, best) {
			best = v
		}
	}
	switch {
	case best != nil:
		return best, ""
	case c.Spec.VolumeName != "":
		return nil, fmt.Sprintf("volume %s does not exist", c.Spec.VolumeName)
	}
	request := requestOf(c)
	return nil, fmt.Sprintf("no persistent volume of class %q offers %s with access modes %v", class, request.String(), c.Spec.AccessModes)
}

// volumeFits says why a volume cannot hold a claim ("" when it can):
// class, volume mode, access modes, size, selector.
func volumeFits(c *corev1.PersistentVolumeClaim, class string, v *corev1.PersistentVolume) string {
	if v.Spec.StorageClassName != class {
		return fmt.Sprintf("its class %q is not the claim's %q", v.Spec.StorageClassName, class)
	}
	if volumeMode(c.Spec.VolumeMode) != volumeMode(v.Spec.VolumeMode) {
		return fmt.Sprintf("its volume mode %s is not the claim's %s", volumeMode(v.Spec.VolumeMode), volumeMode(c.Spec.VolumeMode))
	}
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(v.Spec.AccessModes, m) {
			return fmt.Sprintf("it does not offer access mode %s", m)
		}
	}
	capacity, request := v.Spec.Capacity[corev1.ResourceStorage], requestOf(c)
	if capacity.Cmp(request) < 0 {
		return fmt.Sprintf("its capacity %s is less than the claim's %s", capacity.String(), request.String())
	}
	if c.Spec.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(c.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(v.Labels)) {
			return "its labels do not match the claim's selector"
		}
	}
	return ""
}

// reservedFor reports whether a volume's claimRef names the claim.
func reservedFor(v *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) bool {
	r := v.Spec.ClaimRef
	return r != nil && r.Name == c.Name && r.Namespace == c.Namespace
}

// smaller orders volumes by capacity, then name.
func smaller(a, b *corev1.PersistentVolume) bool {
	ca, cb := a.Spec.Capacity[corev1.ResourceStorage], b.Spec.Capacity[corev1.ResourceStorage]
	if d := ca.Cmp(cb); d != 0 {
		return d < 0
	}
	return a.Name < b.Name
}

func volumeMode(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
	if m == nil {
		return corev1.PersistentVolumeFilesystem
	}
	return *m
}

// requestOf is a claim's storage request.
func requestOf(c *corev1.PersistentVolumeClaim) resource.Quantity {
	return c.Spec.Resources.Requests[corev1.ResourceStorage]
}
