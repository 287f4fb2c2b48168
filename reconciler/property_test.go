package reconciler

import (
	"fmt"
	"math/rand"
	"testing"
	"testing/quick"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// chaos plays a plan on a cluster that is slow and unreliable: deleted
// pods terminate after a while (never, on a dead node), new pods become
// ready or finish at random, and running pods sometimes fail.
func chaos(rng *rand.Rand, in Input, plan api.Plan, dead map[string]bool) Input {
	del := map[string]bool{}
	for _, k := range plan.Delete {
		del[k] = true
	}
	ts := metav1.NewTime(now)
	var pods []corev1.Pod
	for _, p := range in.Pods {
		if del[api.PodKey(&p)] && p.DeletionTimestamp == nil {
			p.DeletionTimestamp = &ts
		}
		if p.DeletionTimestamp != nil && !dead[p.Spec.NodeName] && rng.Intn(2) == 0 {
			continue // gone
		}
		pods = append(pods, p)
	}
	in.Pods = ApplyPlan(pods, api.Plan{Create: plan.Create, Bind: plan.Bind}, now)
	for i := range in.Pods {
		p := &in.Pods[i]
		switch {
		case p.DeletionTimestamp != nil || p.Spec.NodeName == "" || dead[p.Spec.NodeName]:
		case p.Status.Phase == corev1.PodPending && rng.Intn(2) == 0:
			SetHealthy(p, now)
		case p.Status.Phase == corev1.PodRunning && rng.Intn(20) == 0:
			p.Status.Phase = corev1.PodFailed
		}
	}
	return SimulateRecords(in, &plan)
}

// TestWorkloadInvariantsProperty plays random histories of a DaemonSet, a
// StatefulSet and a Job together (template and scale changes, node labels
// changing, a node dying with its pods stuck terminating) and checks
// after every pass: at most one DaemonSet pod per node, at most one pod
// per StatefulSet ordinal, and never more active Job pods than its
// parallelism.
func TestWorkloadInvariantsProperty(t *testing.T) {
	prop := func(seed int64) bool {
		rng := rand.New(rand.NewSource(seed))
		var nodes []api.Node
		for i := range 4 {
			nodes = append(nodes, node(fmt.Sprintf("n%d", i), "16", "16Gi", map[string]string{"role": "worker"}))
		}
		parallelism := int32(rng.Intn(3) + 1)
		in := Input{Commit: "c1", Nodes: nodes, Desired: &api.ObjectSet{
			DaemonSets:   []appsv1.DaemonSet{daemonSet("a", map[string]string{"role": "worker"})},
			StatefulSets: []appsv1.StatefulSet{statefulSet(3, "a", appsv1.OrderedReadyPodManagement)},
			Jobs:         []batchv1.Job{job("batch", int32p(6), &parallelism, batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)},
		}}
		in.Desired.Jobs[0].Spec.BackoffLimit = int32p(100)
		dead := map[string]bool{}
		for pass := range 80 {
			switch rng.Intn(10) {
			case 0:
				in.Desired.DaemonSets[0] = daemonSet(fmt.Sprint(rng.Intn(3)), map[string]string{"role": "worker"})
			case 1:
				in.Desired.StatefulSets[0] = statefulSet(int32(rng.Intn(5)), fmt.Sprint(rng.Intn(3)), appsv1.OrderedReadyPodManagement)
			case 2:
				n := &in.Nodes[rng.Intn(len(in.Nodes))]
				n.Labels = map[string]string{"role": []string{"worker", "db"}[rng.Intn(2)]}
			case 3:
				dead[in.Nodes[rng.Intn(len(in.Nodes))].Name] = true
			}
			plan := Reconcile(in, now)
			in = chaos(rng, in, plan, dead)
			if msg := invariantBroken(in, parallelism); msg != "" {
				t.Logf("seed %d pass %d: %s", seed, pass, msg)
				return false
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 100}); err != nil {
		t.Fatal(err)
	}
}

func invariantBroken(in Input, parallelism int32) string {
	perNode, perName := map[string]int{}, map[string]int{}
	active := 0
	for _, p := range in.Pods {
		kind, _ := owner(&p)
		switch kind {
		case "DaemonSet":
			if perNode[p.Spec.NodeName]++; perNode[p.Spec.NodeName] > 1 {
				return "two DaemonSet pods on " + p.Spec.NodeName
			}
		case "StatefulSet":
			if perName[p.Name]++; perName[p.Name] > 1 {
				return "two pods named " + p.Name
			}
		case "Job":
			if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				active++
			}
		}
	}
	if active > int(parallelism) {
		return fmt.Sprintf("%d active Job pods, parallelism %d", active, parallelism)
	}
	return ""
}
