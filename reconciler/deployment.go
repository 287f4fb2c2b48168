package reconciler

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

// deploymentPods returns the pods of a Deployment that are not
// terminating, split by whether they run the current template, and how
// many are terminating. (A Deployment's ReplicaSets are its pods grouped
// by pod-template-hash.)
func (r *pass) deploymentPods(d *appsv1.Deployment) (current, old []*corev1.Pod, terminating int) {
	active, terminating := r.pods("Deployment", d.Namespace, d.Name)
	current, old = splitByTemplate(active, templateHash(&d.Spec.Template))
	return current, old, terminating
}

func splitByTemplate(pods []*corev1.Pod, hash string) (current, old []*corev1.Pod) {
	for _, p := range pods {
		if p.Labels[api.LabelPodTemplateHash] == hash {
			current = append(current, p)
		} else {
			old = append(old, p)
		}
	}
	return current, old
}

func replicas(d *appsv1.Deployment) int32 { return derefInt32(d.Spec.Replicas, 1) }

// deployment rolls a Deployment's pods to its current template by its
// strategy. A paused Deployment is left as it is.
func (r *pass) deployment(d *appsv1.Deployment) {
	if d.Spec.Paused {
		return
	}
	current, old, terminating := r.deploymentPods(d)
	want := int(replicas(d))
	hash := templateHash(&d.Spec.Template)
	newPod := func(taken map[string]bool) corev1.Pod {
		name := r.freeName(d.Namespace, d.Name+"-"+hash, hash, taken)
		return r.templatePod(&d.Spec.Template, d.Namespace, name, "Deployment/"+d.Name,
			map[string]string{api.LabelPodTemplateHash: hash})
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		// Every old pod is gone, terminating ones included, before a new
		// one starts.
		for _, p := range old {
			r.delete(p)
		}
		if len(old) == 0 && (terminating == 0 || len(current) > 0) {
			r.scaleTo(current, want, newPod)
		}
		return
	}
	if len(old) == 0 {
		r.scaleTo(current, want, newPod)
		return
	}
	surge, unavailable := RollingBounds(d)
	r.rollingUpdate(current, old, want, surge, unavailable, d.Spec.MinReadySeconds, newPod)
}

// rollingUpdate does one step of a RollingUpdate, as the Deployment
// controller does: scale the new pods up as far as maxSurge allows, then
// delete old pods as far as maxUnavailable allows, the unavailable ones
// first.
func (r *pass) rollingUpdate(current, old []*corev1.Pod, want, surge, unavailable int, minReady int32, newPod func(map[string]bool) corev1.Pod) {
	total := len(current) + len(old)
	if extra := len(current) - want; extra > 0 {
		sorted := byDeletionRank(current)
		for _, p := range sorted[:extra] {
			r.delete(p)
		}
		total -= extra
		current = sorted[extra:]
	}
	created := min(want+surge-total, want-len(current))
	taken := map[string]bool{}
	for range max(created, 0) {
		r.create(newPod(taken))
	}
	minAvailable := want - unavailable
	newUnavailable := len(current) - countAvailable(current, minReady, r.now)
	budget := total - minAvailable - newUnavailable
	var healthy []*corev1.Pod
	for _, p := range byDeletionRank(old) {
		switch {
		case budget <= 0:
		case !Available(p, minReady, r.now):
			r.delete(p)
			budget--
			continue
		}
		healthy = append(healthy, p)
	}
	scaleDown := min(budget, countAvailable(current, minReady, r.now)+len(healthy)-minAvailable)
	for i := 0; i < scaleDown && i < len(healthy); i++ {
		r.delete(healthy[i])
	}
}

// RollingBounds resolves a Deployment's maxSurge (rounded up) and
// maxUnavailable (rounded down) against its replicas, as Kubernetes does;
// when both come to 0, maxUnavailable is 1.
func RollingBounds(d *appsv1.Deployment) (surge, unavailable int) {
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil {
		ru = &appsv1.RollingUpdateDeployment{}
	}
	quarter := intstr.FromString("25%")
	ms, mu := ru.MaxSurge, ru.MaxUnavailable
	if ms == nil {
		ms = &quarter
	}
	if mu == nil {
		mu = &quarter
	}
	n := int(replicas(d))
	surge, _ = intstr.GetScaledValueFromIntOrPercent(ms, n, true)
	unavailable, _ = intstr.GetScaledValueFromIntOrPercent(mu, n, false)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// DeploymentStatus computes a Deployment's status from its pods, with the
// conditions Available and Progressing as the Deployment controller sets
// them.
func DeploymentStatus(d *appsv1.Deployment, pods []corev1.Pod, now time.Time) appsv1.DeploymentStatus {
	return newPass(Input{Pods: pods}, now).deploymentStatus(d)
}

func (r *pass) deploymentStatus(d *appsv1.Deployment) appsv1.DeploymentStatus {
	now := r.now
	current, old, _ := r.deploymentPods(d)
	all := append(append([]*corev1.Pod(nil), current...), old...)
	st := appsv1.DeploymentStatus{
		Replicas:          int32(len(all)),
		UpdatedReplicas:   int32(len(current)),
		AvailableReplicas: int32(countAvailable(all, d.Spec.MinReadySeconds, now)),
	}
	for _, p := range all {
		if PodReady(p) {
			st.ReadyReplicas++
		}
	}
	st.UnavailableReplicas = max(replicas(d)-st.AvailableReplicas, 0)
	_, unavailable := RollingBounds(d)
	avail := condition(appsv1.DeploymentAvailable, st.AvailableReplicas >= replicas(d)-int32(unavailable),
		"MinimumReplicasAvailable", "Deployment has minimum availability.",
		"MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
	st.Conditions = []appsv1.DeploymentCondition{avail, progressing(d, &st, all, now)}
	return st
}

func condition(t appsv1.DeploymentConditionType, ok bool, yesReason, yesMsg, noReason, noMsg string) appsv1.DeploymentCondition {
	if ok {
		return appsv1.DeploymentCondition{Type: t, Status: corev1.ConditionTrue, Reason: yesReason, Message: yesMsg}
	}
	return appsv1.DeploymentCondition{Type: t, Status: corev1.ConditionFalse, Reason: noReason, Message: noMsg}
}

// progressing is the Progressing condition: complete when every replica
// is updated and available and no old one is left; False with
// ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds.
// Progress is a pod created or becoming ready.
func progressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus, pods []*corev1.Pod, now time.Time) appsv1.DeploymentCondition {
	name := fmt.Sprintf("%s-%s", d.Name, templateHash(&d.Spec.Template))
	c := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue}
	if DeploymentComplete(d, st) {
		c.Reason, c.Message = "NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", name)
		return c
	}
	var last time.Time
	for _, p := range pods {
		last = later(last, p.CreationTimestamp.Time)
		if since := readySince(p); since != nil {
			last = later(last, since.Time)
		}
	}
	c.LastUpdateTime = metav1.NewTime(last)
	if deadline := d.Spec.ProgressDeadlineSeconds; deadline != nil && !last.IsZero() && now.Sub(last) > time.Duration(*deadline)*time.Second {
		c.Status, c.Reason = corev1.ConditionFalse, "ProgressDeadlineExceeded"
		c.Message = fmt.Sprintf("ReplicaSet %q has timed out progressing.", name)
		return c
	}
	c.Reason, c.Message = "ReplicaSetUpdated", fmt.Sprintf("ReplicaSet %q is progressing.", name)
	return c
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// DeploymentComplete reports whether every replica runs the current
// template and is available, and no old pod is left.
func DeploymentComplete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	n := replicas(d)
	return st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n
}
