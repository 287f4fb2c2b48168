package raftstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// apply applies a decoded command at index and returns its answer (an
// error, or a command's answer; nil for most).
func (st *state) apply(cmd any, index uint64, maxLog int) any {
	switch c := cmd.(type) {
	case *RevisionCommand:
		st.applyRevision(c, index, maxLog)
		st.podsIndex = index
	case *PlanCommand:
		st.applyPlan(c, index)
		st.podsIndex = index
	case *api.Registration:
		st.registerNode(c)
	case *api.Heartbeat:
		if err := st.heartbeat(c); err != nil {
			return err
		}
	case *HeartbeatsCommand:
		return st.heartbeats(c)
	case *api.StatusBatch:
		st.applyStatus(c, index)
		if len(c.Reports) > 0 {
			st.podsIndex = index
		}
	case *StatusBatchesCommand:
		for i := range c.Batches {
			b := &c.Batches[i]
			b.Time = c.Time
			st.applyStatus(b, index)
			if len(b.Reports) > 0 {
				st.podsIndex = index
			}
		}
	case *RolloutCommand:
		st.applyRollout(c)
	case *MemberCommand:
		st.applyMember(c)
	case *TokenCommand:
		return st.applyToken(c)
	case *PinNodeCommand:
		return st.applyPinNode(c)
	case *KeyringCommand:
		st.applyKeyring(c)
	case *ResealCommand:
		if st.applyReseal(c) {
			st.podsIndex = index
		}
	case *FormatCommand:
		st.applyFormat(c)
	case *RemoveNodeCommand:
		if st.Nodes[c.Name] == nil {
			return fmt.Errorf("%w: %s", ErrUnknownNode, c.Name)
		}
		delete(st.Nodes, c.Name)
		delete(st.NodeKeys, c.Name) // a new host may take the name
		st.podsIndex = index        // the service table lists the nodes' routes
	}
	return nil
}

// applyRevision records the commits in between as superseded, then the
// revision itself: applied (it goes live, and the rollout of the previous
// live commit ends as replaced) or rejected.
func (st *state) applyRevision(c *RevisionCommand, index uint64, maxLog int) {
	r := c.Revision
	for _, info := range r.Superseded {
		st.Log = append(st.Log, api.LogEntry{CommitInfo: info, Outcome: api.OutcomeSuperseded, RaftIndex: index})
	}
	e := api.LogEntry{CommitInfo: r.CommitInfo, Errors: r.Errors, Objects: r.Objects.Count(),
		Rewrite: r.Rewrite, Summary: r.Summary, RaftIndex: index}
	st.SeenCommit = r.Commit
	if len(r.Errors) > 0 {
		e.Outcome = api.OutcomeRejected
	} else {
		e.Outcome = api.OutcomeApplied
		e.AppliedAt = c.Time
		if prev := st.liveEntry(); prev != nil && prev.Rollout == nil {
			prev.Rollout = &api.Rollout{State: api.RolloutReplaced, At: c.Time, By: r.Commit}
		}
		st.LiveCommit = r.Commit
		if r.Objects == nil {
			r.Objects = &api.ObjectSet{}
		}
		dateTaints(st.Desired, r.Objects, c.Time)
		configChanged := !sameConfig(st.Desired, r.Objects)
		st.Desired = r.Objects
		if configChanged {
			for node := range st.Nodes {
				st.touchNode(node, index) // agents refresh their pods' ConfigMap and Secret volumes
			}
		}
	}
	st.Log = append(st.Log, e)
	if maxLog > 0 && len(st.Log) > maxLog {
		st.Log = append([]api.LogEntry(nil), st.Log[len(st.Log)-maxLog:]...)
	}
}

// sameConfig reports whether two revisions hold the same ConfigMaps and
// Secrets.
func sameConfig(a, b *api.ObjectSet) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, _ := json.Marshal([]any{a.ConfigMaps, a.Secrets})
	y, _ := json.Marshal([]any{b.ConfigMaps, b.Secrets})
	return string(x) == string(y)
}

