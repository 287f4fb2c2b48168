package reconciler

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// Converged reports whether the cluster runs exactly what the live revision
// asks for: nothing left to create, delete or schedule, no pod terminating,
// and every pod running and ready (or, for a pod that is not restarted,
// completed).
func Converged(in Input, now time.Time) bool {
	return ConvergedWith(in, Reconcile(in, now), now)
}

// ConvergedWith is Converged for a caller that already has the plan of
// Reconcile(in, now), so that it is not computed twice. Beside the pods,
// every Deployment must be complete (no old pod left) and every Job of the
// revision complete; a CronJob only needs to be registered.
func ConvergedWith(in Input, plan api.Plan, now time.Time) bool {
	if in.Commit == "" {
		return false
	}
	pending := plan
	pending.Unschedulable = nil
	if !pending.Empty() {
		return false
	}
	down := downNodes(in.Nodes, now, in.nodeTimeout())
	in = in.withNodeConditions(now)
	for i := range in.Pods {
		p := &in.Pods[i]
		if kind, _ := owner(p); kind == "Job" || (kind != "Pod" && finished(p)) {
			continue // a Job converges by its record; an evicted pod was replaced
		}
		if _, dead := down[p.Spec.NodeName]; dead && p.DeletionTimestamp != nil {
			continue // evicted from a dead node: it will never confirm
		}
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" {
			return false
		}
		done := p.Status.Phase == corev1.PodSucceeded && p.Spec.RestartPolicy != corev1.RestartPolicyAlways
		if !done && !(p.Status.Phase == corev1.PodRunning && PodReady(p)) {
			return false
		}
	}
	if in.Desired == nil {
		return true
	}
	if !workloadsComplete(WorkloadStatus(in, now)) {
		return false
	}
	for _, j := range gitJobRuns(in) {
		if j == nil || JobFinished(j) != batchv1.JobComplete {
			return false
		}
	}
	return true
}

// workloadsComplete reports whether every controller of pods has all its
// replicas of the current template and available, as `kubectl rollout
// status` would say it is done.
func workloadsComplete(w *Workloads) bool {
	for i := range w.Deployments {
		if !DeploymentComplete(&w.Deployments[i], &w.Deployments[i].Status) {
			return false
		}
	}
	for _, rs := range w.ReplicaSets {
		if len(rs.OwnerReferences) > 0 {
			continue // a Deployment's, which is complete or not by itself
		}
		if rs.Status.AvailableReplicas != derefInt32(rs.Spec.Replicas, 1) || rs.Status.Replicas != rs.Status.AvailableReplicas {
			return false
		}
	}
	for _, rc := range w.ReplicationControllers {
		if rc.Status.AvailableReplicas != derefInt32(rc.Spec.Replicas, 1) || rc.Status.Replicas != rc.Status.AvailableReplicas {
			return false
		}
	}
	for _, ds := range w.DaemonSets {
		st := ds.Status
		rolling := ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType
		if st.NumberAvailable != st.DesiredNumberScheduled || st.NumberMisscheduled > 0 || (rolling && st.UpdatedNumberScheduled != st.DesiredNumberScheduled) {
			return false
		}
	}
	for _, s := range w.StatefulSets {
		if !statefulSetComplete(&s) {
			return false
		}
	}
	return true
}

// statefulSetComplete: every replica available, and those at or above
// the partition of a RollingUpdate at the current revision.
func statefulSetComplete(s *appsv1.StatefulSet) bool {
	n := derefInt32(s.Spec.Replicas, 1)
	if s.Status.Replicas != n || s.Status.AvailableReplicas != n {
		return false
	}
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return true
	}
	partition := int32(0)
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = min(*ru.Partition, n)
	}
	return s.Status.UpdatedReplicas >= n-partition
}

// gitJobRuns returns the record of each Job in Git (nil when none yet).
func gitJobRuns(in Input) []*batchv1.Job {
	var out []*batchv1.Job
	for _, g := range in.Desired.Jobs {
		var run *batchv1.Job
		for i := range in.Jobs {
			if in.Jobs[i].Namespace == g.Namespace && in.Jobs[i].Name == g.Name {
				run = &in.Jobs[i]
			}
		}
		out = append(out, run)
	}
	return out
}

// Failures says why the revision cannot converge: its Jobs that failed,
// with their reasons. Empty when none did.
func Failures(in Input) []string {
	if in.Desired == nil {
		return nil
	}
	var out []string
	for _, j := range gitJobRuns(in) {
		if j == nil || JobFinished(j) != batchv1.JobFailed {
			continue
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed {
				out = append(out, fmt.Sprintf("Job/%s/%s failed: %s: %s", j.Namespace, j.Name, c.Reason, c.Message))
			}
		}
	}
	return out
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
