//go:build e2e

package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestUpStartsItsOwnContainerd runs `berth up` where no containerd answers
// on the default socket: it must start containerd under its data directory
// and stop it on exit, and a second berth up adopts the containers.
func TestUpStartsItsOwnContainerd(t *testing.T) {
	if conn, err := net.Dial("unix", "/run/containerd/containerd.sock"); err == nil {
		conn.Close()
		t.Skip("a system containerd answers on /run/containerd/containerd.sock; berth up would use it")
	}
	dir, err := os.MkdirTemp("", "berth-up")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	defer removeNodeNetwork("node-0") // the service proxy and pod network of berth up's node
	c := &cluster{t: t, dir: dir, repo: filepath.Join(dir, "repo"), api: freeAddr(t), raft: freeAddr(t)}
	os.MkdirAll(c.repo, 0o755)
	c.initRepo()
	c.commit("start", map[string]string{"web.yaml": deployment("web", 2, "v1")})
	data := filepath.Join(dir, "data")
	c.credentials = data // berth up writes them at the top of --data
	socket := filepath.Join(data, "containerd", "containerd.sock")
	startUp := func() *proc {
		return start(t, dir, "up", berthBin, "up", "--repo", c.repo, "--data", data, "--listen", c.api, "--import", imageTar)
	}
	up := startUp()
	defer func() {
		if !up.exited() {
			up.stop(syscall.SIGKILL)
		}
		if c.ctr != nil {
			c.ctr.Close()
		}
		exec.Command("pkill", "-9", "-f", "containerd-shim-runc-v2 .*-address "+socket).Run()
		if t.Failed() {
			t.Logf("--- berth up log ---\n%s", up.logTail())
		}
	}()
	c.awaitCredentials([]string{c.api})
	for _, f := range []string{"admin.kubeconfig", "agent.token", "master.token"} {
		if fi, err := os.Stat(filepath.Join(data, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("berth up's %s at the top of --data: %v (mode %v); want mode 0600", f, err, fi.Mode())
		}
	}
	sha := c.git("rev-parse", "HEAD")
	c.waitCommit(sha, 0)
	connect := func() {
		if c.ctr != nil {
			c.ctr.Close()
		}
		var err error
		if c.ctr, err = containerd.New(socket); err != nil {
			t.Fatalf("no containerd under the data directory: %v", err)
		}
	}
	connect()
	before := pidsOf(c.expectRunning(2))

	// Stopping berth up stops its containerd; the containers keep running
	// and the next berth up adopts them.
	up.stop(syscall.SIGTERM)
	if conn, err := net.Dial("unix", socket); err == nil {
		conn.Close()
		t.Fatal("containerd still answers after berth up stopped")
	}
	// The node keeps its certificate: the join token is no longer needed.
	if err := os.Remove(filepath.Join(data, "agent.token")); err != nil {
		t.Fatal(err)
	}
	up = startUp()
	c.waitCommit(sha, 0)
	connect()
	after := pidsOf(c.expectRunning(2))
	keptPIDs(t, before, after)

	c.waitCommit(c.commit("remove web", map[string]string{"web.yaml": ""}), 0)
	testutil.WaitFor(t, 30*time.Second, "no pods left", func() bool {
		l, err := c.client.Pods(context.Background(), "")
		return err == nil && len(l.Items) == 0
	})
	c.expectRunning(0)
	up.stop(syscall.SIGTERM)
}
