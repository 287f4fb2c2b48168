package reconciler

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"testing/quick"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

func podTemplate(app, env string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{RestartPolicy: restart, Containers: []corev1.Container{{
			Name: "app", Image: "kubia:v1", Env: []corev1.EnvVar{{Name: "V", Value: env}},
		}}},
	}
}

func int32p(v int32) *int32 { return &v }

// step runs one pass and plays its plan with the pods ready at once; the
// nodes have just sent a heartbeat.
func step(in Input, at time.Time) (Input, api.Plan) {
	in.Nodes = append([]api.Node(nil), in.Nodes...)
	for i := range in.Nodes {
		in.Nodes[i].LastHeartbeat = at
	}
	plan := Reconcile(in, at)
	return Simulate(in, plan, at), plan
}

func daemonSet(env string, selector map[string]string) appsv1.DaemonSet {
	one := intstr.FromInt32(1)
	return appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Template: func() corev1.PodTemplateSpec {
				t := podTemplate("agent", env, corev1.RestartPolicyAlways)
				t.Spec.NodeSelector = selector
				return t
			}(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one}},
		},
	}
}

func perNode(in Input) map[string]int {
	m := map[string]int{}
	for _, p := range in.Pods {
		m[p.Spec.NodeName]++
	}
	return m
}

func TestDaemonSetOnePodPerEligibleNode(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{
		node("n1", "1", "1Gi", map[string]string{"disk": "ssd"}),
		node("n2", "1", "1Gi", map[string]string{"disk": "ssd"}),
		node("n3", "1", "1Gi", map[string]string{"disk": "hdd"}),
	}}
	in.Desired = &api.ObjectSet{DaemonSets: []appsv1.DaemonSet{daemonSet("a", map[string]string{"disk": "ssd"})}}
	in = run(t, in)
	if m := perNode(in); len(in.Pods) != 2 || m["n1"] != 1 || m["n2"] != 1 {
		t.Fatalf("pods per node %v", m)
	}
	// A new node gets its pod; a node that stops matching loses it.
	in.Nodes = append(in.Nodes, node("n4", "1", "1Gi", map[string]string{"disk": "ssd"}))
	in.Nodes[0].Labels = map[string]string{"disk": "hdd"}
	in = run(t, in)
	if m := perNode(in); len(in.Pods) != 2 || m["n2"] != 1 || m["n4"] != 1 {
		t.Fatalf("after node changes: pods per node %v", m)
	}
	// A NoSchedule taint keeps new daemon pods out but lets a running one
	// stay, as in Kubernetes; a NoExecute taint removes it.
	in.Nodes[3].Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	in = run(t, in)
	if m := perNode(in); len(in.Pods) != 2 || m["n4"] != 1 {
		t.Fatalf("after a NoSchedule taint: pods per node %v", m)
	}
	in.Nodes[3].Taints[0].Effect = corev1.TaintEffectNoExecute
	in = run(t, in)
	if m := perNode(in); len(in.Pods) != 1 || m["n2"] != 1 {
		t.Fatalf("after a NoExecute taint: pods per node %v", m)
	}
}

func TestDaemonSetRollingUpdate(t *testing.T) {
	var nodes []api.Node
	for i := range 5 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), "1", "1Gi", nil))
	}
	in := run(t, Input{Commit: "c1", Nodes: nodes, Desired: &api.ObjectSet{DaemonSets: []appsv1.DaemonSet{daemonSet("a", nil)}}})
	ds := daemonSet("b", nil)
	in.Desired = &api.ObjectSet{DaemonSets: []appsv1.DaemonSet{ds}}
	hash := templateHash(&ds.Spec.Template)
	for pass := 0; pass < 20; pass++ {
		var plan api.Plan
		in, plan = step(in, now)
		missing := 0
		for node, n := range perNode(in) {
			if n > 1 {
				t.Fatalf("%d pods on %s", n, node)
			}
		}
		missing = len(nodes) - len(in.Pods)
		if missing > 1 {
			t.Fatalf("pass %d: %d nodes without their pod (maxUnavailable 1)", pass, missing)
		}
		if !plan.MovesPods() {
			break
		}
	}
	for _, p := range in.Pods {
		if p.Labels[api.LabelControllerRevisionHash] != hash {
			t.Fatalf("pod %s not updated", p.Name)
		}
	}
	if !Converged(in, now) {
		t.Fatal("not converged")
	}
}

