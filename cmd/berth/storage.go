package main

import (
	"cmp"
	"io"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/berth-dev/berth/api"
)

// storageResources are the storage kinds, with kubectl's columns, and
// whether a claim's size is enforced.
var storageResources = []resource{
	{[]string{"persistentvolumes", "persistentvolume", "pv"}, listOf(api.PathPersistentVolumes, func(w io.Writer, f *getFlags, items []corev1.PersistentVolume) {
		g := clusterScoped(f)
		header(w, g, "NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "NODE", "PATH")
		for _, v := range items {
			claim, path := "", ""
			if r := v.Spec.ClaimRef; r != nil {
				claim = r.Namespace + "/" + r.Name
			}
			switch {
			case v.Spec.Local != nil:
				path = v.Spec.Local.Path
			case v.Spec.HostPath != nil:
				path = v.Spec.HostPath.Path
			}
			status := string(v.Status.Phase)
			if v.DeletionTimestamp != nil {
				status = "Deleting"
			}
			capacity := v.Spec.Capacity[corev1.ResourceStorage]
			row(w, g, "", v.Name, capacity.String(), api.AccessModes(v.Spec.AccessModes), string(v.Spec.PersistentVolumeReclaimPolicy), status,
				cmp.Or(claim, "<none>"), cmp.Or(v.Spec.StorageClassName, "<none>"), cmp.Or(api.VolumeNode(&v), "<any>"), path)
		}
	})},
	{[]string{"persistentvolumeclaims", "persistentvolumeclaim", "pvc"}, listOf(api.PathPersistentVolumeClaims, func(w io.Writer, f *getFlags, items []corev1.PersistentVolumeClaim) {
		header(w, f, "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "SIZE")
		for _, c := range items {
			capacity, class, size := "", "", ""
			if q, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
				capacity = q.String()
			}
			if c.Spec.StorageClassName != nil {
				class = *c.Spec.StorageClassName
			}
			switch c.Annotations[api.AnnotationSizeEnforced] {
			case "true":
				size = "enforced"
			case "false":
				size = "not enforced: " + c.Annotations[api.AnnotationSizeNotEnforced]
			default:
				if c.Status.Phase == corev1.ClaimBound {
					size = "<pending>"
				}
			}
			row(w, f, c.Namespace, c.Name, string(c.Status.Phase), cmp.Or(c.Spec.VolumeName, "<none>"), cmp.Or(capacity, "<none>"),
				cmp.Or(api.AccessModes(c.Status.AccessModes), "<none>"), cmp.Or(class, "<none>"), cmp.Or(size, "<none>"))
		}
	})},
	{[]string{"storageclasses", "storageclass", "sc"}, listOf(api.PathStorageClasses, func(w io.Writer, f *getFlags, items []storagev1.StorageClass) {
		g := clusterScoped(f)
		header(w, g, "NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE")
		for _, sc := range items {
			name := sc.Name
			if sc.Annotations[api.AnnotationDefaultStorageClass] == "true" {
				name += " (default)"
			}
			reclaim, mode := "Delete", "Immediate"
			if sc.ReclaimPolicy != nil {
				reclaim = string(*sc.ReclaimPolicy)
			}
			if sc.VolumeBindingMode != nil {
				mode = string(*sc.VolumeBindingMode)
			}
			row(w, g, "", name, sc.Provisioner, reclaim, mode)
		}
	})},
}

// clusterScoped is the flags for a table of cluster-scoped objects:
// without a namespace column.
func clusterScoped(f *getFlags) *getFlags {
	g := *f
	g.allNamespaces = false
	return &g
}
