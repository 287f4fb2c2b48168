package reconciler

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// Simulation moves pods through a plan as a healthy cluster would: pods
// to delete are gone, new pods are created, and every pod bound to a node
// is running and ready (a pod that is not restarted when it ends has
// succeeded). It is the model dry runs and tests play rollouts on; the
// real cluster is the agents' reports.
func Simulation(pods []corev1.Pod, plan api.Plan, now time.Time) []corev1.Pod {
	out := ApplyPlan(pods, plan, now)
	for i := range out {
		if p := &out[i]; p.Spec.NodeName != "" && p.Status.Phase == corev1.PodPending {
			SetHealthy(p, now)
		}
	}
	return out
}

// ApplyPlan applies a plan's pod changes as the store does, except that
// a deleted pod is gone at once: new pods are created (Pending), pending
// ones bound.
func ApplyPlan(pods []corev1.Pod, plan api.Plan, now time.Time) []corev1.Pod {
	gone := map[string]bool{}
	for _, k := range plan.Delete {
		gone[k] = true
	}
	bind := map[string]string{}
	for _, b := range plan.Bind {
		bind[b.Pod] = b.Node
	}
	var out []corev1.Pod
	for _, p := range append(append([]corev1.Pod(nil), pods...), plan.Create...) {
		key := api.PodKey(&p)
		if gone[key] {
			continue
		}
		if n := bind[key]; n != "" {
			p.Spec.NodeName = n
		}
		if p.CreationTimestamp.IsZero() {
			p.CreationTimestamp = metav1.NewTime(now)
		}
		out = append(out, p)
	}
	return out
}

// SetHealthy makes a pod running and ready since now; a pod that is not
// restarted after it ends has succeeded instead.
func SetHealthy(p *corev1.Pod, now time.Time) {
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways && p.Spec.RestartPolicy != "" {
		p.Status.Phase = corev1.PodSucceeded
		return
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now),
	})
}

// SimulateRecords applies a plan's Job and CronJob records to the input,
// as the store does.
func SimulateRecords(in Input, plan *api.Plan) Input {
	in.Jobs = simulateJobRecords(in.Jobs, plan)
	crons := map[string]batchv1.CronJob{}
	for _, c := range in.CronJobs {
		crons[api.Key(c.Namespace, c.Name)] = c
	}
	for _, k := range plan.DeleteCronJobs {
		delete(crons, k)
	}
	for _, c := range plan.CronJobs {
		crons[api.Key(c.Namespace, c.Name)] = c
	}
	in.CronJobs = nil
	for _, k := range sortedKeys(crons) {
		in.CronJobs = append(in.CronJobs, crons[k])
	}
	return in
}

func simulateJobRecords(jobs []batchv1.Job, plan *api.Plan) []batchv1.Job {
	byKey := map[string]batchv1.Job{}
	for _, j := range jobs {
		byKey[api.Key(j.Namespace, j.Name)] = j
	}
	for _, k := range plan.DeleteJobs {
		delete(byKey, k)
	}
	for _, j := range plan.Jobs {
		byKey[api.Key(j.Namespace, j.Name)] = j
	}
	out := make([]batchv1.Job, 0, len(byKey))
	for _, k := range sortedKeys(byKey) {
		out = append(out, byKey[k])
	}
	return out
}