func statefulSet(replicas int32, env string, policy appsv1.PodManagementPolicyType) appsv1.StatefulSet {
	return appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, PodManagementPolicy: policy,
			Template:       podTemplate("db", env, corev1.RestartPolicyAlways),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: int32p(0)}},
		},
	}
}

// TestStatefulSetOrder follows OrderedReady through scale-up, scale-down
// and a rolling update with a partition, one pass at a time.
func TestStatefulSetOrder(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)}}
	in.Desired = &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{statefulSet(3, "a", appsv1.OrderedReadyPodManagement)}}
	var created []string
	for range 5 {
		var plan api.Plan
		in, plan = step(in, now)
		if len(plan.Create) > 1 {
			t.Fatalf("OrderedReady created %d pods in one pass", len(plan.Create))
		}
		for _, p := range plan.Create {
			created = append(created, p.Name)
		}
	}
	if strings.Join(created, ",") != "db-0,db-1,db-2" {
		t.Fatalf("created %v", created)
	}
	if p := in.Pods[2]; p.Labels[api.LabelStatefulSetPodName] != "db-2" || p.Labels[api.LabelPodIndex] != "2" {
		t.Errorf("labels of db-2: %v", p.Labels)
	}
	// Scale-down waits while a pod is unhealthy, then removes the highest
	// ordinal first.
	in.Desired.StatefulSets[0] = statefulSet(1, "a", appsv1.OrderedReadyPodManagement)
	in.Pods[0].Status.Conditions = nil
	if plan := Reconcile(in, now); len(plan.Delete) != 0 {
		t.Fatalf("scaled down while db-0 is not ready: %v", plan.Delete)
	}
	SetHealthy(&in.Pods[0], now)
	var deleted []string
	for range 4 {
		var plan api.Plan
		in, plan = step(in, now)
		deleted = append(deleted, plan.Delete...)
	}
	if strings.Join(deleted, ",") != "default/db-2,default/db-1" {
		t.Fatalf("deleted %v", deleted)
	}
	// Rolling update from the highest ordinal down to the partition.
	in.Desired.StatefulSets[0] = statefulSet(3, "a", appsv1.OrderedReadyPodManagement)
	in = run(t, in)
	sts := statefulSet(3, "b", appsv1.OrderedReadyPodManagement)
	sts.Spec.UpdateStrategy.RollingUpdate.Partition = int32p(1)
	in.Desired.StatefulSets[0] = sts
	deleted = nil
	for range 8 {
		var plan api.Plan
		in, plan = step(in, now)
		deleted = append(deleted, plan.Delete...)
	}
	if strings.Join(deleted, ",") != "default/db-2,default/db-1" {
		t.Fatalf("rolling update deleted %v; want db-2 then db-1, db-0 kept by the partition", deleted)
	}
}

func TestStatefulSetParallelCreatesAtOnce(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)}}
	in.Desired = &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{statefulSet(3, "a", appsv1.ParallelPodManagement)}}
	if plan := Reconcile(in, now); len(plan.Create) != 3 {
		t.Fatalf("Parallel created %d pods in one pass", len(plan.Create))
	}
}

