package reconciler

import (
	"testing"
)

func TestFeasibleToFind(t *testing.T) {
	for _, c := range []struct{ nodes, want int }{
		{0, 0}, {3, 3}, {100, 100}, {101, 100}, {250, 120}, {1000, 420}, {2500, 750}, {5000, 500}, {10000, 500}, {20000, 1000},
	} {
		if got := feasibleToFind(c.nodes); got != c.want {
			t.Errorf("feasibleToFind(%d) = %d; want %d", c.nodes, got, c.want)
		}
	}
}

// TestSampledSearchSpreadsEvenly places 10 Deployments of 300 replicas on
// 1,000 equal nodes, where each pod is scored on 420 of them: the searches
// take the nodes in turn, so every node gets 3 pods give or take one (a
// full search gives exactly 3), and no node two of one Deployment.
func TestSampledSearchSpreadsEvenly(t *testing.T) {
	plan := Reconcile(benchInput(1000, 10, 300), now)
	perNode, perOwner := map[string]int{}, map[string]int{}
	for _, p := range plan.Create {
		perNode[p.Spec.NodeName]++
		perOwner[p.Labels["app"]+"@"+p.Spec.NodeName]++
	}
	if len(perNode) != 1000 {
		t.Fatalf("pods on %d nodes; want all 1,000", len(perNode))
	}
	for n, c := range perNode {
		if c < 2 || c > 4 {
			t.Errorf("node %s has %d pods; want 3, give or take one", n, c)
		}
	}
	for k, c := range perOwner {
		if c > 1 {
			t.Errorf("%s: %d replicas of one Deployment on one node", k, c)
		}
	}
}
