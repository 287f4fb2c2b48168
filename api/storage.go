package api

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Storage: the built-in StorageClass, and the names Kubernetes gives the
// annotations and labels of volumes.
const (
	// LocalPathClass is the built-in StorageClass: a folder on the node
	// the claim's first pod runs on, made when that pod is scheduled
	// (WaitForFirstConsumer), as k3s's local-path-provisioner does.
	LocalPathClass = "local-path"
	// LocalPathProvisioner provisions LocalPathClass's volumes;
	// RancherLocalPathProvisioner is k3s's name for the same thing,
	// which berth takes too.
	LocalPathProvisioner        = "berth.dev/local-path"
	RancherLocalPathProvisioner = "rancher.io/local-path"
	// NoProvisioner marks a class of static volumes only.
	NoProvisioner = "kubernetes.io/no-provisioner"
	// AnnotationDefaultStorageClass marks the class that claims without
	// storageClassName take.
	AnnotationDefaultStorageClass = "storageclass.kubernetes.io/is-default-class"
	// AnnotationProvisionedBy names the provisioner of a volume.
	AnnotationProvisionedBy = "pv.kubernetes.io/provisioned-by"
	// AnnotationSelectedNode is the node the scheduler chose for a claim
	// of a WaitForFirstConsumer class.
	AnnotationSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnotationAdopted marks a volume made for the folder of a
	// StatefulSet claim kept by a release before v0.5.0.
	AnnotationAdopted = "berth.dev/adopted-claim-folder"
	// AnnotationSizeEnforced says whether a volume's (and its claim's)
	// size limits what it holds: "true" for a local-path volume its
	// agent made a filesystem of that size, "false" for a plain folder,
	// whose size nothing limits; AnnotationSizeNotEnforced says why not.
	AnnotationSizeEnforced    = "berth.dev/size-enforced"
	AnnotationSizeNotEnforced = "berth.dev/size-not-enforced"
)

// VolumeReport is what an agent says of a local-path volume it set up:
// whether its size is enforced, and why not.
type VolumeReport struct {
	Name         string `json:"name"`
	SizeEnforced bool   `json:"sizeEnforced"`
	Reason       string `json:"reason,omitempty"`
}

// ProvisionsLocalPath reports whether a provisioner is berth's local-path
// provisioner (under either name).
func ProvisionsLocalPath(provisioner string) bool {
	return provisioner == LocalPathProvisioner || provisioner == RancherLocalPathProvisioner
}

// BuiltinStorageClass is the class berth always has unless Git defines
// one of the same name: local-path, WaitForFirstConsumer, reclaim policy
// Delete; the default when Git marks no class as the default.
func BuiltinStorageClass(isDefault bool) storagev1.StorageClass {
	reclaim, mode := corev1.PersistentVolumeReclaimDelete, storagev1.VolumeBindingWaitForFirstConsumer
	sc := storagev1.StorageClass{
		TypeMeta:          metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta:        metav1.ObjectMeta{Name: LocalPathClass},
		Provisioner:       LocalPathProvisioner,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
	}
	if isDefault {
		sc.Annotations = map[string]string{AnnotationDefaultStorageClass: "true"}
	}
	return sc
}

// StorageClassesWithBuiltin is the commit's StorageClasses and the
// built-in local-path class (unless the commit defines its own), which is
// the default when no class of the commit is.
func (s *ObjectSet) StorageClassesWithBuiltin() []storagev1.StorageClass {
	var out []storagev1.StorageClass
	own, anyDefault := false, false
	if s != nil {
		out = append(out, s.StorageClasses...)
		for _, sc := range s.StorageClasses {
			own = own || sc.Name == LocalPathClass
			anyDefault = anyDefault || sc.Annotations[AnnotationDefaultStorageClass] == "true"
		}
	}
	if !own {
		out = append(out, BuiltinStorageClass(!anyDefault))
	}
	return out
}

// VolumeNode is the one node a volume's node affinity allows ("" when
// it names no single node by hostname).
func VolumeNode(pv *corev1.PersistentVolume) string {
	a := pv.Spec.NodeAffinity
	if a == nil || a.Required == nil || len(a.Required.NodeSelectorTerms) != 1 {
		return ""
	}
	t := a.Required.NodeSelectorTerms[0]
	if len(t.MatchExpressions) != 1 || len(t.MatchFields) != 0 {
		return ""
	}
	e := t.MatchExpressions[0]
	if e.Key != LabelHostname || e.Operator != corev1.NodeSelectorOpIn || len(e.Values) != 1 {
		return ""
	}
	return e.Values[0]
}

// PinToNode is the node affinity that keeps a volume on one node.
func PinToNode(node string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}}
}

// ClaimKey is the "namespace/name" of the claim a volume is bound to
// ("" when none).
func ClaimKey(pv *corev1.PersistentVolume) string {
	if r := pv.Spec.ClaimRef; r != nil && r.Name != "" {
		return Key(r.Namespace, r.Name)
	}
	return ""
}

// ClaimsOf lists the claims ("namespace/name") a pod's volumes name.
func ClaimsOf(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil {
			out = append(out, Key(p.Namespace, c.ClaimName))
		}
	}
	return out
}

// ClaimName is the claim of ordinal i of a StatefulSet for one of its
// volumeClaimTemplates, named as Kubernetes names it:
// "<template>-<set>-<i>".
func ClaimName(template, set string, i int) string { return fmt.Sprintf("%s-%s-%d", template, set, i) }

// WithClaimVolumes adds to a StatefulSet pod's volumes one per claim
// template, naming the claim claimName gives; a volume of the template
// with a claim template's name is replaced by the claim, as the
// StatefulSet controller does.
func WithClaimVolumes(volumes []corev1.Volume, templates []corev1.PersistentVolumeClaim, claimName func(template string) string) []corev1.Volume {
	if len(templates) == 0 {
		return volumes
	}
	claimed := map[string]bool{}
	for _, t := range templates {
		claimed[t.Name] = true
	}
	out := make([]corev1.Volume, 0, len(volumes)+len(templates))
	for _, v := range volumes {
		if !claimed[v.Name] {
			out = append(out, v)
		}
	}
	for _, t := range templates {
		out = append(out, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(t.Name)},
		}})
	}
	return out
}

// AccessModes prints access modes as kubectl does: RWO, ROX, RWX, RWOP.
func AccessModes(modes []corev1.PersistentVolumeAccessMode) string {
	short := map[corev1.PersistentVolumeAccessMode]string{corev1.ReadWriteOnce: "RWO", corev1.ReadOnlyMany: "ROX",
		corev1.ReadWriteMany: "RWX", corev1.ReadWriteOncePod: "RWOP"}
	out := make([]string, 0, len(modes))
	for _, m := range modes {
		out = append(out, short[m])
	}
	return strings.Join(out, ",")
}
