package reconciler

import (
	"fmt"
	"math/rand"
	"testing"
	"testing/quick"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

func withStrategy(d appsv1.Deployment, surge, unavailable intstr.IntOrString) appsv1.Deployment {
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
	return d
}

func TestRollingBoundsRoundAsKubernetes(t *testing.T) {
	cases := []struct {
		replicas       int32
		surge, unavail intstr.IntOrString
		wantS, wantU   int
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%"), 3, 2}, // surge rounds up, unavailable down
		{3, intstr.FromString("25%"), intstr.FromString("25%"), 1, 0},
		{1, intstr.FromString("0%"), intstr.FromString("10%"), 0, 1}, // both 0: unavailable becomes 1
		{5, intstr.FromInt32(2), intstr.FromInt32(0), 2, 0},
	}
	for _, tc := range cases {
		d := withStrategy(deploy("web", tc.replicas, "a"), tc.surge, tc.unavail)
		if s, u := RollingBounds(&d); s != tc.wantS || u != tc.wantU {
			t.Errorf("replicas %d surge %s unavailable %s: got %d, %d; want %d, %d",
				tc.replicas, tc.surge.String(), tc.unavail.String(), s, u, tc.wantS, tc.wantU)
		}
	}
}

// rollout plays a template change of d to the end on a cluster where
// ready decides, each pass, whether a bound pod becomes ready. It calls
// check after every pass and returns the number of passes.
func rollout(t *testing.T, d appsv1.Deployment, ready func() bool, check func(in Input)) int {
	t.Helper()
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "64", "64Gi", nil), node("n2", "64", "64Gi", nil)}}
	in.Desired = &api.ObjectSet{Deployments: []appsv1.Deployment{d}}
	in = run(t, in)
	in.Commit = "c2"
	d.Spec.Template.Spec.Containers[0].Env[0].Value += "-v2"
	in.Desired = &api.ObjectSet{Deployments: []appsv1.Deployment{d}}
	for pass := 1; pass <= 500; pass++ {
		plan := Reconcile(in, now)
		in = Play(in, plan, now)
		for i := range in.Pods {
			p := &in.Pods[i]
			if p.Status.Phase == corev1.PodPending && p.Spec.NodeName != "" && ready() {
				SetHealthy(p, now)
			}
		}
		check(in)
		if Converged(in, now) {
			return pass
		}
	}
	t.Fatalf("rollout did not converge in 500 passes")
	return 0
}

// counts returns the non-terminating pods, the available ones and the
// ones of the current template.
func counts(in Input) (total, available, updated int) {
	d := &in.Desired.Deployments[0]
	hash := templateHash(&d.Spec.Template)
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		total++
		if Available(p, 0, now) {
			available++
		}
		if p.Labels[api.LabelPodTemplateHash] == hash {
			updated++
		}
	}
	return total, available, updated
}

func TestRollingUpdateKeepsItsBounds(t *testing.T) {
	d := withStrategy(deploy("web", 4, "a"), intstr.FromInt32(1), intstr.FromInt32(1))
	var seen []int
	passes := rollout(t, d, func() bool { return true }, func(in Input) {
		total, available, updated := counts(in)
		if total > 5 || available < 3 {
			t.Fatalf("pods %d (max 5), available %d (min 3)", total, available)
		}
		seen = append(seen, updated)
	})
	// With every pod ready at once, each pass adds one new pod (maxSurge)
	// and removes one old one (maxUnavailable).
	if passes != 4 || seen[0] != 1 || seen[3] != 4 {
		t.Errorf("passes %d, updated after each pass %v", passes, seen)
	}
}

func TestRecreateStopsEveryOldPodFirst(t *testing.T) {
	d := deploy("web", 3, "a")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	rollout(t, d, func() bool { return true }, func(in Input) {
		_, _, updated := counts(in)
		if updated > 0 && updated != len(in.Pods) {
			t.Fatalf("new pods beside old ones: %d new of %d", updated, len(in.Pods))
		}
	})
}

func TestPausedDeploymentIsLeftAlone(t *testing.T) {
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 2, "a")}}})
	d := deploy("web", 2, "b")
	d.Spec.Paused = true
	in.Desired = &api.ObjectSet{Deployments: []appsv1.Deployment{d}}
	if plan := Reconcile(in, now); plan.MovesPods() || Converged(in, now) {
		t.Fatalf("paused: plan %+v, converged %v", plan, Converged(in, now))
	}
}

