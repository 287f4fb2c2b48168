package reconciler

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
)

// Workloads is every controller of pods in the live revision with its
// status as its Kubernetes controller would report it. Jobs include the
// runs of CronJobs.
type Workloads struct {
	Deployments            []appsv1.Deployment
	ReplicaSets            []appsv1.ReplicaSet
	ReplicationControllers []corev1.ReplicationController
	DaemonSets             []appsv1.DaemonSet
	StatefulSets           []appsv1.StatefulSet
	Jobs                   []batchv1.Job
	CronJobs               []batchv1.CronJob
}

// WorkloadStatus computes the status of every workload of in at now.
func WorkloadStatus(in Input, now time.Time) *Workloads {
	in = in.withNodeConditions(now)
	r := newPass(in, now)
	d := r.desired
	w := &Workloads{}
	for _, o := range d.Deployments {
		o.Status = r.deploymentStatus(&o)
		w.Deployments = append(w.Deployments, o)
		w.ReplicaSets = append(w.ReplicaSets, r.deploymentReplicaSets(&o)...)
	}
	for _, o := range d.ReplicaSets {
		o.Status = appsv1.ReplicaSetStatus(r.replicaStatus("ReplicaSet", o.Namespace, o.Name, o.Spec.MinReadySeconds))
		w.ReplicaSets = append(w.ReplicaSets, o)
	}
	for _, o := range d.ReplicationControllers {
		st := r.replicaStatus("ReplicationController", o.Namespace, o.Name, o.Spec.MinReadySeconds)
		o.Status = corev1.ReplicationControllerStatus{Replicas: st.Replicas, ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas}
		w.ReplicationControllers = append(w.ReplicationControllers, o)
	}
	for _, o := range d.DaemonSets {
		o.Status = r.daemonSetStatus(&o)
		w.DaemonSets = append(w.DaemonSets, o)
	}
	for _, o := range d.StatefulSets {
		o.Status = r.statefulSetStatus(&o)
		w.StatefulSets = append(w.StatefulSets, o)
	}
	w.Jobs = r.jobStatuses()
	for _, o := range d.CronJobs {
		o.Status = r.cronJobStatus(&o, w.Jobs)
		w.CronJobs = append(w.CronJobs, o)
	}
	return w
}

// deploymentReplicaSets shows a Deployment's pods grouped by template as
// the ReplicaSets Kubernetes would keep: the current one with the
// Deployment's replicas, older ones that still have pods with 0.
func (r *pass) deploymentReplicaSets(d *appsv1.Deployment) []appsv1.ReplicaSet {
	hash := templateHash(&d.Spec.Template)
	groups := map[string][]*corev1.Pod{hash: nil}
	active, _ := r.pods("Deployment", d.Namespace, d.Name)
	for _, p := range active {
		h := p.Labels[api.LabelPodTemplateHash]
		groups[h] = append(groups[h], p)
	}
	var out []appsv1.ReplicaSet
	for _, h := range sortedKeys(groups) {
		want := int32(0)
		if h == hash {
			want = replicas(d)
		}
		yes := true
		name := d.Name + "-" + h
		rs := appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, UID: types.UID(ObjectUID("ReplicaSet", d.Namespace, name)),
				Labels: withLabel(d.Spec.Template.Labels, api.LabelPodTemplateHash, h),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name,
					UID: types.UID(ObjectUID("Deployment", d.Namespace, d.Name)), Controller: &yes, BlockOwnerDeletion: &yes}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &want, MinReadySeconds: d.Spec.MinReadySeconds, Selector: withMatchLabel(d.Spec.Selector, api.LabelPodTemplateHash, h)},
		}
		for _, p := range groups[h] {
			if rs.CreationTimestamp.IsZero() || p.CreationTimestamp.Before(&rs.CreationTimestamp) {
				rs.CreationTimestamp = p.CreationTimestamp
			}
		}
		if h == hash {
			rs.Spec.Template = d.Spec.Template
		}
		st := appsv1.ReplicaSetStatus{Replicas: int32(len(groups[h])), AvailableReplicas: int32(countAvailable(groups[h], d.Spec.MinReadySeconds, r.now))}
		for _, p := range groups[h] {
			if PodReady(p) {
				st.ReadyReplicas++
			}
		}
		rs.Status = st
		out = append(out, rs)
	}
	return out
}

func (r *pass) replicaStatus(kind, ns, name string, minReady int32) appsv1.ReplicaSetStatus {
	active, _ := r.pods(kind, ns, name)
	st := appsv1.ReplicaSetStatus{Replicas: int32(len(active)), AvailableReplicas: int32(countAvailable(active, minReady, r.now))}
	for _, p := range active {
		if PodReady(p) {
			st.ReadyReplicas++
		}
	}
	return st
}

