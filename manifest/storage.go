package manifest

import (
	"fmt"
	"path"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-dev/berth/api"
)

// The implemented fields of the storage kinds.
var (
	storageClassFields = concat(metadataFields, []string{"provisioner", "reclaimPolicy", "volumeBindingMode"})
	// claimSpecFields are a claim's spec, in a PersistentVolumeClaim and
	// in a StatefulSet's volumeClaimTemplates.
	claimSpecFields = concat([]string{"accessModes[]", "resources.requests.storage", "storageClassName", "volumeName", "volumeMode"},
		prefixed("selector.", []string{"matchLabels.*", "matchExpressions[].key", "matchExpressions[].operator", "matchExpressions[].values[]"}))
	persistentVolumeClaimFields = concat(metadataFields, prefixed("spec.", claimSpecFields))
	persistentVolumeFields      = concat(metadataFields, []string{
		"spec.capacity.storage", "spec.accessModes[]", "spec.storageClassName", "spec.persistentVolumeReclaimPolicy", "spec.volumeMode",
		"spec.hostPath.path", "spec.hostPath.type", "spec.local.path",
		"spec.claimRef.name", "spec.claimRef.namespace", "spec.claimRef.kind", "spec.claimRef.apiVersion",
		"spec.nodeAffinity.required.nodeSelectorTerms[].matchExpressions[].key",
		"spec.nodeAffinity.required.nodeSelectorTerms[].matchExpressions[].operator",
		"spec.nodeAffinity.required.nodeSelectorTerms[].matchExpressions[].values[]",
	})
)

// claimAccessModes are the access modes a claim may ask for: berth's
// volumes are folders on one node.
var claimAccessModes = map[corev1.PersistentVolumeAccessMode]bool{corev1.ReadWriteOnce: true, corev1.ReadWriteOncePod: true}

// volumeAccessModes are the access modes a volume may offer.
var volumeAccessModes = map[corev1.PersistentVolumeAccessMode]bool{
	corev1.ReadWriteOnce: true, corev1.ReadWriteOncePod: true, corev1.ReadOnlyMany: true, corev1.ReadWriteMany: true,
}

// validateStorageClass checks a StorageClass: berth provisions only
// local-path folders, and takes classes of static volumes.
func validateStorageClass(sc *storagev1.StorageClass) []*fieldError {
	var fes []*fieldError
	if !api.ProvisionsLocalPath(sc.Provisioner) && sc.Provisioner != api.NoProvisioner {
		fes = append(fes, &fieldError{"provisioner", fmt.Sprintf("%q not supported by berth (%s, %s or %s)",
			sc.Provisioner, api.LocalPathProvisioner, api.RancherLocalPathProvisioner, api.NoProvisioner)})
	}
	if p := sc.ReclaimPolicy; p != nil && *p != corev1.PersistentVolumeReclaimDelete && *p != corev1.PersistentVolumeReclaimRetain {
		fes = append(fes, &fieldError{"reclaimPolicy", fmt.Sprintf("unsupported value %q (Delete or Retain)", *p)})
	}
	if m := sc.VolumeBindingMode; m != nil && *m != storagev1.VolumeBindingImmediate && *m != storagev1.VolumeBindingWaitForFirstConsumer {
		fes = append(fes, &fieldError{"volumeBindingMode", fmt.Sprintf("unsupported value %q (Immediate or WaitForFirstConsumer)", *m)})
	}
	if api.ProvisionsLocalPath(sc.Provisioner) && (sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer) {
		fes = append(fes, &fieldError{"volumeBindingMode", "must be WaitForFirstConsumer: a local-path folder is made on the node its first pod is scheduled to"})
	}
	return fes
}

// defaultStorageClass fills in what the apiserver defaults.
func defaultStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		p := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &p
	}
	if sc.VolumeBindingMode == nil {
		m := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &m
	}
}

// defaultPersistentVolume fills in what the apiserver defaults.
func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &m
	}
	if r := pv.Spec.ClaimRef; r != nil && r.Namespace == "" {
		r.Namespace = corev1.NamespaceDefault
	}
}

