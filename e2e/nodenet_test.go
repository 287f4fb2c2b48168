//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// nodeNet is a network of node namespaces that a test makes, the way kind
// and Mininet fake one: each node a network namespace whose eth0 is one
// end of a veth pair, the other end on the host. Its cleanup removes all.
type nodeNet struct {
	t    testing.TB
	host string            // the host's address on it: the master listens there
	ns   map[string]string // node → namespace
	ip   map[string]string // node → address
}

func ipRun(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNodeNet makes a namespace per node, with lo up and eth0 joined to
// the host end "bsw-NODE".
func newNodeNet(t testing.TB, nodes ...string) *nodeNet {
	t.Helper()
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("needs nsenter (util-linux)")
	}
	n := &nodeNet{t: t, ns: map[string]string{}, ip: map[string]string{}}
	for _, node := range nodes {
		ns := "berth-e2e-" + node
		exec.Command("ip", "netns", "del", ns).Run() // left by a killed run
		exec.Command("ip", "link", "del", "bsw-"+node).Run()
		ipRun(t, "netns", "add", ns)
		t.Cleanup(func() {
			exec.Command("ip", "netns", "del", ns).Run()
			exec.Command("ip", "link", "del", "bsw-"+node).Run()
		})
		ipRun(t, "link", "add", "bsw-"+node, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ipRun(t, "-n", ns, "link", "set", "lo", "up")
		ipRun(t, "-n", ns, "link", "set", "eth0", "up")
		ipRun(t, "link", "set", "bsw-"+node, "up")
		n.ns[node] = ns
	}
	return n
}

// newSegment puts the nodes on one L2 segment, a bridge on the host that
// has 10.250.0.1/24; the nodes have .11, .12, ….
func newSegment(t testing.TB, nodes ...string) *nodeNet {
	n := newNodeNet(t, nodes...)
	exec.Command("ip", "link", "del", "berth-e2e-sw").Run()
	ipRun(t, "link", "add", "berth-e2e-sw", "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "berth-e2e-sw").Run() })
	ipRun(t, "addr", "add", "10.250.0.1/24", "dev", "berth-e2e-sw")
	ipRun(t, "link", "set", "berth-e2e-sw", "up")
	n.host = "10.250.0.1"
	for i, node := range nodes {
		ipRun(t, "link", "set", "bsw-"+node, "master", "berth-e2e-sw")
		n.ip[node] = fmt.Sprintf("10.250.0.%d", 11+i)
		ipRun(t, "-n", n.ns[node], "addr", "add", n.ip[node]+"/24", "dev", "eth0")
		ipRun(t, "-n", n.ns[node], "route", "add", "default", "via", n.host)
	}
	return n
}

// newSubnets puts each node in a subnet of its own, 10.250.N.0/24 with
// the host at .1 and the node at .2, and lets the host route between
// them (ip_forward, restored at the end).
func newSubnets(t testing.TB, nodes ...string) *nodeNet {
	n := newNodeNet(t, nodes...)
	const forward = "/proc/sys/net/ipv4/ip_forward"
	old, err := os.ReadFile(forward)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(forward, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(forward, old, 0o644) })
	for i, node := range nodes {
		gw := fmt.Sprintf("10.250.%d.1", i+1)
		n.ip[node] = fmt.Sprintf("10.250.%d.2", i+1)
		ipRun(t, "addr", "add", gw+"/24", "dev", "bsw-"+node)
		ipRun(t, "-n", n.ns[node], "addr", "add", n.ip[node]+"/24", "dev", "eth0")
		ipRun(t, "-n", n.ns[node], "route", "add", "default", "via", gw)
		if i == 0 {
			n.host = gw
		}
	}
	return n
}

// listenOn makes the cluster's master listen on the host's address of
// the node network, where the agents in their namespaces reach it.
func (c *cluster) listenOn(n *nodeNet) {
	c.t.Helper()
	c.api = strings.Replace(freeAddr(c.t), "127.0.0.1", n.host, 1)
}

// startAgentIn starts the agent of a node in its namespace (nsenter: the
// agent keeps the host's mount namespace, where containerd sees the
// pods' namespaces it binds), listening on the node's address; it is
// killed at the end of the test.
func (c *cluster) startAgentIn(n *nodeNet, node string, extra ...string) *proc {
	c.t.Helper()
	args := append([]string{"--net=/run/netns/" + n.ns[node], agentBin, "--name", node, "--server", c.api, "--token-file", c.agentToken(),
		"--data", filepath.Join(c.dir, "agent-"+node), "--containerd", c.socket, "--import", imageTar,
		"--listen", n.ip[node] + ":10250"}, extra...)
	p := start(c.t, c.dir, "agent-"+node, "nsenter", args...)
	c.t.Cleanup(func() {
		if !p.exited() {
			p.stop(syscall.SIGKILL)
		}
		if c.t.Failed() {
			c.t.Logf("--- %s log ---\n%s", p.name, p.logTail())
		}
	})
	return p
}

// TestPodsReachPodsOnOtherNodes (issue #16, b): two agents, each in its
// own network namespace, with host-gw on one segment and with vxlan
// across two subnets: a pod on n2 reaches a pod on n1 by its address and
// the server sees the client pod's own address (no NAT), through the
// Service's name and cluster IP too; each node has a route to the other's
// pod CIDR, and over VXLAN the pods' MTU is the uplink's less 50.
func TestPodsReachPodsOnOtherNodes(t *testing.T) {
	for _, mode := range []string{"host-gw", "vxlan"} {
		t.Run(mode, func(t *testing.T) {
			topology := newSegment
			if mode == "vxlan" {
				topology = newSubnets
			}
			nodes := topology(t, "n1", "n2")
			c := newCluster(t)
			c.listenOn(nodes)
			c.startMaster()
			agents := map[string]*proc{}
			for _, n := range []string{"n1", "n2"} {
				agents[n] = c.startAgentIn(nodes, n, "--pod-network="+mode)
			}
			testutil.WaitFor(t, 30*time.Second, "two nodes Ready", func() bool {
				s, err := c.client.Status(context.Background(), 0, 0)
				return err == nil && s.ReadyNodes == 2
			})
			sha := c.commit("a server on n1, a client on n2", map[string]string{
				"srv.yaml": pinned("srv", "n1") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: srv}\nspec:\n  selector: {app: srv}\n  ports: [{port: 80, targetPort: 8080}]\n",
				"cli.yaml": pinned("cli", "n2"),
			})
			c.waitCommit(sha, 0)
			srv, cli := podOf(c, "srv"), podOf(c, "cli")
			if srv.Spec.NodeName != "n1" || cli.Spec.NodeName != "n2" {
				t.Fatalf("srv on %s, cli on %s; want n1 and n2", srv.Spec.NodeName, cli.Spec.NodeName)
			}
			for _, url := range []string{"http://" + srv.Status.PodIP + ":8080/client", "http://srv/client", "http://srv.default.svc.cluster.local/client"} {
				c.execUntil(cli.Name, "app", []string{"client " + cli.Status.PodIP + "\n"}, "/app", "-get", url)
			}
			for node, other := range map[string]string{"n1": "n2", "n2": "n1"} {
				routes, _ := exec.Command("ip", "-n", nodes.ns[node], "route", "show", "proto", "191").CombinedOutput()
				if cidr := podCIDROf(c, other); !strings.Contains(string(routes), cidr) {
					t.Errorf("node %s has no route to %s's pods (%s):\n%s", node, other, cidr, routes)
				}
			}
			if mode == "vxlan" {
				c.execUntil(cli.Name, "app", []string{`mtu: "1450`}, "/app", "-cat", "/sys/class/net/eth0/mtu", "-exit", "0")
				if fdb, _ := exec.Command("bridge", "-n", nodes.ns["n1"], "fdb", "show", "dev", "berthvx-n1").CombinedOutput(); !strings.Contains(string(fdb), "dst "+nodes.ip["n2"]) {
					t.Errorf("n1's VXLAN has no forwarding entry to n2 (%s):\n%s", nodes.ip["n2"], fdb)
				}
			}

			// n2 leaves: once it is deleted, n1 has no route to its pods.
			n2CIDR := podCIDROf(c, "n2")
			agents["n2"].stop(syscall.SIGKILL)
			if out, code := c.berth("delete", "node", "n2"); code != 0 || !strings.Contains(out, "node n2 deleted") {
				t.Fatalf("berth delete node n2: exit %d: %s", code, out)
			}
			testutil.Await(t, 10*time.Second, func() error {
				routes, _ := exec.Command("ip", "-n", nodes.ns["n1"], "route", "show", "proto", "191").CombinedOutput()
				fdb, _ := exec.Command("bridge", "-n", nodes.ns["n1"], "fdb", "show", "dev", "berthvx-n1").CombinedOutput()
				if strings.Contains(string(routes), n2CIDR) || strings.Contains(string(fdb), nodes.ip["n2"]) {
					return fmt.Errorf("n1 still routes to deleted n2 (%s):\n%s%s", n2CIDR, routes, fdb)
				}
				return nil
			})
			if out, _ := c.berth("get", "nodes"); strings.Contains(out, "n2") {
				t.Errorf("berth get nodes still lists n2:\n%s", out)
			}
		})
	}
}

// pinned is a Deployment of one kubia on :8080 on the node.
func pinned(name, node string) string {
	return strings.Replace(strings.Replace(deployment(name, 1, "v1"), `"127.0.0.1:0"`, `":8080"`, 1),
		"      containers:\n", "      nodeSelector: {kubernetes.io/hostname: "+node+"}\n      containers:\n", 1)
}

// podOf is the one pod of a Deployment.
func podOf(c *cluster, deployment string) corev1.Pod {
	c.t.Helper()
	for _, p := range c.pods() {
		if strings.HasPrefix(p.Name, deployment+"-") {
			return p
		}
	}
	c.t.Fatalf("no pod of %s", deployment)
	return corev1.Pod{}
}

// podCIDROf is a node's pod CIDR.
func podCIDROf(c *cluster, node string) string {
	c.t.Helper()
	nodes, err := c.client.Nodes(c.ctx())
	if err != nil {
		c.t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.Name == node {
			return n.Spec.PodCIDR
		}
	}
	return "none"
}