// TestStatefulSetOnePodPerOrdinalProperty plays random StatefulSet
// histories (scale changes, template changes, pods failing, pods stuck
// terminating on a dead node) and checks that no ordinal ever has two
// pods.
func TestStatefulSetOnePodPerOrdinalProperty(t *testing.T) {
	prop := func(seed int64) bool {
		rng := rand.New(rand.NewSource(seed))
		in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "8", "8Gi", nil), node("n2", "8", "8Gi", nil)}}
		policy := []appsv1.PodManagementPolicyType{appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement}[rng.Intn(2)]
		in.Desired = &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{statefulSet(int32(rng.Intn(5)), "a", policy)}}
		for pass := range 60 {
			switch rng.Intn(8) {
			case 0:
				in.Desired.StatefulSets[0] = statefulSet(int32(rng.Intn(6)), fmt.Sprint(rng.Intn(3)), policy)
			case 1: // a pod is deleted but its node never confirms it
				if len(in.Pods) > 0 {
					ts := metav1.NewTime(now)
					in.Pods[rng.Intn(len(in.Pods))].DeletionTimestamp = &ts
				}
			case 2: // the dead node's pods are finally gone
				var kept []corev1.Pod
				for _, p := range in.Pods {
					if p.DeletionTimestamp == nil {
						kept = append(kept, p)
					}
				}
				in.Pods = kept
			case 3:
				if len(in.Pods) > 0 {
					in.Pods[rng.Intn(len(in.Pods))].Status.Phase = corev1.PodFailed
				}
			}
			seen := map[string]bool{}
			for _, p := range in.Pods {
				seen[p.Name] = true
			}
			var plan api.Plan
			in, plan = step(in, now)
			for _, p := range plan.Create {
				if seen[p.Name] {
					t.Logf("pass %d: a second pod named %s", pass, p.Name)
					return false
				}
				seen[p.Name] = true
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 200}); err != nil {
		t.Fatal(err)
	}
}

func job(name string, completions, parallelism *int32, mode batchv1.CompletionMode, restart corev1.RestartPolicy) batchv1.Job {
	return batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: batchv1.JobSpec{
			Completions: completions, Parallelism: parallelism, BackoffLimit: int32p(2), CompletionMode: &mode,
			Template: podTemplate(name, "a", restart),
		},
	}
}

func jobRecord(in Input, name string) *batchv1.Job {
	for i := range in.Jobs {
		if in.Jobs[i].Name == name {
			return &in.Jobs[i]
		}
	}
	return nil
}

func TestJobCompletionsAndParallelism(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "8", "8Gi", nil)}}
	in.Desired = &api.ObjectSet{Jobs: []batchv1.Job{job("batch", int32p(5), int32p(2), batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)}}
	for pass := range 12 {
		var plan api.Plan
		in, plan = step(in, now)
		active := 0
		for _, p := range in.Pods {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				active++
			}
		}
		if len(plan.Create) > 2 || active > 2 {
			t.Fatalf("pass %d: %d created, %d active; parallelism is 2", pass, len(plan.Create), active)
		}
	}
	rec := jobRecord(in, "batch")
	if rec == nil || JobFinished(rec) != batchv1.JobComplete || rec.Status.Succeeded != 5 || len(in.Pods) != 5 {
		t.Fatalf("record %+v, %d pods", rec, len(in.Pods))
	}
	p := in.Pods[0]
	if ref := p.OwnerReferences; len(ref) != 1 || ref[0].Kind != "Job" || ref[0].UID != rec.UID || ref[0].APIVersion != "batch/v1" {
		t.Errorf("ownerReferences %+v", ref)
	}
	if p.Labels[api.LabelJobName] != "batch" || p.Labels[api.LabelControllerUID] != string(rec.UID) || p.Labels[api.LabelBatchControllerID] != string(rec.UID) {
		t.Errorf("labels %v", p.Labels)
	}
	if !Converged(in, now) {
		t.Error("a complete Job is not converged")
	}
	// The same Job in the next commit does not run again.
	in.Commit = "c2"
	if plan := Reconcile(in, now); plan.MovesPods() || len(plan.Jobs) > 0 {
		t.Fatalf("a finished Job ran again: %+v", plan)
	}
	// A changed Job is a new run: the old pods go, new ones come.
	in.Desired.Jobs[0].Spec.Template.Spec.Containers[0].Image = "kubia:v2"
	in, _ = step(in, now)
	if rec2 := jobRecord(in, "batch"); rec2.UID == rec.UID {
		t.Fatal("a changed Job kept its run")
	}
}