// validatePersistentVolume checks a static volume: a capacity, access
// modes, and a hostPath or a local path (with node affinity, as
// Kubernetes requires of local volumes).
func validatePersistentVolume(pv *corev1.PersistentVolume) []*fieldError {
	var fes []*fieldError
	if _, ok := pv.Spec.Capacity[corev1.ResourceStorage]; !ok {
		fes = append(fes, &fieldError{"spec.capacity.storage", "required"})
	}
	fes = append(fes, validateAccessModes(pv.Spec.AccessModes, volumeAccessModes, "spec.accessModes")...)
	if p := pv.Spec.PersistentVolumeReclaimPolicy; p != corev1.PersistentVolumeReclaimDelete && p != corev1.PersistentVolumeReclaimRetain {
		fes = append(fes, &fieldError{"spec.persistentVolumeReclaimPolicy", fmt.Sprintf("unsupported value %q (Retain or Delete; Recycle is deprecated)", p)})
	}
	if *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		fes = append(fes, &fieldError{"spec.volumeMode", fmt.Sprintf("%q not supported by berth (Filesystem)", *pv.Spec.VolumeMode)})
	}
	switch hp, local := pv.Spec.HostPath, pv.Spec.Local; {
	case hp != nil && local != nil:
		fes = append(fes, &fieldError{"spec", "may not specify more than 1 volume type (hostPath, local)"})
	case hp != nil:
		if !path.IsAbs(hp.Path) {
			fes = append(fes, &fieldError{"spec.hostPath.path", fmt.Sprintf("%q must be an absolute path", hp.Path)})
		}
		if t := hp.Type; t != nil && !hostPathTypes[*t] {
			fes = append(fes, &fieldError{"spec.hostPath.type", fmt.Sprintf("unsupported value %q", *t)})
		}
	case local != nil:
		if !path.IsAbs(local.Path) {
			fes = append(fes, &fieldError{"spec.local.path", fmt.Sprintf("%q must be an absolute path", local.Path)})
		}
		if pv.Spec.NodeAffinity == nil {
			fes = append(fes, &fieldError{"spec.nodeAffinity", "required: a local volume is on one node"})
		}
	default:
		fes = append(fes, &fieldError{"spec", "a volume source is required: hostPath or local (berth supports no other)"})
	}
	if r := pv.Spec.ClaimRef; r != nil && r.Name == "" {
		fes = append(fes, &fieldError{"spec.claimRef.name", "required"})
	}
	if a := pv.Spec.NodeAffinity; a != nil && a.Required != nil {
		fes = append(fes, validateNodeSelectorTerms(a.Required.NodeSelectorTerms, "spec.nodeAffinity.required.nodeSelectorTerms")...)
	}
	return fes
}

// validateNodeSelectorTerms checks the operators of a volume's node
// affinity.
func validateNodeSelectorTerms(terms []corev1.NodeSelectorTerm, field string) []*fieldError {
	var fes []*fieldError
	if len(terms) == 0 {
		fes = append(fes, &fieldError{field, "required: at least 1 term"})
	}
	for i, t := range terms {
		for j, e := range t.MatchExpressions {
			f := fmt.Sprintf("%s[%d].matchExpressions[%d]", field, i, j)
			switch e.Operator {
			case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
				if len(e.Values) == 0 {
					fes = append(fes, &fieldError{f + ".values", "required for In and NotIn"})
				}
			case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
			default:
				fes = append(fes, &fieldError{f + ".operator", fmt.Sprintf("unsupported value %q (In, NotIn, Exists, DoesNotExist)", e.Operator)})
			}
		}
	}
	return fes
}

