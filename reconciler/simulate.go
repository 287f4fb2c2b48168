package reconciler

import (
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// Play applies a plan to the input as every master records it (with
// api.Plan.Apply, as the FSM does: pods, claims, Job and CronJob
// records), then as agents that confirm deletions at once: the pods the
// plan deletes are gone. It returns a new input; in is not changed.
func Play(in Input, plan api.Plan, now time.Time) Input {
	s := newSimState(in)
	plan.Apply(s, now)
	for _, key := range plan.Delete {
		delete(s.pods, key)
	}
	return s.input(in)
}

// record applies a plan to the input as every master records it, and no
// further: deleted pods on registered nodes stay, terminating, until
// their agents confirm. It returns a new input; in is not changed.
func record(in Input, plan api.Plan, now time.Time) Input {
	s := newSimState(in)
	plan.Apply(s, now)
	return s.input(in)
}

// Simulate plays a plan on a healthy cluster: Play, then every pod bound
// to a node is running and ready (a pod that is not restarted when it
// ends has succeeded). It is the model dry runs and tests play rollouts
// on; the real cluster is the agents' reports.
func Simulate(in Input, plan api.Plan, now time.Time) Input {
	out := Play(in, plan, now)
	for i := range out.Pods {
		if p := &out.Pods[i]; p.Spec.NodeName != "" && p.Status.Phase == corev1.PodPending {
			SetHealthy(p, now)
		}
	}
	return out
}

// SetHealthy makes a pod running and ready since now; a pod that is not
// restarted after it ends has succeeded instead.
func SetHealthy(p *corev1.Pod, now time.Time) {
	p.Status = *p.Status.DeepCopy() // may be shared with the input played
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways && p.Spec.RestartPolicy != "" {
		p.Status.Phase = corev1.PodSucceeded
		return
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now),
	})
}

// simState is an input as a plan sees it (api.PlanState). Its pods point
// into the input, which api.Plan.Apply never changes: it stores changed
// copies.
type simState struct {
	pods   map[string]*corev1.Pod
	nodes  map[string]bool
	cidrs  map[string]string // pod CIDRs the plan gave
	claims map[string]string
	jobs   map[string]*batchv1.Job
	crons  map[string]*batchv1.CronJob
	vols   map[string]*corev1.PersistentVolume
	pvcs   map[string]*corev1.PersistentVolumeClaim
}

func newSimState(in Input) *simState {
	s := &simState{pods: indexPods(in.Pods), nodes: map[string]bool{}, cidrs: map[string]string{}, claims: map[string]string{},
		jobs: map[string]*batchv1.Job{}, crons: map[string]*batchv1.CronJob{},
		vols: map[string]*corev1.PersistentVolume{}, pvcs: map[string]*corev1.PersistentVolumeClaim{}}
	for i := range in.Volumes {
		s.vols[in.Volumes[i].Name] = &in.Volumes[i]
	}
	for i := range in.PVCs {
		s.pvcs[api.Key(in.PVCs[i].Namespace, in.PVCs[i].Name)] = &in.PVCs[i]
	}
	for _, n := range in.Nodes {
		s.nodes[n.Name] = true
	}
	for k, n := range in.Claims {
		s.claims[k] = n
	}
	for i := range in.Jobs {
		s.jobs[api.Key(in.Jobs[i].Namespace, in.Jobs[i].Name)] = &in.Jobs[i]
	}
	for i := range in.CronJobs {
		s.crons[api.Key(in.CronJobs[i].Namespace, in.CronJobs[i].Name)] = &in.CronJobs[i]
	}
	return s
}

// input is in with the state's pods, claims and records, each in new
// slices sorted by key, as the store's views list them, and its nodes
// with the pod CIDRs given.
func (s *simState) input(in Input) Input {
	if len(s.cidrs) > 0 {
		in.Nodes = slices.Clone(in.Nodes)
		for i := range in.Nodes {
			if c, ok := s.cidrs[in.Nodes[i].Name]; ok {
				in.Nodes[i].PodCIDR = c
			}
		}
	}
	in.Pods = make([]corev1.Pod, 0, len(s.pods))
	for _, k := range sortedKeys(s.pods) {
		in.Pods = append(in.Pods, *s.pods[k])
	}
	in.Claims = s.claims
	in.Volumes = make([]corev1.PersistentVolume, 0, len(s.vols))
	for _, k := range sortedKeys(s.vols) {
		in.Volumes = append(in.Volumes, *s.vols[k])
	}
	in.PVCs = make([]corev1.PersistentVolumeClaim, 0, len(s.pvcs))
	for _, k := range sortedKeys(s.pvcs) {
		in.PVCs = append(in.PVCs, *s.pvcs[k])
	}
	in.Jobs = make([]batchv1.Job, 0, len(s.jobs))
	for _, k := range sortedKeys(s.jobs) {
		in.Jobs = append(in.Jobs, *s.jobs[k])
	}
	in.CronJobs = make([]batchv1.CronJob, 0, len(s.crons))
	for _, k := range sortedKeys(s.crons) {
		in.CronJobs = append(in.CronJobs, *s.crons[k])
	}
	return in
}

func (s *simState) Pod(key string) *corev1.Pod       { return s.pods[key] }
func (s *simState) PutPod(key string, p *corev1.Pod) { s.pods[key] = p }
func (s *simState) RemovePod(key string)             { delete(s.pods, key) }
func (s *simState) HasNode(name string) bool         { return s.nodes[name] }
func (s *simState) Touch(string)                     {}
func (s *simState) SetPodCIDR(node, cidr string)     { s.cidrs[node] = cidr }
func (s *simState) ClaimNode(claim string) string    { return s.claims[claim] }
func (s *simState) SetClaimNode(claim, node string) {
	if node == "" {
		delete(s.claims, claim)
		return
	}
	s.claims[claim] = node
}
func (s *simState) VolumeRecords() map[string]*corev1.PersistentVolume     { return s.vols }
func (s *simState) ClaimRecords() map[string]*corev1.PersistentVolumeClaim { return s.pvcs }
func (s *simState) JobRecords() map[string]*batchv1.Job                    { return s.jobs }
func (s *simState) CronJobRecords() map[string]*batchv1.CronJob            { return s.crons }
