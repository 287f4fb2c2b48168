package reconciler

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// DryRun answers what making next the desired state would do to the
// cluster in: which pods would be created (and where, or why nowhere) and
// which deleted. Pods it would delete free their node's resources for the
// pods it would create, as they will once they are gone.
func DryRun(in Input, next *api.ObjectSet, now time.Time) api.DryRun {
	out := api.DryRun{Summary: api.Summarize(in.Desired, next)}
	in.Desired = next
	in.Commit = "dry-run"
	first := Reconcile(in, now)
	out.Delete = first.Delete
	gone := map[string]bool{}
	for _, k := range first.Delete {
		gone[k] = true
	}
	var kept []corev1.Pod
	for i := range in.Pods {
		if !gone[api.PodKey(&in.Pods[i])] {
			kept = append(kept, in.Pods[i])
		}
	}
	in.Pods = kept
	for _, p := range Reconcile(in, now).Create {
		pp := api.PlannedPod{Pod: api.PodKey(&p), Node: p.Spec.NodeName}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				pp.Reason = c.Message
			}
		}
		out.Create = append(out.Create, pp)
	}
	return out
}