func TestIndexedJob(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "8", "8Gi", nil)}}
	in.Desired = &api.ObjectSet{Jobs: []batchv1.Job{job("idx", int32p(3), int32p(3), batchv1.IndexedCompletion, corev1.RestartPolicyNever)}}
	in, plan := step(in, now)
	if len(plan.Create) != 3 {
		t.Fatalf("created %d pods", len(plan.Create))
	}
	for i, p := range plan.Create {
		idx := fmt.Sprint(i)
		env := p.Spec.Containers[0].Env[len(p.Spec.Containers[0].Env)-1]
		if !strings.HasPrefix(p.Name, "idx-"+idx+"-") || p.Labels[api.LabelJobCompletionIndex] != idx ||
			p.Annotations[api.LabelJobCompletionIndex] != idx || env.Name != "JOB_COMPLETION_INDEX" ||
			env.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("pod %s: labels %v env %+v", p.Name, p.Labels, env)
		}
	}
	in, _ = step(in, now)
	if rec := jobRecord(in, "idx"); JobFinished(rec) != batchv1.JobComplete || rec.Status.CompletedIndexes != "0-2" {
		t.Fatalf("status %+v", rec.Status)
	}
}

// failPods makes every running pod of the input fail at t.
func failPods(in Input, at time.Time) {
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodPending {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(at)}}}}
		}
	}
}

func TestJobBackoffLimit(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "8", "8Gi", nil)}}
	in.Desired = &api.ObjectSet{Jobs: []batchv1.Job{job("flaky", nil, nil, batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)}}
	in.Desired.Jobs[0].Spec.Completions = int32p(1)
	in.Desired.Jobs[0].Spec.Parallelism = int32p(1)
	at := now
	var delays []time.Duration
	last := at
	for range 40 {
		var plan api.Plan
		at = at.Add(time.Second)
		plan = Reconcile(in, at)
		if len(plan.Create) > 0 && len(in.Pods) > 0 && len(in.Jobs) > 0 {
			delays = append(delays, at.Sub(last))
		}
		in = Play(in, plan, at)
		failPods(in, at) // every pod fails as soon as it exists
		if len(plan.Create) > 0 {
			last = at
		}
	}
	rec := jobRecord(in, "flaky")
	if JobFinished(rec) != batchv1.JobFailed || rec.Status.Conditions[0].Reason != "BackoffLimitExceeded" || rec.Status.Failed != 3 {
		t.Fatalf("status %+v", rec.Status)
	}
	// Back-off 10 s then 20 s (Kubernetes' 10 s doubling).
	if len(delays) != 2 || delays[0] != 10*time.Second || delays[1] != 20*time.Second {
		t.Errorf("delays before new pods %v; want [10s 20s]", delays)
	}
	if f := Failures(in); len(f) != 1 || f[0] != "Job/default/flaky failed: BackoffLimitExceeded: Job has reached the specified backoff limit" {
		t.Errorf("failures %q", f)
	}
	if Converged(in, at) {
		t.Error("a failed Job is converged")
	}
}

