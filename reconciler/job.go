package reconciler

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
)

// annotationTTLExpired marks a Git Job run whose pods were removed by
// ttlSecondsAfterFinished: Git still holds the Job, so its record stays
// and the Job does not run again.
const annotationTTLExpired = "berth.dev/ttl-expired"

// jobBackoff is the delay before a failed Job pod is replaced, doubling
// per failure up to jobBackoffMax, as in Kubernetes.
const (
	jobBackoff    = 10 * time.Second
	jobBackoffMax = 6 * time.Minute
)

// jobs returns the Job runs to sync: one per Job in Git (a new run when
// its spec changed) and the runs of CronJobs still in Git. Every other
// record is forgotten, and its pods with it.
func (r *pass) jobs() []*batchv1.Job {
	records := map[string]*batchv1.Job{}
	for i := range r.in.Jobs {
		j := &r.in.Jobs[i]
		records[api.Key(j.Namespace, j.Name)] = j
	}
	crons := map[string]bool{}
	for _, c := range r.desired.CronJobs {
		crons[api.Key(c.Namespace, c.Name)] = true
	}
	var out []*batchv1.Job
	seen := map[string]bool{}
	for i := range r.desired.Jobs {
		g := &r.desired.Jobs[i]
		key := api.Key(g.Namespace, g.Name)
		seen[key] = true
		hash := hashOf(struct {
			Labels map[string]string
			Spec   batchv1.JobSpec
		}{g.Labels, g.Spec})
		rec := records[key]
		if rec == nil || rec.Annotations[api.AnnotationSpecHash] != hash || rec.Annotations[api.AnnotationOwner] != "" {
			rec = r.newJobRun(g, hash)
		}
		out = append(out, rec)
	}
	for _, key := range sortedKeys(records) {
		rec := records[key]
		if seen[key] {
			continue
		}
		if kind, name := jobOwner(rec); kind == "CronJob" && crons[api.Key(rec.Namespace, name)] {
			out = append(out, rec)
		} else {
			r.plan.DeleteJobs = append(r.plan.DeleteJobs, key)
		}
	}
	return out
}

func jobOwner(j *batchv1.Job) (kind, name string) {
	kind, name, _ = strings.Cut(j.Annotations[api.AnnotationOwner], "/")
	return kind, name
}

// newJobRun records the start of a run of a Job from Git.
func (r *pass) newJobRun(g *batchv1.Job, hash string) *batchv1.Job {
	j := g.DeepCopy()
	if j.Annotations == nil {
		j.Annotations = map[string]string{}
	}
	j.Annotations[api.AnnotationSpecHash] = hash
	j.Annotations[api.AnnotationCommit] = r.in.Commit
	j.UID = types.UID(uid(j.Namespace, j.Name, hash, r.in.Commit))
	j.CreationTimestamp = metav1.NewTime(r.now)
	j.Status = batchv1.JobStatus{}
	r.recordJob(j)
	return j
}

// recordJob puts a Job record in the plan, replacing an earlier version
// of it in the same plan.
func (r *pass) recordJob(j *batchv1.Job) {
	for i := range r.plan.Jobs {
		if r.plan.Jobs[i].Namespace == j.Namespace && r.plan.Jobs[i].Name == j.Name {
			r.plan.Jobs[i] = *j.DeepCopy()
			return
		}
	}
	r.plan.Jobs = append(r.plan.Jobs, *j.DeepCopy())
}

// jobTally is what a Job run's pods say.
type jobTally struct {
	active            []*corev1.Pod
	activeIndexes     map[int]bool
	succeeded, failed int
	succeededIndexes  map[int]bool
	lastFailure       time.Time
	restartsOnFailure int
}