// dateTaints sets when each taint of a Node manifest was added: kept
// from the previous revision when it had the same taint, else now. A
// NoExecute toleration's tolerationSeconds count from then.
func dateTaints(prev, next *api.ObjectSet, at time.Time) {
	added := map[string]*metav1.Time{}
	if prev != nil {
		for _, n := range prev.Nodes {
			for _, t := range n.Spec.Taints {
				added[n.Name+"/"+t.ToString()] = t.TimeAdded
			}
		}
	}
	now := metav1.NewTime(at)
	for i := range next.Nodes {
		n := &next.Nodes[i]
		for j := range n.Spec.Taints {
			t := &n.Spec.Taints[j]
			if since := added[n.Name+"/"+t.ToString()]; since != nil {
				t.TimeAdded = since
			} else {
				t.TimeAdded = &now
			}
		}
	}
}

// liveEntry is the log entry of the live commit (nil when none).
func (st *state) liveEntry() *api.LogEntry {
	for i := len(st.Log) - 1; i >= 0; i-- {
		if e := &st.Log[i]; e.Commit == st.LiveCommit && e.Outcome == api.OutcomeApplied {
			return e
		}
	}
	return nil
}

// applyRollout ends the rollout of the live commit, once.
func (st *state) applyRollout(c *RolloutCommand) {
	if e := st.liveEntry(); e != nil && e.Commit == c.Commit && e.Rollout == nil {
		r := c.Rollout
		e.Rollout = &r
	}
}

// applyPlan records the plan's events, then applies it (api.Plan.Apply,
// which the reconciler's simulation shares).
func (st *state) applyPlan(c *PlanCommand, index uint64) {
	st.planEvents(&c.Plan, c.Time)
	c.Plan.Apply(planTarget{st, index}, c.Time)
}

// planTarget is the state as a plan sees it (api.PlanState), at the
// index of the entry being applied.
type planTarget struct {
	st    *state
	index uint64
}

func (t planTarget) Pod(key string) *corev1.Pod { return t.st.Pods[key] }

func (t planTarget) PutPod(key string, p *corev1.Pod) { t.st.putPod(key, p) }

func (t planTarget) RemovePod(key string) { t.st.removePod(key) }

func (t planTarget) HasNode(name string) bool { return t.st.Nodes[name] != nil }

func (t planTarget) Touch(node string) { t.st.touchNode(node, t.index) }

func (t planTarget) SetPodCIDR(node, cidr string) {
	if n := t.st.Nodes[node]; n != nil && n.PodCIDR != cidr {
		n.PodCIDR = cidr
		t.st.touchNode(node, t.index) // its agent sets up its pods' network
	}
}

func (t planTarget) ClaimNode(claim string) string { return t.st.Claims[claim] }

func (t planTarget) SetClaimNode(claim, node string) {
	if node == "" {
		delete(t.st.Claims, claim)
		return
	}
	if t.st.Claims == nil {
		t.st.Claims = map[string]string{}
	}
	t.st.Claims[claim] = node
}

// VolumeRecords are the volume records; Plan.Apply replaces a record
// rather than change it (clone shares them).
func (t planTarget) VolumeRecords() map[string]*corev1.PersistentVolume {
	if t.st.Volumes == nil {
		t.st.Volumes = map[string]*corev1.PersistentVolume{}
	}
	return t.st.Volumes
}

// ClaimRecords are the StatefulSets' claims, replaced like volumes.
func (t planTarget) ClaimRecords() map[string]*corev1.PersistentVolumeClaim {
	if t.st.PVCs == nil {
		t.st.PVCs = map[string]*corev1.PersistentVolumeClaim{}
	}
	return t.st.PVCs
}

func (t planTarget) JobRecords() map[string]*batchv1.Job {
	if t.st.Jobs == nil {
		t.st.Jobs = map[string]*batchv1.Job{}
	}
	return t.st.Jobs
}

func (t planTarget) CronJobRecords() map[string]*batchv1.CronJob {
	if t.st.CronJobs == nil {
		t.st.CronJobs = map[string]*batchv1.CronJob{}
	}
	return t.st.CronJobs
}

func (st *state) touchNode(node string, index uint64) {
	if node != "" {
		st.NodeIndex[node] = index
		st.touched[node] = true
	}
}

func (st *state) registerNode(c *api.Registration) {
	n := st.Nodes[c.Name]
	if n == nil {
		n = &api.Node{Name: c.Name, RegisteredAt: c.Time}
		st.Nodes[c.Name] = n
	}
	n.Address, n.Labels, n.CPU, n.Memory, n.MaxPods, n.PodNetwork = c.Address, c.Labels, c.CPU, c.Memory, c.MaxPods, c.PodNetwork
	n.StorageDir = c.StorageDir
	n.LastHeartbeat = c.Time
}

