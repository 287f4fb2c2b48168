package reconciler

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// applyAsStore plays a plan as the store does: a deleted pod on a node
// stays, terminating, until its agent confirms (never, for a dead node);
// force-deleted pods go at once; new pods run at once.
func applyAsStore(in Input, plan api.Plan, at time.Time) []corev1.Pod {
	out := record(in, plan, at)
	for i := range out.Pods {
		if p := &out.Pods[i]; p.Spec.NodeName != "" && p.Status.Phase == corev1.PodPending {
			SetHealthy(p, at)
		}
	}
	return out.Pods
}

func podsOn(in Input, nodeName, app string) (active, terminating int) {
	for _, p := range in.Pods {
		if p.Spec.NodeName == nodeName && p.Labels["app"] == app {
			if p.DeletionTimestamp != nil {
				terminating++
			} else {
				active++
			}
		}
	}
	return active, terminating
}

// TestUnreachableNode follows a node that stops sending heartbeats: after
// the node timeout it is tainted unreachable; after the default 30 s
// toleration its Deployment and StatefulSet pods are evicted, and the
// Deployment's are replaced on the other node at once, while the
// DaemonSet's pod stays and the StatefulSet's ordinal waits. When an
// operator marks the node out-of-service in Git, its terminating pods are
// removed and the ordinal starts on the other node.
func TestUnreachableNode(t *testing.T) {
	in := Input{Commit: "c1", NodeTimeout: 10 * time.Second, Nodes: []api.Node{node("n1", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 2, "a")},
			DaemonSets: []appsv1.DaemonSet{daemonSet("a", nil)}, StatefulSets: []appsv1.StatefulSet{statefulSet(1, "a", appsv1.OrderedReadyPodManagement)}}}
	in = run(t, in)
	in.Nodes = append(in.Nodes, node("n2", "4", "4Gi", nil))
	in = run(t, in)
	if a, _ := podsOn(in, "n1", "web"); a != 2 {
		t.Fatalf("web pods on n1: %d", a)
	}
	pass := func(d time.Duration) api.Plan { // n1 is silent from now on; n2 is not
		in.Nodes[1].LastHeartbeat = now.Add(d)
		plan := Reconcile(in, now.Add(d))
		in.Pods = applyAsStore(in, plan, now.Add(d))
		return plan
	}
	if plan := pass(39 * time.Second); len(plan.Delete) != 0 {
		t.Fatalf("evicted before the node timeout plus the toleration: %v", plan.Delete)
	}
	if st := WorkloadStatus(in, now.Add(39*time.Second)).Deployments[0].Status; st.ReadyReplicas != 0 {
		t.Errorf("pods of a NotReady node count as ready: %d", st.ReadyReplicas)
	}
	for _, p := range MarkPodsNotReady(in.Pods, in.Nodes, now.Add(39*time.Second), 10*time.Second) {
		if p.Spec.NodeName == "n1" && PodReady(&p) {
			t.Errorf("pod %s of NotReady n1 is Ready", p.Name)
		}
	}
	plan := pass(40 * time.Second)
	var evicted []string
	for _, k := range plan.Delete {
		evicted = append(evicted, strings.SplitN(k, "/", 2)[1])
	}
	sort.Strings(evicted)
	if len(evicted) != 3 || evicted[0] != "db-0" || !strings.HasPrefix(evicted[1], "web-") || !strings.HasPrefix(evicted[2], "web-") {
		t.Fatalf("evicted %v; want the two web pods and db-0, not the DaemonSet's", evicted)
	}
	for d := 41 * time.Second; d < 45*time.Second; d += time.Second {
		pass(d)
	}
	if a, term := podsOn(in, "n2", "web"); a != 2 || term != 0 {
		t.Errorf("web pods on n2: %d active, %d terminating; want 2 replacements", a, term)
	}
	if _, term := podsOn(in, "n1", "db"); term != 1 {
		t.Errorf("db-0 on n1 terminating: %d", term)
	}
	if a, _ := podsOn(in, "n2", "db"); a != 0 {
		t.Fatalf("db-0 started on n2 while the old one may still run on n1")
	}
	if a, _ := podsOn(in, "n1", "agent"); a != 1 {
		t.Errorf("the DaemonSet pod left n1: %d", a)
	}

	in.Desired.Nodes = []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{
		Taints: []corev1.Taint{{Key: api.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}}}}}
	for d := 50 * time.Second; d < 55*time.Second; d += time.Second {
		pass(d)
	}
	if a, term := podsOn(in, "n1", "db"); a+term != 0 {
		t.Errorf("db-0 still on n1 after out-of-service: %d active, %d terminating", a, term)
	}
	if a, _ := podsOn(in, "n2", "db"); a != 1 {
		t.Errorf("db-0 did not start on n2 after out-of-service")
	}
}

// TestUnreachableTolerations: a pod's own toleration of the unreachable
// taint wins over the default 30 s, and a node that comes back in time
// keeps its pods.
func TestUnreachableTolerations(t *testing.T) {
	patient := deploy("patient", 1, "a")
	secs := int64(120)
	patient.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: api.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs}}
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{patient, deploy("web", 1, "a")}}})
	// Another node joins and keeps sending heartbeats: with n1 alone
	// NotReady the cluster would count as disrupted, and nothing evicted.
	n2 := node("n2", "4", "4Gi", nil)
	n2.LastHeartbeat = now.Add(130 * time.Second)
	in.Nodes = append(in.Nodes, n2)
	if plan := Reconcile(in, now.Add(39*time.Second)); len(plan.Delete) != 0 {
		t.Fatalf("deleted %v", plan.Delete)
	}
	plan := Reconcile(in, now.Add(41*time.Second))
	if len(plan.Delete) != 1 || !strings.HasPrefix(plan.Delete[0], "default/web-") {
		t.Fatalf("at 41 s deleted %v; want web only", plan.Delete)
	}
	if plan := Reconcile(in, now.Add(131*time.Second)); len(plan.Delete) != 2 {
		t.Fatalf("at 131 s deleted %v; want both", plan.Delete)
	}
	in.Nodes[0].LastHeartbeat = now.Add(130 * time.Second) // back in time
	if plan := Reconcile(in, now.Add(131*time.Second)); len(plan.Delete) != 0 {
		t.Fatalf("a node that came back lost %v", plan.Delete)
	}
}

// TestNoEvictionWhileDisrupted: like Kubernetes' node lifecycle
// controller, no pod is evicted for the unreachable taint while no node is
// Ready, or more than two and at least 55% are NotReady; with two NotReady
// of ten they are.
func TestNoEvictionWhileDisrupted(t *testing.T) {
	for _, c := range []struct {
		nodes, down int
		evict       bool
	}{
		{1, 1, false}, {3, 3, false}, {4, 3, false}, {10, 6, false}, {10, 5, true}, {10, 2, true}, {2, 1, true},
	} {
		var nodes []api.Node
		for i := range c.nodes {
			n := node(fmt.Sprintf("n%02d", i), "4", "4Gi", nil)
			nodes = append(nodes, n)
		}
		in := run(t, Input{Commit: "c1", Nodes: nodes, Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", int32(c.nodes), "a")}}})
		for i := c.down; i < c.nodes; i++ {
			in.Nodes[i].LastHeartbeat = now.Add(time.Minute) // still sending heartbeats
		}
		plan := Reconcile(in, now.Add(45*time.Second))
		if evicted := len(plan.Delete) > 0; evicted != c.evict {
			t.Errorf("%d of %d nodes NotReady: evicted %v, want eviction %v", c.down, c.nodes, plan.Delete, c.evict)
		}
	}
}
