package reconciler

import (
	"fmt"
	"hash/fnv"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// suffixAlphabet is the alphabet Kubernetes draws pod name suffixes from.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// deploymentPods returns the pods of a Deployment (by owner annotation) that
// are not terminating, split by whether they run the current template.
func deploymentPods(d *appsv1.Deployment, pods []corev1.Pod) (current, old []*corev1.Pod) {
	hash := templateHash(&d.Spec.Template)
	for i := range pods {
		p := &pods[i]
		kind, name := owner(p)
		if kind != "Deployment" || name != d.Name || p.Namespace != d.Namespace || p.DeletionTimestamp != nil {
			continue
		}
		if p.Labels[api.LabelPodTemplateHash] == hash {
			current = append(current, p)
		} else {
			old = append(old, p)
		}
	}
	return current, old
}

// scaleDeployment creates or deletes pods of the current template until
// there are spec.replicas of them. (Old templates are deleted by orphans;
// the rolling update is a later step.)
func scaleDeployment(d *appsv1.Deployment, pods []corev1.Pod, existing map[string]*corev1.Pod, commit string) (create []corev1.Pod, del []string) {
	current, _ := deploymentPods(d, pods)
	want := int(replicas(d))
	if len(current) > want {
		sort.SliceStable(current, func(i, j int) bool { return deletionRank(current[i]) < deletionRank(current[j]) })
		for _, p := range current[:len(current)-want] {
			del = append(del, api.PodKey(p))
		}
		return nil, del
	}
	hash := templateHash(&d.Spec.Template)
	for i := 0; len(create) < want-len(current); i++ {
		name := podName(d.Name, hash, commit, i)
		if _, taken := existing[api.Key(d.Namespace, name)]; !taken {
			create = append(create, deploymentPod(d, name, hash, commit))
		}
	}
	return create, nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// deletionRank orders pods for scale-down as Kubernetes does, roughly:
// unscheduled first, then not running, then not ready, then newest.
func deletionRank(p *corev1.Pod) string {
	rank := 3
	switch {
	case p.Spec.NodeName == "":
		rank = 0
	case p.Status.Phase != corev1.PodRunning:
		rank = 1
	case !PodReady(p):
		rank = 2
	}
	return fmt.Sprintf("%d-%020d-%s", rank, 1<<62-p.CreationTimestamp.Unix(), p.Name)
}

// podName is "<deployment>-<template hash>-<5 char suffix>", the suffix a
// hash of the commit and a counter.
func podName(deploy, hash, commit string, i int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%s/%d", deploy, hash, commit, i)
	v := h.Sum64()
	suffix := make([]byte, 5)
	for k := range suffix {
		suffix[k] = suffixAlphabet[v%uint64(len(suffixAlphabet))]
		v /= uint64(len(suffixAlphabet))
	}
	return fmt.Sprintf("%s-%s-%s", deploy, hash, suffix)
}

func deploymentPod(d *appsv1.Deployment, name, hash, commit string) corev1.Pod {
	t := d.Spec.Template.DeepCopy()
	p := corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: d.Namespace,
			Labels: t.Labels, Annotations: t.Annotations,
		},
		Spec: t.Spec,
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[api.LabelPodTemplateHash] = hash
	stamp(&p, "Deployment/"+d.Name, commit, hash)
	return p
}

// PodReady reports whether the pod's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// DeploymentStatus computes a Deployment's status from its pods.
func DeploymentStatus(d *appsv1.Deployment, pods []corev1.Pod) appsv1.DeploymentStatus {
	current, old := deploymentPods(d, pods)
	st := appsv1.DeploymentStatus{
		Replicas:        int32(len(current) + len(old)),
		UpdatedReplicas: int32(len(current)),
	}
	for _, p := range append(current, old...) {
		if PodReady(p) {
			st.ReadyReplicas++
			st.AvailableReplicas++
		}
	}
	st.UnavailableReplicas = st.Replicas - st.AvailableReplicas
	return st
}