func (st *state) heartbeat(c *api.Heartbeat) error {
	n := st.Nodes[c.Name]
	if n == nil {
		return fmt.Errorf("%w: %s", ErrUnknownNode, c.Name)
	}
	if c.Time.After(n.LastHeartbeat) {
		n.LastHeartbeat = c.Time
	}
	if c.Time.After(st.HeartbeatStamp) {
		st.HeartbeatStamp = c.Time
	}
	return nil
}

// heartbeats records a batch of heartbeats and returns the names of the
// nodes it does not know.
func (st *state) heartbeats(c *HeartbeatsCommand) []string {
	var unknown []string
	for _, name := range c.Names {
		if err := st.heartbeat(&api.Heartbeat{Name: name, Time: c.Time}); err != nil {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// applyStatus stores the agent's view of its pods. A report for a pod that is
// gone or was replaced (another UID) is ignored.
func (st *state) applyStatus(c *api.StatusBatch, index uint64) {
	for _, e := range c.Events {
		st.addEvent(e, c.Time)
	}
	st.volumesDeleted(c.Node, c.VolumesDeleted, index)
	st.volumeReports(c.Node, c.Volumes)
	if n := st.Nodes[c.Node]; n != nil && c.Conditions != nil {
		n.Conditions = dateNodeConditions(c.Conditions, n.Conditions, metav1.NewTime(c.Time))
	}
	for _, r := range c.Reports {
		key := api.Key(r.Namespace, r.Name)
		p, ok := st.Pods[key]
		if !ok || string(p.UID) != r.UID || p.Spec.NodeName != c.Node {
			continue
		}
		if r.Removed {
			st.removePod(key)
			st.touchNode(c.Node, index)
			continue
		}
		old := p.Status.Conditions
		edited := *p // the stored pod is replaced, not changed (see putPod)
		edited.Status = r.Status
		datePodConditions(&edited.Status, old, metav1.NewTime(c.Time))
		mergeScheduled(&edited.Status, old)
		st.putPod(key, &edited)
	}
}

// volumesDeleted forgets the volumes being deleted whose folders the
// node's agent removed.
func (st *state) volumesDeleted(node string, names []string, index uint64) {
	for _, name := range names {
		if v := st.Volumes[name]; v != nil && v.DeletionTimestamp != nil && api.VolumeNode(v) == node {
			delete(st.Volumes, name)
			st.touchNode(node, index)
		}
	}
}

// volumeReports records whether the sizes of a node's local-path volumes
// are enforced (the record is replaced, not changed: clone shares it).
func (st *state) volumeReports(node string, reports []api.VolumeReport) {
	for _, r := range reports {
		v := st.Volumes[r.Name]
		if v == nil || api.VolumeNode(v) != node {
			continue
		}
		c := v.DeepCopy()
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[api.AnnotationSizeEnforced] = strconv.FormatBool(r.SizeEnforced)
		delete(c.Annotations, api.AnnotationSizeNotEnforced)
		if r.Reason != "" {
			c.Annotations[api.AnnotationSizeNotEnforced] = r.Reason
		}
		st.Volumes[r.Name] = c
	}
}

// dateNodeConditions gives each reported node condition the time it
// last changed (kept when its status is the same) and the batch's time
// as its heartbeat.
func dateNodeConditions(reported, old []corev1.NodeCondition, now metav1.Time) []corev1.NodeCondition {
	out := slices.Clone(reported)
	for i := range out {
		c := &out[i]
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, o := range old {
			if o.Type == c.Type && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return out
}

// datePodConditions gives each reported condition the time it last
// changed: kept from the stored one when its status is the same, else the
// batch's time.
func datePodConditions(s *corev1.PodStatus, old []corev1.PodCondition, now metav1.Time) {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		c.LastTransitionTime = now
		for _, o := range old {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
	}
}

// mergeScheduled keeps the master's PodScheduled condition beside the
// conditions the agent reports.
func mergeScheduled(s *corev1.PodStatus, old []corev1.PodCondition) {
	for _, c := range old {
		if c.Type == corev1.PodScheduled {
			s.Conditions = append([]corev1.PodCondition{c}, s.Conditions...)
		}
	}
}
