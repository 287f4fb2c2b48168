package reconciler

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// dryRunSteps bounds the reconcile passes a dry run plays.
const dryRunSteps = 200

// DryRun answers what making next the desired state would do to the
// cluster in: which pods would be created (and where, or why nowhere) and
// which deleted, once the rollout has gone as far as it can. It plays the
// reconciler's passes on a simulated healthy cluster (see Simulate), so
// a rolling update that would stall on pods that fit nowhere shows as
// stalled, with the old pods it keeps.
func DryRun(in Input, next *api.ObjectSet, now time.Time) api.DryRun {
	out := api.DryRun{Summary: api.Summarize(in.Desired, next)}
	noCron := *next
	noCron.CronJobs = nil // CronJobs do not fire in a dry run
	in.Desired = &noCron
	in.Commit = "dry-run"
	before := map[string]bool{}
	for i := range in.Pods {
		before[api.PodKey(&in.Pods[i])] = true
	}
	in = Simulate(in, api.Plan{}, now) // pods already bound start; in is not changed
	for step := 0; step < dryRunSteps; step++ {
		plan := Reconcile(in, now)
		if !plan.MovesPods() && len(plan.Jobs) == 0 && len(plan.DeleteJobs) == 0 {
			break
		}
		in = Simulate(in, plan, now)
	}
	after := map[string]bool{}
	for i := range in.Pods {
		p := &in.Pods[i]
		after[api.PodKey(p)] = true
		if before[api.PodKey(p)] {
			continue
		}
		pp := api.PlannedPod{Pod: api.PodKey(p), Node: p.Spec.NodeName}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				pp.Reason = c.Message
			}
		}
		out.Create = append(out.Create, pp)
	}
	for k := range before {
		if !after[k] {
			out.Delete = append(out.Delete, k)
		}
	}
	sort.Strings(out.Delete)
	return out
}