func TestJobDeadlineSuspendAndTTL(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "8", "8Gi", nil)}}
	j := job("slow", int32p(1), int32p(1), batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)
	j.Spec.ActiveDeadlineSeconds = ptr64(60)
	j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	in.Desired = &api.ObjectSet{Jobs: []batchv1.Job{j}}
	plan := Reconcile(in, now)
	in = Play(in, plan, now) // the pod stays pending: never done
	plan = Reconcile(in, now.Add(61*time.Second))
	in = Play(in, plan, now)
	rec := jobRecord(in, "slow")
	if JobFinished(rec) != batchv1.JobFailed || rec.Status.Conditions[0].Reason != "DeadlineExceeded" || len(plan.Delete) != 1 {
		t.Fatalf("after the deadline: status %+v, deleted %v", rec.Status, plan.Delete)
	}

	// suspend stops the active pods and starts none.
	s := job("held", int32p(1), int32p(1), batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)
	s.Spec.Suspend = boolp(true)
	in = Input{Commit: "c1", Nodes: in.Nodes, Desired: &api.ObjectSet{Jobs: []batchv1.Job{s}}}
	for range 3 {
		in, plan = step(in, now)
	}
	if len(in.Pods) != 0 {
		t.Fatalf("a suspended Job has %d pods", len(in.Pods))
	}

	// ttlSecondsAfterFinished removes the pods but not the run.
	d := job("once", int32p(1), int32p(1), batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)
	d.Spec.TTLSecondsAfterFinished = int32p(30)
	in = Input{Commit: "c1", Nodes: in.Nodes, Desired: &api.ObjectSet{Jobs: []batchv1.Job{d}}}
	for range 3 {
		in, _ = step(in, now)
	}
	if len(in.Pods) != 1 || JobFinished(jobRecord(in, "once")) != batchv1.JobComplete {
		t.Fatalf("before the TTL: %d pods", len(in.Pods))
	}
	in, _ = step(in, now.Add(31*time.Second))
	in, plan = step(in, now.Add(32*time.Second))
	if len(in.Pods) != 0 || plan.MovesPods() || jobRecord(in, "once") == nil {
		t.Fatalf("after the TTL: %d pods, plan %+v", len(in.Pods), plan)
	}
}

func ptr64(v int64) *int64 { return &v }
func boolp(v bool) *bool   { return &v }

func cronJob(schedule string, policy batchv1.ConcurrencyPolicy) batchv1.CronJob {
	j := job("x", int32p(1), int32p(1), batchv1.NonIndexedCompletion, corev1.RestartPolicyOnFailure)
	return batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, ConcurrencyPolicy: policy,
			SuccessfulJobsHistoryLimit: int32p(2), FailedJobsHistoryLimit: int32p(1),
			JobTemplate: batchv1.JobTemplateSpec{Spec: j.Spec},
		},
	}
}

// TestCronJobFiresOnSchedule plays 5 minutes of an every-minute CronJob,
// a pass every 10 seconds.
func TestCronJobFiresOnSchedule(t *testing.T) {
	start := time.Date(2026, 11, 22, 12, 0, 30, 0, time.UTC)
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "8", "8Gi", nil)}}
	in.Desired = &api.ObjectSet{CronJobs: []batchv1.CronJob{cronJob("* * * * *", batchv1.AllowConcurrent)}}
	var runs []string
	end := start.Add(5*time.Minute + 20*time.Second)
	for at := start; !at.After(end); at = at.Add(10 * time.Second) {
		var plan api.Plan
		in, plan = step(in, at)
		for _, j := range plan.Jobs {
			if j.Status.StartTime == nil {
				runs = append(runs, j.Name+"@"+at.Format("15:04:05"))
			}
		}
	}
	if len(runs) != 5 || !strings.HasSuffix(runs[0], "@12:01:00") || !strings.HasPrefix(runs[0], fmt.Sprintf("tick-%d", time.Date(2026, 11, 22, 12, 1, 0, 0, time.UTC).Unix()/60)) {
		t.Fatalf("runs %v", runs)
	}
	// Two successful runs are kept (successfulJobsHistoryLimit).
	if len(in.Jobs) != 2 {
		t.Errorf("%d runs kept, want 2", len(in.Jobs))
	}
	if !Converged(in, end) {
		t.Error("a registered CronJob is not converged")
	}
}

func TestCronJobConcurrencyPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy     batchv1.ConcurrencyPolicy
		wantActive int
	}{{batchv1.AllowConcurrent, 3}, {batchv1.ForbidConcurrent, 1}, {batchv1.ReplaceConcurrent, 1}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			in := Input{Commit: "c1"} // no node: runs never finish
			in.Desired = &api.ObjectSet{CronJobs: []batchv1.CronJob{cronJob("* * * * *", tc.policy)}}
			start := time.Date(2026, 11, 22, 12, 0, 30, 0, time.UTC)
			for at := start; at.Before(start.Add(3 * time.Minute)); at = at.Add(10 * time.Second) {
				in, _ = step(in, at)
			}
			if len(in.Jobs) != tc.wantActive {
				t.Fatalf("%d runs, want %d", len(in.Jobs), tc.wantActive)
			}
			if tc.policy == batchv1.ReplaceConcurrent && !strings.HasSuffix(in.Jobs[0].Name, fmt.Sprint(start.Add(150*time.Second).Unix()/60)) {
				t.Errorf("Replace kept %s, not the newest run", in.Jobs[0].Name)
			}
		})
	}
}

