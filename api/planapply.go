package api

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PlanState is what a plan changes: the pods, the node that holds each
// claim's data, and the Job and CronJob records. The FSM's state
// implements it, and so does the reconciler's simulation, on which dry
// runs and tests play rollouts: both apply plans with Plan.Apply, so the
// two cannot drift apart.
type PlanState interface {
	// Pod returns the stored pod, or nil. It is never changed in place:
	// Apply stores a changed copy instead.
	Pod(key string) *corev1.Pod
	// PutPod stores a new pod, or the changed copy of a stored one.
	PutPod(key string, p *corev1.Pod)
	// RemovePod forgets a pod.
	RemovePod(key string)
	// HasNode reports whether a node is registered.
	HasNode(name string) bool
	// SetPodCIDR records the range of a registered node's pod addresses.
	SetPodCIDR(node, cidr string)
	// Touch records that the pods bound to a node changed (its agent
	// looks again); it is called with "" for an unbound pod.
	Touch(node string)
	// ClaimNode is the node that holds a claim's data ("" while none);
	// SetClaimNode records it ("" forgets it).
	ClaimNode(claim string) string
	SetClaimNode(claim, node string)
	// JobRecords and CronJobRecords are the records by key, to change in
	// place.
	JobRecords() map[string]*batchv1.Job
	CronJobRecords() map[string]*batchv1.CronJob
	// VolumeRecords are the PersistentVolumes by name, and ClaimRecords
	// the StatefulSets' claims by key, to change in place.
	VolumeRecords() map[string]*corev1.PersistentVolume
	ClaimRecords() map[string]*corev1.PersistentVolumeClaim
}

// Apply applies the plan to s at now, as every master records it: the
// Job and CronJob records and the nodes' pod CIDRs first, then the pods
// created (a pod that exists
// is left as it is: the plan is stale), bound (a pending pod only),
// marked unschedulable, deleted (a bound pod on a registered node is
// marked terminating for its agent to stop; any other is forgotten) and
// force-deleted (a terminating pod is forgotten), in that order.
func (p *Plan) Apply(s PlanState, now time.Time) {
	p.applyRecords(s)
	p.applyStorage(s)
	for _, c := range p.PodCIDRs {
		if s.HasNode(c.Node) {
			s.SetPodCIDR(c.Node, c.CIDR)
		}
	}
	at := metav1.NewTime(now)
	for i := range p.Create {
		pod := p.Create[i].DeepCopy()
		key := PodKey(pod)
		if s.Pod(key) != nil {
			continue
		}
		pod.CreationTimestamp = at
		s.PutPod(key, pod)
		s.Touch(pod.Spec.NodeName)
		bindClaims(s, pod)
	}
	for _, b := range p.Bind {
		old := s.Pod(b.Pod)
		if old == nil || old.Spec.NodeName != "" {
			continue
		}
		pod := editable(old)
		pod.Spec.NodeName = b.Node
		setCondition(&pod.Status, corev1.PodScheduled, corev1.ConditionTrue, "", "", at)
		s.PutPod(b.Pod, pod)
		s.Touch(b.Node)
		bindClaims(s, pod)
	}
	for _, u := range p.Unschedulable {
		if old := s.Pod(u.Pod); old != nil && old.Spec.NodeName == "" {
			pod := editable(old)
			setCondition(&pod.Status, corev1.PodScheduled, corev1.ConditionFalse, corev1.PodReasonUnschedulable, u.Message, at)
			s.PutPod(u.Pod, pod)
		}
	}
	p.applyDeletes(s, at)
}