func (r *pass) daemonSetStatus(ds *appsv1.DaemonSet) appsv1.DaemonSetStatus {
	hash := templateHash(&ds.Spec.Template)
	eligible := map[string]bool{}
	run, keep := r.daemonNodes(&ds.Spec.Template)
	for _, n := range run {
		eligible[n] = true
	}
	active, _ := r.pods("DaemonSet", ds.Namespace, ds.Name)
	for _, p := range active { // a node that keeps its pod counts, as in Kubernetes
		if keep[p.Spec.NodeName] {
			eligible[p.Spec.NodeName] = true
		}
	}
	st := appsv1.DaemonSetStatus{DesiredNumberScheduled: int32(len(eligible))}
	for _, p := range active {
		if !eligible[p.Spec.NodeName] {
			st.NumberMisscheduled++
			continue
		}
		st.CurrentNumberScheduled++
		if PodReady(p) {
			st.NumberReady++
		}
		if Available(p, ds.Spec.MinReadySeconds, r.now) {
			st.NumberAvailable++
		}
		if p.Labels[api.LabelControllerRevisionHash] == hash {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = max(st.DesiredNumberScheduled-st.NumberAvailable, 0)
	return st
}

func (r *pass) statefulSetStatus(s *appsv1.StatefulSet) appsv1.StatefulSetStatus {
	rev := revisionName(s.Name, templateHash(&s.Spec.Template))
	st := appsv1.StatefulSetStatus{UpdateRevision: rev}
	active, _ := r.pods("StatefulSet", s.Namespace, s.Name)
	for _, p := range active {
		st.Replicas++
		if PodReady(p) {
			st.ReadyReplicas++
		}
		if Available(p, s.Spec.MinReadySeconds, r.now) {
			st.AvailableReplicas++
		}
		if p.Labels[api.LabelControllerRevisionHash] == rev {
			st.UpdatedReplicas++
		} else {
			st.CurrentReplicas++
			st.CurrentRevision = p.Labels[api.LabelControllerRevisionHash]
		}
	}
	if st.CurrentRevision == "" {
		st.CurrentRevision, st.CurrentReplicas = rev, st.UpdatedReplicas
	}
	return st
}

// jobStatuses lists the Job runs: the Jobs of Git (a Job not started yet
// has an empty status) and the runs of CronJobs.
func (r *pass) jobStatuses() []batchv1.Job {
	runs := map[string]*batchv1.Job{}
	for i := range r.in.Jobs {
		runs[api.Key(r.in.Jobs[i].Namespace, r.in.Jobs[i].Name)] = &r.in.Jobs[i]
	}
	var out []batchv1.Job
	for _, g := range r.desired.Jobs {
		if run := runs[api.Key(g.Namespace, g.Name)]; run != nil {
			g.Status = run.Status
			g.UID = run.UID
			delete(runs, api.Key(g.Namespace, g.Name))
		}
		out = append(out, g)
	}
	for _, k := range sortedKeys(runs) {
		out = append(out, *runs[k])
	}
	return out
}

func (r *pass) cronJobStatus(c *batchv1.CronJob, jobs []batchv1.Job) batchv1.CronJobStatus {
	var st batchv1.CronJobStatus
	if rec := r.cronRecord(api.Key(c.Namespace, c.Name)); rec != nil {
		st = *rec.Status.DeepCopy()
	}
	for _, j := range jobs {
		if kind, name := jobOwner(&j); kind != "CronJob" || name != c.Name || j.Namespace != c.Namespace {
			continue
		}
		switch JobFinished(&j) {
		case "":
			st.Active = append(st.Active, corev1.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID, APIVersion: "batch/v1"})
		case batchv1.JobComplete:
			if ct := j.Status.CompletionTime; ct != nil && (st.LastSuccessfulTime == nil || ct.After(st.LastSuccessfulTime.Time)) {
				t := metav1.NewTime(ct.Time)
				st.LastSuccessfulTime = &t
			}
		}
	}
	return st
}

// withLabel is a copy of labels with one more.
func withLabel(labels map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[key] = value
	return out
}

// withMatchLabel is a copy of a selector that also requires one label, as
// a Deployment's ReplicaSets select their own template's pods.
func withMatchLabel(sel *metav1.LabelSelector, key, value string) *metav1.LabelSelector {
	if sel == nil {
		return &metav1.LabelSelector{MatchLabels: map[string]string{key: value}}
	}
	out := sel.DeepCopy()
	out.MatchLabels = withLabel(out.MatchLabels, key, value)
	return out
}