func (r *pass) tallyJob(j *batchv1.Job) jobTally {
	t := jobTally{activeIndexes: map[int]bool{}, succeededIndexes: map[int]bool{}}
	for _, p := range r.owned[ownerKey("Job", j.Namespace, j.Name)] {
		if p.Labels[api.LabelControllerUID] != string(j.UID) {
			if p.DeletionTimestamp == nil {
				r.delete(p) // a pod of an earlier run
			}
			continue
		}
		idx := completionIndex(p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			t.succeeded++
			if idx >= 0 {
				t.succeededIndexes[idx] = true
			}
		case p.Status.Phase == corev1.PodFailed:
			t.failed++
			t.lastFailure = later(t.lastFailure, finishedAt(p))
		case p.DeletionTimestamp == nil:
			t.active = append(t.active, p)
			if idx >= 0 {
				t.activeIndexes[idx] = true
			}
			for _, cs := range p.Status.ContainerStatuses {
				t.restartsOnFailure += int(cs.RestartCount)
			}
		}
	}
	if j.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
		t.failed += t.restartsOnFailure
	}
	return t
}

func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[api.LabelJobCompletionIndex]
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return i
}

// finishedAt is when a failed pod's last container ended.
func finishedAt(p *corev1.Pod) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil {
			t = later(t, term.FinishedAt.Time)
		}
	}
	if t.IsZero() {
		t = p.CreationTimestamp.Time
	}
	return t
}

// job runs a Job's pods until it completes or fails: at most parallelism
// at once, new pods for failed ones after a back-off, until completions
// succeed (every index, for an Indexed Job), backoffLimit failures pass,
// or activeDeadlineSeconds runs out.
func (r *pass) job(j *batchv1.Job) {
	before := j.Status
	next := j.DeepCopy()
	t := r.tallyJob(j)
	next.Status.Succeeded, next.Status.Failed = int32(t.succeeded), int32(t.failed)
	next.Status.Active = int32(len(t.active))
	if isIndexed(j) {
		next.Status.CompletedIndexes = indexRanges(t.succeededIndexes)
	}
	switch {
	case JobFinished(j) != "": // its counts stay as they were when it ended
		r.stopPods(t.active)
		next.Status = *j.Status.DeepCopy()
		r.expireJob(next)
	case derefBool(j.Spec.Suspend):
		r.stopPods(t.active)
		next.Status.Active = 0
	default:
		if next.Status.StartTime == nil {
			start := metav1.NewTime(r.now)
			next.Status.StartTime = &start
		}
		if r.finishJob(next, &t) {
			r.stopPods(t.active)
			next.Status.Active = 0
		} else {
			r.startJobPods(next, &t)
		}
	}
	if !equalJSON(before, next.Status) || !equalJSON(j.Annotations, next.Annotations) {
		r.recordJob(next)
	}
}

func (r *pass) stopPods(pods []*corev1.Pod) {
	for _, p := range pods {
		r.delete(p)
	}
}

func derefBool(b *bool) bool { return b != nil && *b }

func isIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

// finishJob sets the Complete or Failed condition when the run ended.
func (r *pass) finishJob(j *batchv1.Job, t *jobTally) bool {
	switch {
	case t.failed > int(derefInt32(j.Spec.BackoffLimit, 6)):
		r.setJobCondition(j, batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
	case j.Spec.ActiveDeadlineSeconds != nil && !r.now.Before(j.Status.StartTime.Add(time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second)):
		r.setJobCondition(j, batchv1.JobFailed, "DeadlineExceeded", "Job was active longer than specified deadline")
	case jobSucceeded(j, t):
		r.setJobCondition(j, batchv1.JobComplete, "", "")
		done := metav1.NewTime(r.now)
		j.Status.CompletionTime = &done
	default:
		return false
	}
	return true
}

func jobSucceeded(j *batchv1.Job, t *jobTally) bool {
	switch {
	case isIndexed(j):
		return len(t.succeededIndexes) >= int(derefInt32(j.Spec.Completions, 1))
	case j.Spec.Completions == nil: // a work queue: done when one succeeded and none runs
		return t.succeeded > 0 && len(t.active) == 0
	}
	return t.succeeded >= int(*j.Spec.Completions)
}

func (r *pass) setJobCondition(j *batchv1.Job, typ batchv1.JobConditionType, reason, msg string) {
	now := metav1.NewTime(r.now)
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{
		Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now,
	})
}

