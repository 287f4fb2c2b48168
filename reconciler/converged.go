package reconciler

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// Converged reports whether the cluster runs exactly what the live revision
// asks for: nothing left to create, delete or schedule, no pod terminating,
// and every pod running and ready (or, for a pod that is not restarted,
// completed).
func Converged(in Input, now time.Time) bool {
	return ConvergedWith(in, Reconcile(in, now))
}

// ConvergedWith is Converged for a caller that already has the plan of
// Reconcile(in, now), so that it is not computed twice.
func ConvergedWith(in Input, plan api.Plan) bool {
	if in.Commit == "" {
		return false
	}
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

// NotReadyReasons says, for at most max pods, why they are not running and
// ready: a waiting or terminated container's reason, or the pod's phase.
func NotReadyReasons(in Input, max int) string {
	var out []string
	n := 0
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.Status.Phase == corev1.PodRunning && PodReady(p) {
			continue
		}
		n++
		if len(out) < max {
			out = append(out, api.PodKey(p)+" "+podReason(p))
		}
	}
	if n == 0 {
		return "pods are still being created or deleted"
	}
	if n > len(out) {
		out = append(out, fmt.Sprintf("and %d more", n-len(out)))
	}
	return strings.Join(out, ", ")
}

func podReason(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
		if t := cs.State.Terminated; t != nil && t.Reason != "" {
			return t.Reason
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c.Reason
		}
	}
	return string(p.Status.Phase)
}
