package node

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"

	"github.com/berth-dev/berth/api"
)

// policies are a default deny of ingress for db and web, an allow of
// TCP 8080 to db from web and from 192.168.0.0/16 but 192.168.1.0/24,
// and an egress rule of web to a named port resolved on db.
var policies = []api.CompiledPolicy{
	{Namespace: "shop", Name: "deny", Pods: []string{"10.244.0.2", "10.244.0.3", "10.244.1.9"}, Ingress: true},
	{Namespace: "shop", Name: "db", Pods: []string{"10.244.0.2"}, Ingress: true, From: []api.PolicyRule{{
		Peers: []api.PolicyPeer{{CIDR: "10.244.0.3/32"}, {CIDR: "192.168.0.0/16", Except: []string{"192.168.1.0/24"}}},
		Ports: []api.PolicyPort{{Protocol: "TCP", Port: 8080}}}}},
	{Namespace: "shop", Name: "web-out", Pods: []string{"10.244.0.3"}, Egress: true, To: []api.PolicyRule{{
		AllPeers: true, Ports: []api.PolicyPort{{Protocol: "TCP", Port: 5432, Pod: "10.244.0.2"}, {Protocol: "UDP", Port: 8000, EndPort: 8100}}}}},
}

// TestPolicyRules: the node's table isolates its own pods only, allows
// what the rules allow (peers in sets, exceptions, ports and ranges, a
// named port on its pod), and nft takes it.
func TestPolicyRules(t *testing.T) {
	script := renderPolicies("berth_policy_n1", netip.MustParsePrefix("10.244.0.0/24"), policies)
	wantLines(t, "policy table", script,
		"ct state established,related accept",
		"ip saddr { 10.244.0.3 } jump egress",
		"ip daddr { 10.244.0.2, 10.244.0.3 } jump ingress",
		"ip daddr { 10.244.0.2 } ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 } meta l4proto tcp th dport 8080 accept",
		"ip daddr { 10.244.0.2 } ip saddr { 10.244.0.3/32 } meta l4proto tcp th dport 8080 accept",
		"ip saddr { 10.244.0.3 } ip daddr 10.244.0.2 meta l4proto tcp th dport 5432 return",
		"ip saddr { 10.244.0.3 } meta l4proto udp th dport 8000-8100 return",
	)
	if strings.Contains(script, "10.244.1.9") {
		t.Errorf("the table isolates a pod of another node:\n%s", script)
	}
	if _, err := exec.LookPath("nft"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and nft to apply the table")
	}
	ns, err := netns.NewNetNS(filepath.Join(t.TempDir(), "node"))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Remove()
	if err := ns.Do(func(cnins.NetNS) error { return applyRuleset(context.Background(), script) }); err != nil {
		t.Fatalf("nft refused the policy table: %v", err)
	}
}
