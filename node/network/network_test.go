package network

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/benchrow"
)

// nodeNamespace makes a network namespace that plays a node, removed when
// the test ends (with the bridge CNI makes in it).
func nodeNamespace(t *testing.T) *netns.NetNS {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if findPlugin(DefaultPluginDirs, "bridge") == "" {
		t.Skipf("no CNI plugins: %s", InstallHint)
	}
	node, err := netns.NewNetNS(filepath.Join(t.TempDir(), "node"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Remove() })
	return node
}

// in runs f in the namespace, failing the test on its error.
func in(t *testing.T, ns *netns.NetNS, f func() error) {
	t.Helper()
	if err := ns.Do(func(cnins.NetNS) error { return f() }); err != nil {
		t.Fatal(err)
	}
}

// TestPodsGetTheirOwnAddresses: on a node (a namespace of the test's),
// two pods get namespaces and distinct addresses of the node's pod CIDR
// on eth0; one reaches the other by address without NAT (the server sees
// the client's own address); a pod found again keeps its address; removed,
// its namespace and address are gone, and the address is given again.
func TestPodsGetTheirOwnAddresses(t *testing.T) {
	node := nodeNamespace(t)
	ctx := context.Background()
	cfg := Config{Node: "t1", PodCIDR: netip.MustParsePrefix("10.250.7.0/24"), DataDir: t.TempDir()}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var a, b *Pod
	in(t, node, func() (err error) {
		if a, err = n.Add(ctx, "pod-a", "a"); err != nil {
			return err
		}
		b, err = n.Add(ctx, "pod-b", "b")
		return err
	})
	if a.IP == b.IP || !cfg.PodCIDR.Contains(a.IP) || !cfg.PodCIDR.Contains(b.IP) {
		t.Fatalf("addresses %s and %s; want two of %s", a.IP, b.IP, cfg.PodCIDR)
	}
	if got := addressOf(t, a.Namespace, "eth0"); got != a.IP {
		t.Errorf("eth0 of pod a has %s; CNI said %s", got, a.IP)
	}
	if seen := connect(t, a, b); seen != b.IP {
		t.Errorf("pod a saw a connection from %s; want pod b's own address %s (no NAT)", seen, b.IP)
	}
	again, err := n.Find(ctx, "pod-a")
	if err == nil && again != nil {
		again.Took, again.CNI = a.Took, a.CNI // what Add measured
	}
	if err != nil || again == nil || *again != *a {
		t.Errorf("pod a found again: %+v, %v; want %+v", again, err, a)
	}
	// The address record lost, the address is read from the pod's eth0.
	if err := os.Remove(filepath.Join(cfg.DataDir, "cni", "networks", "berth", a.IP.String())); err != nil {
		t.Fatal(err)
	}
	if again, err := n.Find(ctx, "pod-a"); err != nil || again == nil || again.IP != a.IP {
		t.Errorf("pod a found again without its address record: %+v, %v; want address %s", again, err, a.IP)
	}
	if got := hostnameIn(t, a.UTS); got != "a" {
		t.Errorf("pod a's UTS namespace is named %q", got)
	}
	in(t, node, func() error { return n.Remove(ctx, "pod-a") })
	if p, err := n.Find(ctx, "pod-a"); p != nil || err != nil {
		t.Errorf("pod a after Remove: %+v, %v", p, err)
	}
	for _, path := range []string{a.Namespace, a.UTS, a.IPC} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("pod a's namespace %s is still there: %v", path, err)
		}
	}
	var c *Pod
	in(t, node, func() (err error) { c, err = n.Add(ctx, "pod-c", "c"); return err })
	in(t, node, func() error { return errorsJoin(n.Remove(ctx, "pod-b"), n.Remove(ctx, "pod-c")) })
	if c.IP == b.IP {
		t.Errorf("pod c got pod b's address %s", c.IP)
	}
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// addressOf is the IPv4 address of an interface inside a namespace.
func addressOf(t *testing.T, nsPath, iface string) netip.Addr {
	t.Helper()
	var out netip.Addr
	in(t, netns.LoadNetNS(nsPath), func() error {
		i, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		addrs, err := i.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
				out = p.Addr()
			}
		}
		return nil
	})
	return out
}

