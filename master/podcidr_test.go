package master

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/reconciler"
)

// TestNodesGetPodCIDRs: once the master has turned on the format that
// records them, each registered node gets a range of --cluster-cidr,
// shown in the Node's spec.podCIDR; a node past the last range gets none
// and, its agent networking its pods, is NotReady with the reason.
func TestNodesGetPodCIDRs(t *testing.T) {
	c, _ := startMaster(t, func(cfg *Config) {
		cfg.PodNetwork = reconciler.PodNetwork{ClusterCIDR: netip.MustParsePrefix("10.50.0.0/23"), NodeMaskSize: 24}
	})
	ctx := context.Background()
	// Registrations say whether the agent networks its pods only once the
	// cluster runs format 2 (a master before it would halt on the field).
	waitStatus(t, c, func(s *api.Status) bool { return s.Format >= 2 })
	for _, name := range []string{"n1", "n2", "n3"} {
		if err := c.Register(ctx, &api.Registration{Name: name, CPU: mustQ("1"), Memory: mustQ("1Gi"), PodNetwork: true}); err != nil {
			t.Fatal(err)
		}
	}
	cidrs := map[string]string{}
	testutil.WaitFor(t, 15*time.Second, "pod CIDRs for n1 and n2", func() bool {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes.Items {
			cidrs[n.Name] = n.Spec.PodCIDR
		}
		return cidrs["n1"] != "" && cidrs["n2"] != ""
	})
	if cidrs["n1"] != "10.50.0.0/24" || cidrs["n2"] != "10.50.1.0/24" || cidrs["n3"] != "" {
		t.Errorf("pod CIDRs %v; want n1 and n2 the two ranges of 10.50.0.0/23, n3 none", cidrs)
	}
	// n3's agent networks its pods: it is NotReady, and says why.
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		cond := n.Status.Conditions[0]
		switch {
		case n.Name == "n3" && (cond.Status != "False" || !strings.Contains(cond.Message, "no pod CIDR left: the 2 ranges of /24 in --cluster-cidr 10.50.0.0/23 are all taken")):
			t.Errorf("n3 without a pod CIDR: %s %q", cond.Status, cond.Message)
		case n.Name != "n3" && cond.Status != "True":
			t.Errorf("%s: %s %q", n.Name, cond.Status, cond.Message)
		}
	}
}

func TestPodNetworkFlagsAreChecked(t *testing.T) {
	cfg := Config{Name: "m", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:1", Listen: "127.0.0.1:0",
		PodNetwork: reconciler.PodNetwork{ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), NodeMaskSize: 8}}
	cfg.Git.Repo = t.TempDir()
	if _, err := New(cfg); err == nil || err.Error() != "master: --node-cidr-mask-size 8: must lie between the cluster CIDR's /16 and /29" {
		t.Errorf("New with a mask shorter than the cluster CIDR's: %v", err)
	}
}
