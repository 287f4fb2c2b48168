//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestPodsHaveTheirOwnAddresses (issue #16, a): with --pod-network, two
// Deployments whose containers all listen on 8080, three replicas each on
// one node, all run Ready with six distinct addresses of the node's pod
// CIDR, and each answers on its own address as itself. When one
// Deployment goes, its pods' namespaces and addresses go with them.
func TestPodsHaveTheirOwnAddresses(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network")
	var cidr netip.Prefix
	testutil.WaitFor(t, 30*time.Second, "a pod CIDR for n0", func() bool {
		nodes, err := c.client.Nodes(c.ctx())
		if err != nil || len(nodes.Items) != 1 {
			return false
		}
		cidr, err = netip.ParsePrefix(nodes.Items[0].Spec.PodCIDR)
		return err == nil
	})
	on8080 := func(name string) string {
		return strings.Replace(deployment(name, 3, "v1"), `"127.0.0.1:0"`, `":8080"`, 1)
	}
	sha := c.commit("two apps on 8080", map[string]string{"a.yaml": on8080("a"), "b.yaml": on8080("b")})
	c.waitCommit(sha, 0)
	pods, err := c.client.Pods(c.ctx(), "default")
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, p := range pods.Items {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !cidr.Contains(ip) {
			t.Errorf("pod %s has address %q; want one of %s", p.Name, p.Status.PodIP, cidr)
			continue
		}
		if other, dup := ips[p.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share %s", p.Name, other, p.Status.PodIP)
		}
		ips[p.Status.PodIP] = p.Name
		if answer := get(t, fmt.Sprintf("http://%s:8080/", ip)); !strings.Contains(answer, "You've hit "+p.Name) {
			t.Errorf("pod %s at %s answered %q", p.Name, ip, answer)
		}
	}
	if len(ips) != 6 {
		t.Fatalf("%d distinct pod addresses; want 6", len(ips))
	}
	out, _ := c.berth("get", "pods", "-o", "wide")
	for ip := range ips {
		if !strings.Contains(out, ip) {
			t.Errorf("berth get pods -o wide does not show %s:\n%s", ip, out)
		}
	}

	sha = c.commit("b goes", map[string]string{"b.yaml": ""})
	c.waitCommit(sha, 0)
	testutil.WaitFor(t, 30*time.Second, "b's network namespaces removed", func() bool {
		entries, _ := os.ReadDir(filepath.Join(c.dir, "agent", "netns"))
		return len(entries) == 3
	})
}

// get answers an HTTP GET, within 5 s.
func get(t *testing.T, url string) string {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