// connect listens on server's address, inside its namespace, dials it
// from inside client's, and returns the address the server saw.
func connect(t *testing.T, server, client *Pod) netip.Addr {
	t.Helper()
	var ln net.Listener
	in(t, netns.LoadNetNS(server.Namespace), func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(server.IP, 0).String())
		return err
	})
	defer ln.Close()
	seen := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			seen <- "accept: " + err.Error()
			return
		}
		defer conn.Close()
		seen <- conn.RemoteAddr().String()
		io.Copy(io.Discard, conn)
	}()
	in(t, netns.LoadNetNS(client.Namespace), func() error {
		conn, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			return err
		}
		return conn.Close()
	})
	remote := <-seen
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		t.Fatalf("the server saw %q", remote)
	}
	return ap.Addr()
}

func TestMissingPluginsNameThePackage(t *testing.T) {
	_, err := New(Config{Node: "t", PodCIDR: netip.MustParsePrefix("10.250.0.0/24"), DataDir: t.TempDir(), PluginDirs: []string{t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), `CNI plugin "bridge" not found`) || !strings.Contains(err.Error(), "containernetworking-plugins") {
		t.Errorf("New without plugins: %v", err)
	}
}

func TestBridgeNamesFitTheKernel(t *testing.T) {
	if got := BridgeName("n1"); got != "berth-n1" {
		t.Errorf("bridge of n1: %s", got)
	}
	long := BridgeName("a-node-with-a-long-name")
	if len(long) > 15 || long == BridgeName("a-node-with-a-long-nam") {
		t.Errorf("bridge of a long name: %q", long)
	}
}

// BenchmarkPodNetwork is the network setup of one pod and its teardown,
// through go-cni and the plugins (bridge ADD was 17-25 ms here): the
// median setup (namespaces and CNI ADD) beside the plugins' own part, as
// rows of B1.
func BenchmarkPodNetwork(b *testing.B) {
	if os.Getuid() != 0 || findPlugin(DefaultPluginDirs, "bridge") == "" {
		b.Skip("needs root and the CNI plugins")
	}
	node, err := netns.NewNetNS(filepath.Join(b.TempDir(), "node"))
	if err != nil {
		b.Fatal(err)
	}
	defer node.Remove()
	n, err := New(Config{Node: "bench", PodCIDR: netip.MustParsePrefix("10.250.8.0/24"), DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var setup, cni, del []time.Duration
	err = node.Do(func(cnins.NetNS) error {
		for i := 0; i < b.N; i++ {
			p, err := n.Add(ctx, "pod", "pod")
			if err != nil {
				return err
			}
			setup, cni = append(setup, p.Took), append(cni, p.CNI)
			start := time.Now()
			if err := n.Remove(ctx, "pod"); err != nil {
				return err
			}
			del = append(del, time.Since(start))
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	work := fmt.Sprintf("one pod at a time in a node namespace, %d runs", b.N)
	for _, r := range []struct {
		name  string
		times []time.Duration
	}{{"pod network setup per pod (namespaces + CNI ADD), median", setup}, {"CNI ADD per pod (loopback, bridge, host-local), median", cni},
		{"pod network teardown per pod (CNI DEL + namespaces), median", del}} {
		slices.Sort(r.times)
		ms := float64(r.times[len(r.times)/2].Microseconds()) / 1000
		b.ReportMetric(ms, strings.Fields(r.name)[0]+"-"+strings.Fields(r.name)[2]+"-ms")
		benchrow.Record(b, benchrow.Row{ID: "B1", Name: r.name, Value: ms, Unit: "ms", Better: "lower", Work: work})
	}
}

// hostnameIn is the hostname of a UTS namespace bound to a file.
func hostnameIn(t *testing.T, path string) string {
	t.Helper()
	out := make(chan string, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		fd, err := unix.Open(path, unix.O_RDONLY, 0)
		if err != nil {
			out <- err.Error()
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			out <- err.Error()
			return
		}
		var u unix.Utsname
		unix.Uname(&u)
		out <- unix.ByteSliceToString(u.Nodename[:])
	}()
	return <-out
}
