package reconciler

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/berth-dev/berth/api"
)

func podNetwork(cidr string, mask int) *PodNetwork {
	return &PodNetwork{ClusterCIDR: netip.MustParsePrefix(cidr), NodeMaskSize: mask}
}

// TestPodCIDRsAreGivenLowestFirst: nodes without a range get the lowest
// free ones, in name order; a node keeps its range; the plan records them
// and a second pass gives nothing more.
func TestPodCIDRsAreGivenLowestFirst(t *testing.T) {
	nodes := []api.Node{node("n3", "4", "4Gi", nil), node("n1", "4", "4Gi", nil), node("n2", "4", "4Gi", nil)}
	nodes[2].PodCIDR = "10.244.0.0/24" // n2 has the first range already
	in := Input{Commit: "c1", Nodes: nodes, PodNetwork: podNetwork("10.244.0.0/16", 24)}
	plan := Reconcile(in, now)
	if got := fmt.Sprint(plan.PodCIDRs); got != "[{n1 10.244.1.0/24} {n3 10.244.2.0/24}]" {
		t.Fatalf("pod CIDRs %s; want n1 and n3 the lowest free ranges", got)
	}
	in = Play(in, plan, now)
	for _, n := range in.Nodes {
		if n.PodCIDR == "" {
			t.Errorf("%s has no pod CIDR after the plan", n.Name)
		}
	}
	if again := Reconcile(in, now); len(again.PodCIDRs) != 0 {
		t.Errorf("a second pass gives %v", again.PodCIDRs)
	}
	if plan := Reconcile(Input{Commit: "c1", Nodes: nodes}, now); len(plan.PodCIDRs) != 0 {
		t.Errorf("without a pod network (format 1), a plan gives %v", plan.PodCIDRs)
	}
}

// TestPodCIDRsRunOut: a /23 cut into /24s holds two
// nodes; the third gets none, and PodCIDRShortage says why.
func TestPodCIDRsRunOut(t *testing.T) {
	net := podNetwork("10.9.0.0/23", 24)
	in := Input{Commit: "c1", PodNetwork: net, Nodes: []api.Node{node("a", "1", "1Gi", nil), node("b", "1", "1Gi", nil), node("c", "1", "1Gi", nil)}}
	plan := Reconcile(in, now)
	if got := fmt.Sprint(plan.PodCIDRs); got != "[{a 10.9.0.0/24} {b 10.9.1.0/24}]" {
		t.Fatalf("pod CIDRs %s", got)
	}
	in = Play(in, plan, now)
	if msg := PodCIDRShortage(net, in.Nodes, "c"); !strings.Contains(msg, "no pod CIDR left: the 2 ranges of /24 in --cluster-cidr 10.9.0.0/23 are all taken") {
		t.Errorf("shortage of c: %q", msg)
	}
	if msg := PodCIDRShortage(net, in.Nodes, "a"); msg != "" {
		t.Errorf("a has a range, yet: %q", msg)
	}
	fresh := Input{Commit: "c1", PodNetwork: net, Nodes: []api.Node{node("a", "1", "1Gi", nil)}}
	if msg := PodCIDRShortage(net, fresh.Nodes, "a"); msg != "" {
		t.Errorf("a new node while ranges are left: %q", msg)
	}
}

func TestPodNetworkValidate(t *testing.T) {
	for _, c := range []struct {
		net  *PodNetwork
		want string
	}{
		{podNetwork("10.244.0.0/16", 24), ""},
		{podNetwork("10.244.1.0/16", 24), "did you mean 10.244.0.0/16"},
		{podNetwork("fd00::/48", 64), "an IPv4 range is needed"},
		{podNetwork("10.244.0.0/16", 12), "--node-cidr-mask-size 12: must lie between the cluster CIDR's /16 and /29"},
		{podNetwork("10.244.0.0/16", 31), "--node-cidr-mask-size 31"},
	} {
		err := c.net.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v; want %q", *c.net, err, c.want)
		}
	}
}

// TestPodNetworkRanges: the i-th range and its index agree over a whole
// network, and addresses outside it have none.
func TestPodNetworkRanges(t *testing.T) {
	net := podNetwork("10.0.0.0/8", 24)
	if net.Capacity() != 65536 {
		t.Fatalf("capacity %d", net.Capacity())
	}
	for _, i := range []int{0, 1, 255, 256, 65535} {
		r := net.nodeRange(i)
		if net.index(r) != i {
			t.Errorf("range %d is %s, whose index is %d", i, r, net.index(r))
		}
	}
	if got := net.nodeRange(257).String(); got != "10.1.1.0/24" {
		t.Errorf("range 257 is %s", got)
	}
	if net.index(netip.MustParsePrefix("11.0.0.0/24")) != -1 || net.index(netip.MustParsePrefix("10.0.0.0/25")) != -1 {
		t.Error("a range outside the network, or of another size, has an index")
	}
}

// TestNodesWithoutAPodCIDRTakeNoPods: a node whose agent networks its
// pods takes none before it has its pod CIDR.
func TestNodesWithoutAPodCIDRTakeNoPods(t *testing.T) {
	n := node("n1", "4", "4Gi", nil)
	n.PodNetwork = true
	in := Input{Commit: "c1", Nodes: []api.Node{n}, Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 1, "a")}}}
	in = Play(in, Reconcile(in, now), now)
	if plan := Reconcile(in, now); len(plan.Bind) != 0 || len(in.Pods) != 1 || in.Pods[0].Spec.NodeName != "" {
		t.Fatalf("a pod was placed on a node without its pod CIDR: %+v", plan.Bind)
	}
	in.Nodes[0].PodCIDR = "10.244.0.0/24"
	if plan := Reconcile(in, now); len(plan.Bind) != 1 {
		t.Errorf("the node has its pod CIDR, yet the pod is not placed: %+v", plan.Unschedulable)
	}
}
