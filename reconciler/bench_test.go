package reconciler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/benchrow"
)

// benchInput is nodes nodes (32 CPU, 64 GiB) and deployments Deployments
// of replicas replicas each (100m CPU per pod), with no pod yet.
func benchInput(nodes, deployments, replicas int) Input {
	in := Input{Commit: "c1", Desired: &api.ObjectSet{}}
	for i := range nodes {
		in.Nodes = append(in.Nodes, node(fmt.Sprintf("node-%04d", i), "32", "64Gi", map[string]string{"zone": fmt.Sprintf("z%d", i%3)}))
	}
	for i := range deployments {
		in.Desired.Deployments = append(in.Desired.Deployments, deploy(fmt.Sprintf("app-%03d", i), int32(replicas), "a"))
	}
	return in
}

// BenchmarkReconcile30kPodsOn1kNodes is one reconcile pass that creates
// and places 30,000 pods (100 Deployments of 300) on 1,000 nodes: the
// controllers, then the scheduler's filters and scores for every pod.
func BenchmarkReconcile30kPodsOn1kNodes(b *testing.B) {
	in := benchInput(1000, 100, 300)
	b.ResetTimer()
	var plan api.Plan
	for range b.N {
		plan = Reconcile(in, now)
	}
	b.StopTimer()
	placed := 0
	for _, p := range plan.Create {
		if p.Spec.NodeName != "" {
			placed++
		}
	}
	if placed != 30000 {
		b.Fatalf("placed %d of %d pods", placed, len(plan.Create))
	}
	b.ReportMetric(float64(placed)*float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}

// BenchmarkSchedule30kPendingPods binds 30,000 pods that already exist,
// Pending, on 1,000 nodes (the scheduler alone, after a burst of
// creations).
func BenchmarkSchedule30kPendingPods(b *testing.B) {
	rate := benchPending(b, benchInput(1000, 100, 300), 30000)
	benchrow.Record(b, benchrow.Row{ID: "B3", Name: "scheduler, 1,000 nodes", Value: rate, Unit: "pods/s", Target: 5000, Better: "higher",
		Work: "30,000 pending pods bound in one reconciler pass"})
}

// BenchmarkReconcileSteady is a pass over 30,000 running pods on 1,000
// nodes with nothing to do: the cost the leader pays every second.
func BenchmarkReconcileSteady(b *testing.B) {
	in := benchInput(1000, 100, 300)
	in = Simulate(in, Reconcile(in, now), now)
	b.ResetTimer()
	for range b.N {
		if plan := Reconcile(in, now); !plan.Empty() {
			b.Fatalf("plan on a converged cluster: %d creates %d deletes", len(plan.Create), len(plan.Delete))
		}
	}
}

// BenchmarkSchedule30kPendingPodsOn5kNodes is the scheduler alone at
// 5,000 nodes.
func BenchmarkSchedule30kPendingPodsOn5kNodes(b *testing.B) {
	rate := benchPending(b, benchInput(5000, 100, 300), 30000)
	benchrow.Record(b, benchrow.Row{ID: "B3", Name: "scheduler, 5,000 nodes", Value: rate, Unit: "pods/s", Target: 2000, Better: "higher",
		Work: "30,000 pending pods bound in one reconciler pass"})
}

// BenchmarkScheduleAntiAffinity places 3,000 pending pods (10
// Deployments of 300) on 1,000 nodes, each pod with a required
// anti-affinity to its own Deployment's pods per host.
func BenchmarkScheduleAntiAffinity(b *testing.B) {
	in := benchInput(1000, 10, 300)
	for i := range in.Desired.Deployments {
		d := &in.Desired.Deployments[i]
		d.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: d.Spec.Template.Labels}, TopologyKey: "zone-host",
			}},
		}}
	}
	for i := range in.Nodes {
		in.Nodes[i].Labels["zone-host"] = in.Nodes[i].Name
	}
	rate := benchPending(b, in, 3000)
	benchrow.Record(b, benchrow.Row{ID: "B3", Name: "scheduler, 1,000 nodes, required pod anti-affinity", Value: rate, Unit: "pods/s", Better: "higher",
		Work: "3,000 pending pods, one per host per Deployment"})
}

// benchPending binds want pods that exist, Pending, and reports pods/s.
func benchPending(b *testing.B, in Input, want int) float64 {
	plan := Reconcile(Input{Commit: in.Commit, Desired: in.Desired}, now) // no nodes: all stay Pending
	in = Play(in, plan, now)
	b.ResetTimer()
	var binds int
	for range b.N {
		binds = len(Reconcile(in, now).Bind)
	}
	b.StopTimer()
	if binds != want {
		b.Fatalf("bound %d pods, want %d", binds, want)
	}
	rate := float64(binds) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "pods/s")
	return rate
}