func TestCronJobTimeZoneAndSuspend(t *testing.T) {
	c := cronJob("0 9 * * *", batchv1.AllowConcurrent)
	tz := "Asia/Tokyo" // 09:00 in Tokyo is 00:00 UTC
	c.Spec.TimeZone = &tz
	in := Input{Commit: "c1", Desired: &api.ObjectSet{CronJobs: []batchv1.CronJob{c}}}
	in, _ = step(in, time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC))
	in, _ = step(in, time.Date(2026, 11, 22, 23, 59, 50, 0, time.UTC))
	if len(in.Jobs) != 0 {
		t.Fatalf("fired before 09:00 Tokyo")
	}
	c.Spec.Suspend = boolp(true)
	in.Desired.CronJobs[0] = c
	if in2, _ := step(in, time.Date(2026, 11, 23, 0, 0, 5, 0, time.UTC)); len(in2.Jobs) != 0 {
		t.Fatalf("a suspended CronJob fired")
	}
	c.Spec.Suspend = boolp(false)
	in.Desired.CronJobs[0] = c
	if in, _ = step(in, time.Date(2026, 11, 23, 0, 0, 5, 0, time.UTC)); len(in.Jobs) != 1 {
		t.Fatalf("did not fire at 09:00 Tokyo")
	}
	in.Desired = &api.ObjectSet{}
	if in, _ = step(in, time.Date(2026, 11, 23, 0, 0, 6, 0, time.UTC)); len(in.Jobs) != 0 || len(in.CronJobs) != 0 {
		t.Fatalf("a CronJob removed from Git left %d runs, %d records", len(in.Jobs), len(in.CronJobs))
	}
}

// TestStatefulSetClaimsStayOnTheirNode gives each ordinal its claim and
// keeps a replaced pod on the node that holds its data.
func TestStatefulSetClaimsStayOnTheirNode(t *testing.T) {
	s := statefulSet(2, "a", appsv1.ParallelPodManagement)
	s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil), node("n2", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{s}}}
	in = run(t, in)
	in.Claims = map[string]string{}
	for _, p := range in.Pods {
		v := p.Spec.Volumes[len(p.Spec.Volumes)-1]
		if v.Name != "data" || v.PersistentVolumeClaim.ClaimName != "data-"+p.Name {
			t.Fatalf("pod %s: volume %+v", p.Name, v)
		}
		in.Claims["default/data-"+p.Name] = p.Spec.NodeName
	}
	// db-0 fails; its replacement goes back to the node with its data,
	// even when the other node is emptier.
	db0 := func() *corev1.Pod {
		for i := range in.Pods {
			if in.Pods[i].Name == "db-0" {
				return &in.Pods[i]
			}
		}
		return nil
	}
	home := in.Claims["default/data-db-0"]
	db0().Status.Phase = corev1.PodFailed
	in, _ = step(in, now)
	in.Nodes = append(in.Nodes, node("n3", "64", "64Gi", nil))
	in = run(t, in)
	if db0() == nil || db0().Spec.NodeName != home {
		t.Fatalf("db-0 on %+v, its data on %s", db0(), home)
	}
	// With that node gone, the pod waits for it.
	db0().Status.Phase = corev1.PodFailed
	in, _ = step(in, now)
	var kept []api.Node
	for _, n := range in.Nodes {
		if n.Name != home {
			kept = append(kept, n)
		}
	}
	in.Nodes = kept
	plan := Reconcile(in, now)
	if len(plan.Create) != 1 || plan.Create[0].Spec.NodeName != "" ||
		plan.Create[0].Status.Conditions[0].Message != "0/2 nodes are available: 2 node(s) had volume node affinity conflict." {
		t.Fatalf("plan %+v", plan.Create)
	}
}
