package api

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// ObjectSet is the set of typed objects decoded from one commit.
type ObjectSet struct {
	Namespaces  []corev1.Namespace  `json:"namespaces,omitempty"`
	Pods        []corev1.Pod        `json:"pods,omitempty"`
	Deployments []appsv1.Deployment `json:"deployments,omitempty"`
}

// Count returns the number of objects in the set.
func (s *ObjectSet) Count() int {
	if s == nil {
		return 0
	}
	return len(s.Namespaces) + len(s.Pods) + len(s.Deployments)
}

// Annotations and labels berth puts on the objects it creates.
const (
	// AnnotationCommit names the commit that produced an object's current spec.
	AnnotationCommit = "berth.dev/commit"
	// AnnotationOwner names the Git object that owns a pod, as "Kind/name".
	AnnotationOwner = "berth.dev/owner"
	// AnnotationSpecHash is the hash of the pod spec a pod was created from.
	AnnotationSpecHash = "berth.dev/spec-hash"
	// LabelPodTemplateHash is the label Kubernetes puts on a Deployment's pods.
	LabelPodTemplateHash = "pod-template-hash"
)

// Key returns the "namespace/name" key of an object.
func Key(namespace, name string) string { return namespace + "/" + name }

// PodKey returns the "namespace/name" key of a pod.
func PodKey(p *corev1.Pod) string { return Key(p.Namespace, p.Name) }
