//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// startRegistry runs Debian's docker-registry on loopback and returns its
// host:port.
func startRegistry(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Fatal("docker-registry not found in PATH: apt-get install docker-registry")
	}
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "registry.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "registry"), addr)), 0o644)
	p := start(t, dir, "registry", "docker-registry", "serve", cfg)
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	testutil.WaitFor(t, 30*time.Second, "registry answers", func() bool {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return addr
}

// push copies the sample image into the registry under repo:tag.
func push(t *testing.T, registry, ref string) string {
	t.Helper()
	img, err := tarball.ImageFromPath(imageTar, nil)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(registry+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return tag.String()
}

func pod(name, image, policy string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: %s
    imagePullPolicy: %s
    args: ["-listen", "127.0.0.1:0"]
`, name, image, policy)
}

// waitingReason polls the pod until its container waits with one of the
// reasons, and returns the reason and message.
func (c *cluster) waitingReason(podName string, reasons ...string) (string, string) {
	c.t.Helper()
	var reason, msg string
	testutil.WaitFor(c.t, 60*time.Second, podName+" waiting with "+strings.Join(reasons, " or "), func() bool {
		for _, p := range c.pods() {
			if p.Name != podName || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				continue
			}
			w := p.Status.ContainerStatuses[0].State.Waiting
			for _, r := range reasons {
				if w.Reason == r {
					reason, msg = w.Reason, w.Message
					return true
				}
			}
		}
		return false
	})
	return reason, msg
}

func TestImages(t *testing.T) {
	c := newCluster(t)
	registry := startRegistry(t, c.dir)
	ref := push(t, registry, "team/kubia:v7")
	c.startMaster("--rollout-deadline", "3s")
	c.startAgent()

	t.Run("pulled from a registry", func(t *testing.T) {
		c.waitCommit(c.commit("pulled", map[string]string{"pulled.yaml": pod("pulled", ref, "Always")}), 0)
		ctx := c.ctx()
		if _, err := c.ctr.GetImage(ctx, ref); err != nil {
			t.Fatalf("image %s not in containerd after the pull: %v", ref, err)
		}
	})
	t.Run("an image that does not exist", func(t *testing.T) {
		c.commit("missing", map[string]string{"missing.yaml": pod("missing", registry+"/team/nope:v1", "IfNotPresent")})
		reason, msg := c.waitingReason("missing", "ErrImagePull", "ImagePullBackOff")
		if !strings.Contains(msg, registry+"/team/nope:v1") {
			t.Errorf("%s message does not name the image: %q", reason, msg)
		}
		if s := c.status(); s.Converged {
			t.Error("converged with a pod that cannot pull its image")
		}
		sha := c.git("rev-parse", "HEAD")
		testutil.WaitFor(t, 30*time.Second, "the rollout to fail after the 3s deadline", func() bool {
			e := entry(c.history(), sha)
			return e != nil && e.Rollout != nil
		})
		if r := entry(c.history(), sha).Rollout; r.State != api.RolloutFailed || !strings.Contains(r.Reason, "ProgressDeadlineExceeded") ||
			!strings.Contains(r.Reason, "default/missing ") {
			t.Errorf("rollout %+v", r)
		}
		if n := len(c.running()); n != 1 {
			t.Errorf("%d containers run, want the pulled one only", n)
		}
	})
	t.Run("imagePullPolicy Never and an absent image", func(t *testing.T) {
		c.commit("never", map[string]string{"never.yaml": pod("never", "busybox:1.36", "Never"), "missing.yaml": ""})
		_, msg := c.waitingReason("never", "ErrImageNeverPull")
		if !strings.Contains(msg, "docker.io/library/busybox:1.36") {
			t.Errorf("message does not name the normalized image: %q", msg)
		}
	})
	t.Run("logs", func(t *testing.T) {
		rc, err := c.client.Logs(context.Background(), "default", "pulled", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		buf := make([]byte, 4096)
		n, _ := rc.Read(buf)
		if !strings.Contains(string(buf[:n]), "kubia v1 on pulled listening") {
			t.Errorf("log %q", buf[:n])
		}
		out, code := c.berth("logs", "pulled")
		if code != 0 || !strings.Contains(out, "kubia v1 on pulled listening") {
			t.Errorf("berth logs exited %d: %q", code, out)
		}
	})
}
