package reconciler

import (
	"fmt"
	"sort"
	"strconv"
	"time"
	_ "time/tzdata" // CronJob time zones do not depend on the host's zoneinfo

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/robfig/cron/v3"

	"github.com/berth-dev/berth/api"
)

// maxCatchUp bounds how far back a CronJob looks for a missed schedule
// when no startingDeadlineSeconds says so.
const maxCatchUp = 24 * time.Hour

// cronJob starts a CronJob's Job when a scheduled time has come: the most
// recent one not yet run, within startingDeadlineSeconds. The first pass
// only registers the CronJob: times before it are not run. Forbid skips a
// time while a run is active, Replace stops the active runs. Finished
// runs beyond the history limits are forgotten.
func (r *pass) cronJob(c *batchv1.CronJob) {
	key := api.Key(c.Namespace, c.Name)
	rec := r.cronRecord(key)
	if rec == nil {
		r.plan.CronJobs = append(r.plan.CronJobs, batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{
			Name: c.Name, Namespace: c.Namespace, CreationTimestamp: metav1.NewTime(r.now),
		}})
		return
	}
	active := r.pruneCronRuns(c)
	next := rec.DeepCopy()
	defer func() {
		if !equalJSON(rec.Status, next.Status) {
			r.plan.CronJobs = append(r.plan.CronJobs, *next)
		}
	}()
	due := r.dueTime(c, rec)
	if due.IsZero() || derefBool(c.Spec.Suspend) {
		return
	}
	switch {
	case c.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(active) > 0:
		return // tried again each pass until the starting deadline passes
	case c.Spec.ConcurrencyPolicy == batchv1.ReplaceConcurrent:
		for _, j := range active {
			r.plan.DeleteJobs = append(r.plan.DeleteJobs, api.Key(j.Namespace, j.Name))
		}
	}
	r.recordJob(cronRun(c, due, r.in.Commit))
	t := metav1.NewTime(due)
	next.Status.LastScheduleTime = &t
}

func (r *pass) cronRecord(key string) *batchv1.CronJob {
	for i := range r.in.CronJobs {
		if api.Key(r.in.CronJobs[i].Namespace, r.in.CronJobs[i].Name) == key {
			return &r.in.CronJobs[i]
		}
	}
	return nil
}

// dueTime is the most recent scheduled time after the last one run (or
// the registration) and not after now; zero when there is none.
func (r *pass) dueTime(c *batchv1.CronJob, rec *batchv1.CronJob) time.Time {
	sched, err := cronSchedule(c)
	if err != nil {
		return time.Time{} // refused when the commit was decoded
	}
	since := rec.CreationTimestamp.Time
	if rec.Status.LastScheduleTime != nil {
		since = rec.Status.LastScheduleTime.Time
	}
	earliest := r.now.Add(-maxCatchUp)
	if d := c.Spec.StartingDeadlineSeconds; d != nil {
		earliest = r.now.Add(-time.Duration(*d) * time.Second)
	}
	if since.Before(earliest) {
		since = earliest.Add(-time.Second) // a time exactly at the deadline still runs
	}
	var due time.Time
	for t := sched.Next(since); !t.After(r.now); t = sched.Next(t) {
		due = t
	}
	return due
}

// cronSchedule parses a CronJob's schedule in its time zone, as
// Kubernetes does.
func cronSchedule(c *batchv1.CronJob) (cron.Schedule, error) {
	spec := c.Spec.Schedule
	if c.Spec.TimeZone != nil {
		spec = "CRON_TZ=" + *c.Spec.TimeZone + " " + spec
	}
	return cron.ParseStandard(spec)
}

// cronRun is the Job a CronJob starts for a scheduled time, named as
// Kubernetes names it: "<cronjob>-<minutes since the epoch>".
func cronRun(c *batchv1.CronJob, due time.Time, commit string) *batchv1.Job {
	name := fmt.Sprintf("%s-%d", c.Name, due.Unix()/60)
	j := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: c.Namespace,
			Labels:      copyMap(c.Spec.JobTemplate.Labels),
			Annotations: copyMap(c.Spec.JobTemplate.Annotations),
		},
		Spec: *c.Spec.JobTemplate.Spec.DeepCopy(),
	}
	j.Annotations[api.AnnotationOwner] = "CronJob/" + c.Name
	j.Annotations[api.AnnotationCommit] = commit
	j.Annotations[api.AnnotationCronJobScheduledTimestamp] = due.UTC().Format(time.RFC3339)
	j.UID = types.UID(uid(c.Namespace, name, "cronjob", strconv.FormatInt(due.Unix(), 10)))
	j.CreationTimestamp = metav1.NewTime(due)
	return j
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// pruneCronRuns forgets the finished runs of a CronJob beyond its history
// limits, oldest first, and returns the active runs.
func (r *pass) pruneCronRuns(c *batchv1.CronJob) (active []*batchv1.Job) {
	var done, failed []*batchv1.Job
	for i := range r.in.Jobs {
		j := &r.in.Jobs[i]
		if kind, name := jobOwner(j); kind != "CronJob" || name != c.Name || j.Namespace != c.Namespace {
			continue
		}
		switch JobFinished(j) {
		case batchv1.JobComplete:
			done = append(done, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		default:
			active = append(active, j)
		}
	}
	r.forgetOldest(done, int(derefInt32(c.Spec.SuccessfulJobsHistoryLimit, 3)))
	r.forgetOldest(failed, int(derefInt32(c.Spec.FailedJobsHistoryLimit, 1)))
	return active
}

func (r *pass) forgetOldest(runs []*batchv1.Job, keep int) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].CreationTimestamp.Before(&runs[j].CreationTimestamp) })
	for i := 0; i < len(runs)-keep; i++ {
		r.plan.DeleteJobs = append(r.plan.DeleteJobs, api.Key(runs[i].Namespace, runs[i].Name))
	}
}