// JobFinished returns "Complete" or "Failed" when a Job run ended, else "".
func JobFinished(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

// startJobPods creates the pods the run lacks, after the back-off that
// follows a failure.
func (r *pass) startJobPods(j *batchv1.Job, t *jobTally) {
	if t.failed > 0 {
		delay := min(jobBackoff<<min(t.failed-1, 10), jobBackoffMax)
		if r.now.Before(t.lastFailure.Add(delay)) {
			return
		}
	}
	parallelism := int(derefInt32(j.Spec.Parallelism, 1))
	taken := map[string]bool{}
	if isIndexed(j) {
		for idx := 0; idx < int(*j.Spec.Completions) && len(t.active) < parallelism; idx++ {
			if !t.succeededIndexes[idx] && !t.activeIndexes[idx] {
				p := r.jobPod(j, idx, taken)
				r.create(p)
				t.active = append(t.active, &p)
			}
		}
		return
	}
	want := parallelism
	switch {
	case j.Spec.Completions != nil:
		want = min(parallelism, int(*j.Spec.Completions)-t.succeeded)
	case t.succeeded > 0:
		want = 0 // a work queue stops starting pods once one succeeded
	}
	for n := len(t.active); n < want; n++ {
		r.create(r.jobPod(j, -1, taken))
	}
}

// jobPod is a pod of a Job run with the labels Kubernetes gives it and,
// for an Indexed Job, its index in a label, an annotation and the
// JOB_COMPLETION_INDEX variable.
func (r *pass) jobPod(j *batchv1.Job, idx int, taken map[string]bool) corev1.Pod {
	base := j.Name
	labels := map[string]string{
		api.LabelJobName: j.Name, api.LabelBatchJobName: j.Name,
		api.LabelControllerUID: string(j.UID), api.LabelBatchControllerID: string(j.UID),
	}
	if idx >= 0 {
		base = fmt.Sprintf("%s-%d", j.Name, idx)
		labels[api.LabelJobCompletionIndex] = strconv.Itoa(idx)
	}
	name := r.freeName(j.Namespace, base, string(j.UID), taken)
	p := r.templatePod(&j.Spec.Template, j.Namespace, name, "Job/"+j.Name, labels)
	if idx >= 0 {
		p.Annotations[api.LabelJobCompletionIndex] = strconv.Itoa(idx)
		env := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['" + api.LabelJobCompletionIndex + "']"},
		}}
		for i := range p.Spec.InitContainers {
			p.Spec.InitContainers[i].Env = append(p.Spec.InitContainers[i].Env, env)
		}
		for i := range p.Spec.Containers {
			p.Spec.Containers[i].Env = append(p.Spec.Containers[i].Env, env)
		}
	}
	return p
}

// expireJob removes a finished run's pods once ttlSecondsAfterFinished has
// passed: a CronJob's run is forgotten, a Git Job's is marked expired.
func (r *pass) expireJob(j *batchv1.Job) {
	ttl := j.Spec.TTLSecondsAfterFinished
	if ttl == nil || j.Annotations[annotationTTLExpired] != "" {
		return
	}
	end := finishTime(j)
	if r.now.Before(end.Add(time.Duration(*ttl) * time.Second)) {
		return
	}
	r.stopPods(r.jobPodsAll(j))
	if kind, _ := jobOwner(j); kind == "CronJob" {
		r.plan.DeleteJobs = append(r.plan.DeleteJobs, api.Key(j.Namespace, j.Name))
		return
	}
	j.Annotations[annotationTTLExpired] = r.now.UTC().Format(time.RFC3339)
}

func (r *pass) jobPodsAll(j *batchv1.Job) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range r.owned[ownerKey("Job", j.Namespace, j.Name)] {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// finishTime is when a run's Complete or Failed condition was set.
func finishTime(j *batchv1.Job) time.Time {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// indexRanges renders a set of indexes as Kubernetes' completedIndexes:
// "0-2,5".
func indexRanges(set map[int]bool) string {
	idx := make([]int, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var parts []string
	for k := 0; k < len(idx); {
		e := k
		for e+1 < len(idx) && idx[e+1] == idx[e]+1 {
			e++
		}
		if e == k {
			parts = append(parts, strconv.Itoa(idx[k]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[k], idx[e]))
		}
		k = e + 1
	}
	return strings.Join(parts, ",")
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
