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

	"github.com/berth-dev/berth/client"
)

// TestUpStartsItsOwnContainerd runs `berth up` where no containerd answers
// on the default socket: it must start containerd under its data directory
// and stop it on exit.
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
	c := &cluster{t: t, dir: dir, repo: filepath.Join(dir, "repo"), api: freeAddr(t), raft: freeAddr(t)}
	os.MkdirAll(c.repo, 0o755)
	c.git("init", "-q", "-b", "main")
	c.commit("start", map[string]string{"web.yaml": deployment("web", 2, "v1")})
	if c.client, err = client.New([]string{c.api}); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	up := start(t, dir, "up", berthBin, "up", "--repo", c.repo, "--data", data, "--listen", c.api, "--raft", c.raft, "--import", imageTar)
	defer func() {
		if !up.exited() {
			up.stop(syscall.SIGKILL)
		}
		exec.Command("pkill", "-9", "-f", "containerd-shim-runc-v2 .*-address "+filepath.Join(data, "containerd")).Run()
		if t.Failed() {
			t.Logf("--- berth up log ---\n%s", up.logTail())
		}
	}()
	c.waitCommit(c.git("rev-parse", "HEAD"), 0)
	socket := filepath.Join(data, "containerd", "containerd.sock")
	if _, err := os.Stat(socket); err != nil {
		t.Fatalf("no containerd socket under the data directory: %v", err)
	}
	c.waitCommit(c.commit("remove web", map[string]string{"web.yaml": ""}), 0)
	waitFor(t, 30*time.Second, "no pods left", func() bool {
		l, err := c.client.Pods(context.Background(), "")
		return err == nil && len(l.Items) == 0
	})
	up.stop(syscall.SIGTERM)
	if conn, err := net.Dial("unix", socket); err == nil {
		conn.Close()
		t.Fatal("containerd still answers after berth up stopped")
	}
}
