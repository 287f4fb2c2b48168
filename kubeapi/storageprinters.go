package kubeapi

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// The printers of the storage kinds, with kube-apiserver's columns.
var (
	persistentVolumePrinter = &printer{
		columns: []metav1.TableColumnDefinition{nameCol,
			col("Capacity", "string", "Capacity of the volume"),
			col("Access Modes", "string", "Access modes of the volume"),
			col("Reclaim Policy", "string", "What happens to the volume once released"),
			col("Status", "string", "Phase of the volume"),
			col("Claim", "string", "The claim bound to the volume"),
			col("StorageClass", "string", "Class of the volume"),
			col("VolumeAttributesClass", "string", "VolumeAttributesClass of the volume"),
			col("Reason", "string", "Reason of the volume's phase"),
			ageCol, wide(col("VolumeMode", "string", "Volume mode"))},
		row: func(o Object, now time.Time) []any {
			v := o.(*corev1.PersistentVolume)
			claim := ""
			if r := v.Spec.ClaimRef; r != nil {
				claim = r.Namespace + "/" + r.Name
			}
			capacity := v.Spec.Capacity[corev1.ResourceStorage]
			mode := corev1.PersistentVolumeFilesystem
			if v.Spec.VolumeMode != nil {
				mode = *v.Spec.VolumeMode
			}
			return []any{v.Name, capacity.String(), api.AccessModes(v.Spec.AccessModes), string(v.Spec.PersistentVolumeReclaimPolicy),
				string(v.Status.Phase), claim, v.Spec.StorageClassName, unset, v.Status.Reason, age(v.CreationTimestamp, now), string(mode)}
		},
	}
	persistentVolumeClaimPrinter = &printer{
		columns: []metav1.TableColumnDefinition{nameCol,
			col("Status", "string", "Phase of the claim"),
			col("Volume", "string", "The volume bound to the claim"),
			col("Capacity", "string", "Capacity of the bound volume"),
			col("Access Modes", "string", "Access modes of the bound volume"),
			col("StorageClass", "string", "Class of the claim"),
			col("VolumeAttributesClass", "string", "VolumeAttributesClass of the claim"),
			ageCol, wide(col("VolumeMode", "string", "Volume mode"))},
		row: func(o Object, now time.Time) []any {
			c := o.(*corev1.PersistentVolumeClaim)
			capacity, class, mode := "", "", ""
			if q, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
				capacity = q.String()
			}
			if c.Spec.StorageClassName != nil {
				class = *c.Spec.StorageClassName
			}
			if c.Spec.VolumeMode != nil {
				mode = string(*c.Spec.VolumeMode)
			}
			return []any{c.Name, string(c.Status.Phase), c.Spec.VolumeName, capacity, api.AccessModes(c.Status.AccessModes), class, unset,
				age(c.CreationTimestamp, now), mode}
		},
	}
	storageClassPrinter = &printer{
		columns: []metav1.TableColumnDefinition{nameCol,
			col("Provisioner", "string", "The provisioner of the class"),
			col("ReclaimPolicy", "string", "The reclaim policy of its volumes"),
			col("VolumeBindingMode", "string", "When its claims are bound"),
			col("AllowVolumeExpansion", "string", "Whether its volumes may grow"),
			ageCol},
		row: func(o Object, now time.Time) []any {
			sc := o.(*storagev1.StorageClass)
			name := sc.Name
			if sc.Annotations[api.AnnotationDefaultStorageClass] == "true" {
				name += " (default)"
			}
			reclaim, mode := string(corev1.PersistentVolumeReclaimDelete), string(storagev1.VolumeBindingImmediate)
			if sc.ReclaimPolicy != nil {
				reclaim = string(*sc.ReclaimPolicy)
			}
			if sc.VolumeBindingMode != nil {
				mode = string(*sc.VolumeBindingMode)
			}
			expand := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
			return []any{name, sc.Provisioner, reclaim, mode, expand, age(sc.CreationTimestamp, now)}
		},
	}
)

// unset is the cell of a field that is not set, as kubectl prints it.
const unset = "<unset>"