func TestMinReadySecondsHoldsTheRollout(t *testing.T) {
	d := withStrategy(deploy("web", 2, "a"), intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.MinReadySeconds = 30
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)}, Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{d}}}
	in = run(t, in)
	for i := range in.Pods {
		in.Pods[i].Status.Conditions[1].LastTransitionTime.Time = now.Add(-time.Hour)
	}
	d.Spec.Template.Spec.Containers[0].Env[0].Value = "b"
	in.Desired.Deployments[0] = d
	plan := Reconcile(in, now)
	in = Simulate(in, plan, now) // the new pod is ready now
	if plan := Reconcile(in, now.Add(10*time.Second)); len(plan.Delete) != 0 {
		t.Fatalf("an old pod deleted 10 s after the new one became ready: %v", plan.Delete)
	}
	in.Nodes[0].LastHeartbeat = now.Add(30 * time.Second) // the node is still there
	if plan := Reconcile(in, now.Add(30*time.Second)); len(plan.Delete) != 1 {
		t.Fatalf("no old pod deleted once the new one was available: %+v", plan)
	}
	st := DeploymentStatus(&d, in.Pods, now.Add(10*time.Second))
	if st.AvailableReplicas != 2 || st.UpdatedReplicas != 1 || st.Replicas != 3 || st.ReadyReplicas != 3 {
		t.Errorf("status %+v", st)
	}
}

func TestProgressDeadlineExceeded(t *testing.T) {
	d := deploy("web", 1, "a")
	deadline := int32(60)
	d.Spec.ProgressDeadlineSeconds = &deadline
	in := Input{Commit: "c1", Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{d}}} // no node: never ready
	in = Simulate(in, Reconcile(in, now), now)
	cond := func(at time.Time) appsv1.DeploymentCondition { return DeploymentStatus(&d, in.Pods, at).Conditions[1] }
	if c := cond(now.Add(59 * time.Second)); c.Status != corev1.ConditionTrue || c.Reason != "ReplicaSetUpdated" {
		t.Errorf("before the deadline: %+v", c)
	}
	if c := cond(now.Add(61 * time.Second)); c.Status != corev1.ConditionFalse || c.Reason != "ProgressDeadlineExceeded" {
		t.Errorf("after the deadline: %+v", c)
	}
}

// TestRollingUpdateProperty plays rollouts of generated Deployments on a
// cluster where each pod becomes ready at random, and checks the
// strategy's bounds after every pass: never more than replicas + maxSurge
// pods, never fewer than replicas - maxUnavailable available.
func TestRollingUpdateProperty(t *testing.T) {
	prop := func(seed int64, replicas, surge, unavail uint8, percent bool) bool {
		rng := rand.New(rand.NewSource(seed))
		n := int32(replicas%12) + 1
		s, u := intstr.FromInt32(int32(surge%4)), intstr.FromInt32(int32(unavail%4))
		if s.IntVal == 0 && u.IntVal == 0 {
			u = intstr.FromInt32(1) // refused by validation
		}
		if percent {
			s, u = intstr.FromString(fmtPercent(surge)), intstr.FromString(fmtPercent(unavail))
		}
		d := withStrategy(deploy("web", n, "a"), s, u)
		maxSurge, maxUnavailable := RollingBounds(&d)
		ok := true
		rollout(t, d, func() bool { return rng.Intn(3) == 0 }, func(in Input) {
			total, available, _ := counts(in)
			if total > int(n)+maxSurge || available < int(n)-maxUnavailable {
				t.Logf("replicas %d surge %s unavailable %s: %d pods, %d available", n, s.String(), u.String(), total, available)
				ok = false
			}
		})
		return ok
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
}

func fmtPercent(v uint8) string { return fmt.Sprintf("%d%%", v%101) }

func TestDeploymentReplicaSetsShown(t *testing.T) {
	d := withStrategy(deploy("web", 2, "a"), intstr.FromInt32(1), intstr.FromInt32(0))
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)}, Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{d}}})
	oldHash := templateHash(&d.Spec.Template)
	d.Spec.Template.Spec.Containers[0].Env[0].Value = "b"
	in.Desired.Deployments[0] = d
	plan := Reconcile(in, now)
	in = Play(in, plan, now) // one new pod, not ready yet
	rss := WorkloadStatus(in, now).ReplicaSets
	got := map[string]string{}
	for _, rs := range rss {
		got[rs.Name] = fmt.Sprintf("%d/%d", rs.Status.Replicas, *rs.Spec.Replicas)
	}
	if len(rss) != 2 || got["web-"+oldHash] != "2/0" || got["web-"+templateHash(&d.Spec.Template)] != "1/2" {
		t.Fatalf("replica sets %v", got)
	}
}

// TestEvictedPodIsReplaced: a Deployment's pod that failed (evicted) is
// no longer counted: a new pod takes its place, the failed one stays
// visible, and the Deployment converges.
func TestEvictedPodIsReplaced(t *testing.T) {
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 2, "a")}}})
	in.Pods[0].Status.Phase, in.Pods[0].Status.Reason = corev1.PodFailed, "Evicted"
	plan := Reconcile(in, now)
	if len(plan.Create) != 1 || len(plan.Delete) != 0 {
		t.Fatalf("plan %+v", plan)
	}
	in = run(t, in)
	if len(in.Pods) != 3 || !Converged(in, now) {
		t.Fatalf("%d pods (2 running and the evicted one), converged %v", len(in.Pods), Converged(in, now))
	}
}
