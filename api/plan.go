package api

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Plan is what the reconciler decided in one pass. It is committed to Raft
// as one entry; applying it never decides anything again.
type Plan struct {
	// Create holds new pods, bound to a node or left Pending.
	Create []corev1.Pod `json:"create,omitempty"`
	// Bind assigns Pending pods to nodes.
	Bind []Binding `json:"bind,omitempty"`
	// Unschedulable records why Pending pods fit nowhere.
	Unschedulable []PendingReason `json:"unschedulable,omitempty"`
	// Delete marks pods for deletion by "namespace/name" key.
	Delete []string `json:"delete,omitempty"`
	// ForceDelete removes terminating pods from the state at once: their
	// node is down and an operator marked it out-of-service in Git, so no
	// agent will confirm they stopped (if it comes back, it stops them
	// before it starts anything).
	ForceDelete []string `json:"forceDelete,omitempty"`
	// Jobs records the runs of Jobs, whole (spec and status): a run
	// started, its progress, how it ended. A Job run is the fact its
	// pods are counted against.
	Jobs []batchv1.Job `json:"jobs,omitempty"`
	// DeleteJobs forgets Job runs by "namespace/name".
	DeleteJobs []string `json:"deleteJobs,omitempty"`
	// CronJobs records CronJobs' registrations and last schedule times
	// (metadata and status only).
	CronJobs []batchv1.CronJob `json:"cronJobs,omitempty"`
	// DeleteCronJobs forgets CronJobs removed from Git.
	DeleteCronJobs []string `json:"deleteCronJobs,omitempty"`
	// PodCIDRs gives nodes the ranges their pods take addresses from
	// (raftstore format 2: a plan carries them only once the cluster has
	// turned that format on).
	PodCIDRs []PodCIDR `json:"podCIDRs,omitempty"`
	// Volumes records PersistentVolumes as they now are: bound to a
	// claim, provisioned for one on a node, released, or being deleted
	// (raftstore format 4, as are the three fields after it).
	Volumes []corev1.PersistentVolume `json:"volumes,omitempty"`
	// ForgetVolumes drops volume records by name: a static volume no
	// longer in Git and bound to nothing.
	ForgetVolumes []string `json:"forgetVolumes,omitempty"`
	// Claims records the claims StatefulSets make from their
	// volumeClaimTemplates ("<template>-<set>-<ordinal>").
	Claims []corev1.PersistentVolumeClaim `json:"claims,omitempty"`
	// DeleteClaims forgets such claims by "namespace/name", as the
	// StatefulSet's persistentVolumeClaimRetentionPolicy asks.
	DeleteClaims []string `json:"deleteClaims,omitempty"`
}

// PodCIDR gives a node its range of pod addresses.
type PodCIDR struct {
	Node string `json:"node"`
	CIDR string `json:"cidr"`
}

// Binding puts a pod on a node.
type Binding struct {
	Pod  string `json:"pod"`
	Node string `json:"node"`
}

// PendingReason says why a pod could not be scheduled.
type PendingReason struct {
	Pod     string `json:"pod"`
	Message string `json:"message"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return len(p.Create) == 0 && len(p.Bind) == 0 && len(p.Unschedulable) == 0 && len(p.Delete) == 0 && len(p.ForceDelete) == 0 &&
		len(p.Jobs) == 0 && len(p.DeleteJobs) == 0 && len(p.CronJobs) == 0 && len(p.DeleteCronJobs) == 0 &&
		len(p.PodCIDRs) == 0 && !p.ChangesStorage()
}

// ChangesStorage reports whether the plan records volumes or claims.
func (p *Plan) ChangesStorage() bool {
	return len(p.Volumes) > 0 || len(p.ForgetVolumes) > 0 || len(p.Claims) > 0 || len(p.DeleteClaims) > 0
}

// MovesPods reports whether the plan creates, binds or deletes pods.
func (p *Plan) MovesPods() bool {
	return len(p.Create) > 0 || len(p.Bind) > 0 || len(p.Delete) > 0 || len(p.ForceDelete) > 0
}

// PathPlan takes manifests and answers what applying them would do.
const PathPlan = "/v1/plan"

// PlanRequest is the body of a dry run: manifest files, as in a commit.
type PlanRequest struct {
	Files []PlanFile `json:"files"`
}

// PlanFile is one manifest file of a dry run.
type PlanFile struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// DryRun is what applying manifests to the live cluster would do.
type DryRun struct {
	// Errors are the manifests' errors: the commit would be refused.
	Errors  []string     `json:"errors,omitempty"`
	Summary *Summary     `json:"summary,omitempty"`
	Create  []PlannedPod `json:"create,omitempty"`
	Delete  []string     `json:"delete,omitempty"`
}

// PlannedPod is a pod a dry run would create: the node it would run on,
// or why it fits nowhere.
type PlannedPod struct {
	Pod    string `json:"pod"`
	Node   string `json:"node,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Unplaceable counts the pods that would fit nowhere.
func (d *DryRun) Unplaceable() int {
	n := 0
	for _, p := range d.Create {
		if p.Node == "" {
			n++
		}
	}
	return n
}
