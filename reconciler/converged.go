package reconciler

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Converged reports whether the cluster runs exactly what the live revision
// asks for: nothing left to create, delete or schedule, no pod terminating,
// and every pod running and ready (or, for a pod that is not restarted,
// completed).
func Converged(in Input, now time.Time) bool {
	if in.Commit == "" {
		return false
	}
	plan := Reconcile(in, now)
	if len(plan.Create) > 0 || len(plan.Delete) > 0 || len(plan.Bind) > 0 {
		return false
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" {
			return false
		}
		done := p.Status.Phase == corev1.PodSucceeded && p.Spec.RestartPolicy != corev1.RestartPolicyAlways
		if !done && !(p.Status.Phase == corev1.PodRunning && PodReady(p)) {
			return false
		}
	}
	return true
}