// applyDeletes marks or forgets the pods the plan deletes, then forgets
// the terminating pods it force-deletes.
func (p *Plan) applyDeletes(s PlanState, at metav1.Time) {
	for _, key := range p.Delete {
		old := s.Pod(key)
		switch {
		case old == nil:
		case old.Spec.NodeName == "" || !s.HasNode(old.Spec.NodeName):
			s.RemovePod(key)
		case old.DeletionTimestamp == nil:
			pod := editable(old)
			pod.DeletionTimestamp = &at
			s.PutPod(key, pod)
			s.Touch(pod.Spec.NodeName)
		}
	}
	for _, key := range p.ForceDelete {
		if old := s.Pod(key); old != nil && old.DeletionTimestamp != nil {
			s.RemovePod(key)
			s.Touch(old.Spec.NodeName)
		}
	}
}

// applyRecords stores the controllers' records: Job runs and CronJob
// schedules.
func (p *Plan) applyRecords(s PlanState) {
	jobs, crons := s.JobRecords(), s.CronJobRecords()
	for _, key := range p.DeleteJobs {
		delete(jobs, key)
	}
	for i := range p.Jobs {
		j := p.Jobs[i].DeepCopy()
		jobs[Key(j.Namespace, j.Name)] = j
	}
	for _, key := range p.DeleteCronJobs {
		delete(crons, key)
	}
	for i := range p.CronJobs {
		c := p.CronJobs[i].DeepCopy()
		crons[Key(c.Namespace, c.Name)] = c
	}
}

// applyStorage stores the volume and claim records the plan changes;
// a volume records the node that holds its data, which pins the claim
// there.
func (p *Plan) applyStorage(s PlanState) {
	if !p.ChangesStorage() {
		return
	}
	volumes, claims := s.VolumeRecords(), s.ClaimRecords()
	for _, name := range p.ForgetVolumes {
		delete(volumes, name)
	}
	for i := range p.Volumes {
		v := p.Volumes[i].DeepCopy()
		keepReported(v, volumes[v.Name])
		volumes[v.Name] = v
		switch c, n := ClaimKey(v), VolumeNode(v); {
		case c == "" || n == "":
		case v.Status.Phase == corev1.VolumeBound && v.DeletionTimestamp == nil:
			s.SetClaimNode(c, n)
		case s.ClaimNode(c) == n:
			s.SetClaimNode(c, "") // released: a new claim of that name starts afresh
		}
		s.Touch(VolumeNode(v))
	}
	for _, key := range p.DeleteClaims {
		delete(claims, key)
	}
	for i := range p.Claims {
		c := p.Claims[i].DeepCopy()
		claims[Key(c.Namespace, c.Name)] = c
	}
}

// keepReported carries what the agent reported of a volume (whether its
// size is enforced) from the stored record to its new one, which a plan
// made before the report does not have.
func keepReported(v, old *corev1.PersistentVolume) {
	if old == nil {
		return
	}
	for _, k := range []string{AnnotationSizeEnforced, AnnotationSizeNotEnforced} {
		if _, ok := v.Annotations[k]; !ok && old.Annotations[k] != "" {
			if v.Annotations == nil {
				v.Annotations = map[string]string{}
			}
			v.Annotations[k] = old.Annotations[k]
		}
	}
}

// editable is a copy of a stored pod to change and store: it shares the
// metadata and spec, which are only ever replaced, and has its own
// status.
func editable(old *corev1.Pod) *corev1.Pod {
	pod := new(corev1.Pod)
	*pod = *old
	pod.Status = *old.Status.DeepCopy()
	return pod
}

// bindClaims records the node of each claim of a bound pod the first
// time one is bound: the claim's data lives there from then on.
func bindClaims(s PlanState, p *corev1.Pod) {
	if p.Spec.NodeName == "" {
		return
	}
	for _, v := range p.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil {
			if key := Key(p.Namespace, c.ClaimName); s.ClaimNode(key) == "" {
				s.SetClaimNode(key, p.Spec.NodeName)
			}
		}
	}
}

// setCondition sets a pod condition, keeping its transition time when
// its status does not change.
func setCondition(s *corev1.PodStatus, t corev1.PodConditionType, status corev1.ConditionStatus, reason, msg string, now metav1.Time) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			c := &s.Conditions[i]
			if c.Status != status {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message = status, reason, msg
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: now})
}