// validateClaimSpec checks a claim's spec, under field ("spec", or a
// volumeClaimTemplate's).
func validateClaimSpec(s *corev1.PersistentVolumeClaimSpec, field string) []*fieldError {
	fes := validateAccessModes(s.AccessModes, claimAccessModes, field+".accessModes")
	if _, ok := s.Resources.Requests[corev1.ResourceStorage]; !ok {
		fes = append(fes, &fieldError{field + ".resources.requests.storage", "required"})
	}
	if m := s.VolumeMode; m != nil && *m != corev1.PersistentVolumeFilesystem {
		fes = append(fes, &fieldError{field + ".volumeMode", fmt.Sprintf("%q not supported by berth (Filesystem)", *m)})
	}
	if c := s.StorageClassName; c != nil && *c != "" {
		for _, msg := range validation.IsDNS1123Subdomain(*c) {
			fes = append(fes, &fieldError{field + ".storageClassName", fmt.Sprintf("invalid value %q: %s", *c, msg)})
		}
	}
	if s.Selector != nil {
		fes = append(fes, validateSelector(s.Selector, field+".selector")...)
	}
	return fes
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, allowed map[corev1.PersistentVolumeAccessMode]bool, field string) []*fieldError {
	if len(modes) == 0 {
		return []*fieldError{{field, "required: at least 1 access mode"}}
	}
	var fes []*fieldError
	for i, m := range modes {
		if !allowed[m] {
			fes = append(fes, &fieldError{fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%q not supported by berth: volumes are folders on one node", m)})
		}
	}
	return fes
}

// checkStorage finds the references between storage objects and pods
// that the commit does not hold: a pod's claim, a claim's class or
// volume. A claim without storageClassName takes the default class.
func checkStorage(objs []*object) []error {
	classes, claims, volumes := map[string]bool{}, map[string]bool{}, map[string]bool{}
	builtin := true
	for _, o := range objs {
		switch v := o.value.(type) {
		case *storagev1.StorageClass:
			classes[v.Name] = true
			builtin = builtin && v.Name != api.LocalPathClass
		case *corev1.PersistentVolumeClaim:
			claims[api.Key(v.Namespace, v.Name)] = true
		case *corev1.PersistentVolume:
			volumes[v.Name] = true
		}
	}
	classes[api.LocalPathClass] = true
	var errs []error
	for _, o := range objs {
		var fes []*fieldError
		switch v := o.value.(type) {
		case *corev1.PersistentVolumeClaim:
			fes = checkClaimRefs(&v.Spec, classes, volumes, "spec")
		case *appsv1.StatefulSet:
			for i := range v.Spec.VolumeClaimTemplates {
				fes = append(fes, checkClaimRefs(&v.Spec.VolumeClaimTemplates[i].Spec, classes, nil, fmt.Sprintf("spec.volumeClaimTemplates[%d].spec", i))...)
			}
			fes = append(fes, checkPodClaims(o.meta.Namespace, &v.Spec.Template.Spec, claims, templateNames(v.Spec.VolumeClaimTemplates), "spec.template.spec")...)
		default:
			if spec, field := podSpecOf(o.value); spec != nil {
				fes = checkPodClaims(o.meta.Namespace, spec, claims, nil, field)
			}
		}
		for _, fe := range fes {
			errs = append(errs, o.errorAt(fe))
		}
	}
	return errs
}

func templateNames(ts []corev1.PersistentVolumeClaim) map[string]bool {
	m := map[string]bool{}
	for _, t := range ts {
		m[t.Name] = true
	}
	return m
}

// checkClaimRefs checks that a claim's class and volume are in the
// commit (volumes nil: a claim template, which names no volume).
func checkClaimRefs(s *corev1.PersistentVolumeClaimSpec, classes, volumes map[string]bool, field string) []*fieldError {
	var fes []*fieldError
	if c := s.StorageClassName; c != nil && *c != "" && !classes[*c] {
		fes = append(fes, &fieldError{field + ".storageClassName", fmt.Sprintf("StorageClass %q is not in this commit (nor built in: %s)", *c, api.LocalPathClass)})
	}
	if s.VolumeName != "" {
		if volumes == nil {
			fes = append(fes, &fieldError{field + ".volumeName", "a claim template may not name a volume: each ordinal's claim binds its own"})
		} else if !volumes[s.VolumeName] {
			fes = append(fes, &fieldError{field + ".volumeName", fmt.Sprintf("PersistentVolume %q is not in this commit", s.VolumeName)})
		}
	}
	return fes
}

// checkPodClaims checks that the claims a pod spec's volumes name are in
// the commit (or are the StatefulSet's own claim templates).
func checkPodClaims(ns string, s *corev1.PodSpec, claims, templates map[string]bool, field string) []*fieldError {
	var fes []*fieldError
	for i, v := range s.Volumes {
		c := v.PersistentVolumeClaim
		if c == nil || templates[v.Name] {
			continue
		}
		if !claims[api.Key(ns, c.ClaimName)] {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.volumes[%d].persistentVolumeClaim.claimName", field, i),
				fmt.Sprintf("PersistentVolumeClaim %s/%s is not in this commit", ns, c.ClaimName)})
		}
	}
	return fes
}
