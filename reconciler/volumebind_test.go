package reconciler

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/api"
)

// pvOf is a volume of class with size and access modes.
func pvOf(name, class, size string, modes ...corev1.PersistentVolumeAccessMode) corev1.PersistentVolume {
	return corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{StorageClassName: class, AccessModes: modes,
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}
}

// claimOf is a claim in default of size and access modes.
func claimOf(name, size string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: modes,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
}

func TestMatchVolume(t *testing.T) {
	rwo, rwx, rox := corev1.ReadWriteOnce, corev1.ReadWriteMany, corev1.ReadOnlyMany
	volumes := []corev1.PersistentVolume{
		pvOf("small", "manual", "1Gi", rwo),
		pvOf("medium", "manual", "5Gi", rwo, rox),
		pvOf("large", "manual", "10Gi", rwo, rwx),
		pvOf("fast", "ssd", "5Gi", rwo),
		pvOf("taken", "manual", "2Gi", rwo),
		pvOf("reserved", "manual", "3Gi", rwo),
		pvOf("block", "manual", "4Gi", rwo),
	}
	volumes[5].Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "owner"}
	volumes[6].Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	volumes[2].Labels = map[string]string{"tier": "gold"}
	bound := map[string]string{"taken": "default/someone"}
	selective := claimOf("gold", "1Gi", rwo)
	selective.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	named := claimOf("named", "1Gi", rwo)
	named.Spec.VolumeName = "medium"
	namedTaken := claimOf("named-taken", "1Gi", rwo)
	namedTaken.Spec.VolumeName = "taken"
	namedSmall := claimOf("named-small", "8Gi", rwo)
	namedSmall.Spec.VolumeName = "medium"
	for _, tc := range []struct {
		claim *corev1.PersistentVolumeClaim
		class string
		want  string // a volume's name, or part of why none fits
	}{
		{claimOf("a", "1Gi", rwo), "manual", "small"},        // the smallest that fits
		{claimOf("b", "2Gi", rwo), "manual", "medium"},       // taken and reserved are not free
		{claimOf("c", "1Gi", rox), "manual", "medium"},       // access modes
		{claimOf("d", "1Gi", rwx), "manual", "large"},        // access modes
		{claimOf("e", "1Gi", rwo), "ssd", "fast"},            // class
		{claimOf("owner", "1Gi", rwo), "manual", "reserved"}, // its claimRef
		{claimOf("f", "20Gi", rwo), "manual", `no persistent volume of class "manual" offers 20Gi`},
		{claimOf("g", "1Gi", rwo), "", `no persistent volume of class ""`},
		{selective, "manual", "large"},
		{named, "manual", "medium"},
		{namedTaken, "manual", "volume taken is bound to claim default/someone"},
		{namedSmall, "manual", "volume medium: its capacity 5Gi is less than the claim's 8Gi"},
	} {
		pv, why := MatchVolume(tc.claim, tc.class, volumes, bound)
		got := why
		if pv != nil {
			got = pv.Name
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("claim %s (class %q): %q, want %q", tc.claim.Name, tc.class, got, tc.want)
		}
	}
	// A volume already bound to the claim stays its own.
	if pv, _ := MatchVolume(claimOf("someone", "1Gi", rwo), "manual", volumes, bound); pv == nil || pv.Name != "taken" {
		t.Errorf("a claim's bound volume: %v", pv)
	}
}

func TestClaimClass(t *testing.T) {
	old, recent := metav1.NewTime(time.Unix(1, 0)), metav1.NewTime(time.Unix(2, 0))
	def := map[string]string{api.AnnotationDefaultStorageClass: "true"}
	classes := []storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "local-path", Annotations: def, CreationTimestamp: old}},
		{ObjectMeta: metav1.ObjectMeta{Name: "fast", Annotations: def, CreationTimestamp: recent}},
		{ObjectMeta: metav1.ObjectMeta{Name: "manual"}},
	}
	c := claimOf("a", "1Gi")
	if got := ClaimClass(c, classes); got != "fast" {
		t.Errorf("two defaults: %q, want the newest", got)
	}
	if got := ClaimClass(c, classes[2:]); got != "" {
		t.Errorf("no default: %q", got)
	}
	c.Spec.StorageClassName = ptr.To("")
	if got := ClaimClass(c, classes); got != "" {
		t.Errorf(`storageClassName "": %q`, got)
	}
}
