package reconciler

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
	"testing/quick"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// chaos plays a plan on a cluster that is slow and unreliable: the
// masters record it, then deleted pods terminate after a while (never, on
// a dead node), new pods become ready or finish at random, and running
// pods sometimes fail.
func chaos(rng *rand.Rand, in Input, plan api.Plan, dead map[string]bool) Input {
	in = record(in, plan, now)
	pods := in.Pods[:0]
	for _, p := range in.Pods {
		switch {
		case p.DeletionTimestamp != nil:
			if dead[p.Spec.NodeName] || rng.Intn(2) != 0 {
				pods = append(pods, p)
			} // else gone
			continue
		case p.Spec.NodeName == "" || dead[p.Spec.NodeName]:
		case p.Status.Phase == corev1.PodPending && rng.Intn(2) == 0:
			SetHealthy(&p, now)
		case p.Status.Phase == corev1.PodRunning && rng.Intn(20) == 0:
			p.Status = *p.Status.DeepCopy()
			p.Status.Phase = corev1.PodFailed
		}
		pods = append(pods, p)
	}
	in.Pods = pods
	return in
}

// playHistory plays a random history of a Deployment, a DaemonSet, a
// StatefulSet and a Job together (template and scale changes, node labels
// changing, a node dying with its pods stuck terminating) on a chaotic
// cluster, and calls visit with the input of every pass and the state
// after the last; it returns the first complaint of visit.
func playHistory(seed int64, passes int, visit func(in Input, parallelism int32) string) string {
	rng := rand.New(rand.NewSource(seed))
	var nodes []api.Node
	for i := range 4 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), "16", "16Gi", map[string]string{"role": "worker"}))
	}
	parallelism := int32(rng.Intn(3) + 1)
	in := Input{Commit: "c1", Nodes: nodes, Desired: &api.ObjectSet{
		Deployments:  []appsv1.Deployment{deploy("web", 3, "a")},
		DaemonSets:   []appsv1.DaemonSet{daemonSet("a", map[string]string{"role": "worker"})},
		StatefulSets: []appsv1.StatefulSet{statefulSet(3, "a", appsv1.OrderedReadyPodManagement)},
		Jobs:         []batchv1.Job{job("batch", int32p(6), &parallelism, batchv1.NonIndexedCompletion, corev1.RestartPolicyNever)},
	}}
	in.Desired.Jobs[0].Spec.BackoffLimit = int32p(100)
	dead := map[string]bool{}
	for pass := range passes {
		switch rng.Intn(12) {
		case 0:
			role := []string{"worker", "worker", "db"}[rng.Intn(3)] // db: it leaves most nodes at once
			in.Desired.DaemonSets[0] = daemonSet(fmt.Sprint(rng.Intn(3)), map[string]string{"role": role})
		case 1:
			in.Desired.StatefulSets[0] = statefulSet(int32(rng.Intn(5)), fmt.Sprint(rng.Intn(3)), appsv1.OrderedReadyPodManagement)
		case 2:
			n := &in.Nodes[rng.Intn(len(in.Nodes))]
			n.Labels = map[string]string{"role": []string{"worker", "db"}[rng.Intn(2)]}
		case 3:
			dead[in.Nodes[rng.Intn(len(in.Nodes))].Name] = true
		case 4:
			in.Desired.Deployments[0] = deploy("web", int32(rng.Intn(6)), fmt.Sprint(rng.Intn(3)))
		}
		if msg := visit(in, parallelism); msg != "" {
			return fmt.Sprintf("seed %d pass %d: %s", seed, pass, msg)
		}
		plan := Reconcile(in, now)
		in = chaos(rng, in, plan, dead)
	}
	if msg := visit(in, parallelism); msg != "" {
		return fmt.Sprintf("seed %d, the end: %s", seed, msg)
	}
	return ""
}

// TestWorkloadInvariantsProperty checks after every pass of random
// histories: at most one DaemonSet pod per node, at most one pod per
// StatefulSet ordinal, and never more active Job pods than its
// parallelism.
func TestWorkloadInvariantsProperty(t *testing.T) {
	prop := func(seed int64) bool {
		msg := playHistory(seed, 80, invariantBroken)
		if msg != "" {
			t.Log(msg)
		}
		return msg == ""
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 100}); err != nil {
		t.Fatal(err)
	}
}

// TestPlansAreDeterministic: over random histories, the same input gives
// the same plan every time (the leader and a replay must agree, and no
// map's order may leak into a plan), and neither Reconcile nor DryRun
// writes into its input.
func TestPlansAreDeterministic(t *testing.T) {
	prop := func(seed int64) bool {
		msg := playHistory(seed, 40, func(in Input, _ int32) string {
			before := mustJSON(in)
			first := mustJSON(Reconcile(cloneInput(in), now))
			for range 3 {
				if again := mustJSON(Reconcile(cloneInput(in), now)); again != first {
					return "two plans of one input:\n" + first + "\n" + again
				}
			}
			Reconcile(in, now)
			if after := mustJSON(in); after != before {
				return "Reconcile changed its input"
			}
			next := *in.Desired
			next.Deployments = []appsv1.Deployment{deploy("web", 2, "dry")}
			DryRun(in, &next, now)
			if after := mustJSON(in); after != before {
				return "DryRun changed its input"
			}
			return ""
		})
		if msg != "" {
			t.Log(msg)
		}
		return msg == ""
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 50}); err != nil {
		t.Fatal(err)
	}
}

// cloneInput copies an input deeply, through JSON.
func cloneInput(in Input) Input {
	var out Input
	if err := json.Unmarshal([]byte(mustJSON(in)), &out); err != nil {
		panic(err)
	}
	return out
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
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
