//go:build e2e

package e2e

import (
	"context"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

func podNames(ts []task) []string {
	var names []string
	for _, t := range ts {
		names = append(names, t.pod)
	}
	sort.Strings(names)
	return names
}

func pidsOf(ts []task) map[string]uint32 {
	m := map[string]uint32{}
	for _, t := range ts {
		m[t.id] = t.pid
	}
	return m
}

// samePIDs fails unless every container of before still runs with the
// same process: nothing was restarted.
func samePIDs(t *testing.T, before, after map[string]uint32) {
	t.Helper()
	if len(after) != len(before) {
		t.Fatalf("containers changed: %v -> %v", before, after)
	}
	keptPIDs(t, before, after)
}

// keptPIDs fails unless every container of before runs in after with the
// same process (adopted, not restarted).
func keptPIDs(t *testing.T, before, after map[string]uint32) {
	t.Helper()
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("container %s: pid %d -> %d (restarted, not adopted)", id, pid, after[id])
		}
	}
}

func (c *cluster) expectRunning(n int) []task {
	c.t.Helper()
	var ts []task
	testutil.WaitFor(c.t, 30*time.Second, "running containers to settle", func() bool {
		ts = c.running()
		return len(ts) == n
	})
	return ts
}

// podsByName maps the API's pods by name.
func (c *cluster) podsByName() map[string]corev1.Pod {
	c.t.Helper()
	m := map[string]corev1.Pod{}
	for _, p := range c.pods() {
		m[p.Name] = p
	}
	return m
}

func (c *cluster) pods() []corev1.Pod {
	c.t.Helper()
	l, err := c.client.Pods(context.Background(), "")
	if err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

// TestWalkingSkeleton drives one cluster through the scenarios in
// order: each step starts from the state the one before left.
func TestWalkingSkeleton(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()

	var web []task
	t.Run("a: deployment of 3 runs 3 containers", func(t *testing.T) {
		sha := c.commit("web x3", map[string]string{"apps/web.yaml": deployment("web", 3, "v1")})
		c.waitCommit(sha, 0)
		web = c.expectRunning(3)
		for _, tk := range web {
			if !strings.HasPrefix(tk.pod, "web-") {
				t.Errorf("container of pod %q", tk.pod)
			}
		}
		if s := c.status(); s.LiveCommit != sha || !s.Converged {
			t.Fatalf("status %+v", s)
		}
	})
	t.Run("b: scale to 5 then 1", func(t *testing.T) {
		c.waitCommit(c.commit("web x5", map[string]string{"apps/web.yaml": deployment("web", 5, "v1")}), 0)
		c.expectRunning(5)
		c.waitCommit(c.commit("web x1", map[string]string{"apps/web.yaml": deployment("web", 1, "v1")}), 0)
		web = c.expectRunning(1)
	})
	t.Run("c: changed env replaces the pods", func(t *testing.T) {
		old := web[0].pod
		c.waitCommit(c.commit("web v2", map[string]string{"apps/web.yaml": deployment("web", 2, "v2")}), 0)
		web = c.expectRunning(2)
		for _, tk := range web {
			if tk.pod == old {
				t.Errorf("pod %s of the old template still runs", old)
			}
		}
		for _, p := range c.pods() {
			if p.Spec.Containers[0].Env[0].Value != "v2" {
				t.Errorf("pod %s has env %v", p.Name, p.Spec.Containers[0].Env)
			}
		}
	})
	t.Run("d: deleted manifest removes its pods", func(t *testing.T) {
		c.commit("add a bare pod", map[string]string{"apps/solo.yaml": barePod})
		c.waitCommit(c.commit("remove web", map[string]string{"apps/web.yaml": ""}), 0)
		ts := c.expectRunning(1)
		if ts[0].pod != "solo" {
			t.Fatalf("running %v, want only solo", podNames(ts))
		}
		if n := len(c.pods()); n != 1 {
			t.Fatalf("%d pods in the API, want 1", n)
		}
	})
	var before map[string]uint32
	t.Run("e: invalid YAML is rejected and nothing running is touched", func(t *testing.T) {
		good := c.waitCommit(c.commit("web back", map[string]string{"apps/web.yaml": deployment("web", 2, "v3")}), 0)
		_ = good
		live := c.status().LiveCommit
		before = pidsOf(c.expectRunning(3))
		bad := c.commit("broken", map[string]string{"apps/broken.yaml": "apiVersion: v1\nkind: [\n"})
		out := c.waitCommit(bad, 1)
		if !strings.Contains(out, "apps/broken.yaml:2: invalid YAML: did not find expected node content (document 0)") {
			t.Errorf("berth wait does not name the file and document:\n%s", out)
		}
		s := c.status()
		if s.LiveCommit != live || s.SeenCommit != bad || len(s.Rejected) == 0 || s.Rejected[0].Commit != bad {
			t.Fatalf("status after a bad commit: %+v", s)
		}
		samePIDs(t, before, pidsOf(c.running()))
		c.waitCommit(c.commit("fix", map[string]string{"apps/broken.yaml": ""}), 0)
	})
	t.Run("f: kill -9 of a container restarts it", func(t *testing.T) {
		victim := c.running()[0]
		if err := syscall.Kill(int(victim.pid), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 30*time.Second, "restartCount 1 and a new container", func() bool {
			for _, p := range c.pods() {
				if p.Name == victim.pod && len(p.Status.ContainerStatuses) == 1 {
					cs := p.Status.ContainerStatuses[0]
					return cs.RestartCount == 1 && cs.State.Running != nil && cs.LastTerminationState.Terminated != nil &&
						cs.LastTerminationState.Terminated.ExitCode == 137
				}
			}
			return false
		})
		ts := c.expectRunning(3)
		for _, tk := range ts {
			if tk.pod == victim.pod && (tk.id == victim.id || tk.pid == victim.pid) {
				t.Errorf("container restarted in place: %s", tk.id)
			}
		}
		before = pidsOf(ts)
	})
	t.Run("g: a restarted agent adopts running containers", func(t *testing.T) {
		c.agent.stop(syscall.SIGTERM)
		c.startAgent()
		sha := c.commit("after agent restart", map[string]string{"apps/other.yaml": deployment("other", 1, "v1")})
		c.waitCommit(sha, 0)
		after := pidsOf(c.expectRunning(4))
		keptPIDs(t, before, after)
		before = after
	})
	t.Run("h: a restarted master comes back from Raft", func(t *testing.T) {
		want := c.status()
		wantPods := map[string]string{}
		for _, p := range c.pods() {
			wantPods[p.Name] = string(p.UID)
		}
		c.master.stop(syscall.SIGKILL)
		c.startMaster()
		testutil.WaitFor(t, 30*time.Second, "master answers", func() bool {
			_, err := c.client.Status(context.Background(), 0, 0)
			return err == nil
		})
		s := c.status()
		if s.LiveCommit != want.LiveCommit || s.SeenCommit != want.SeenCommit || len(s.Rejected) != len(want.Rejected) {
			t.Fatalf("status after restart %+v, want %+v", s, want)
		}
		got := map[string]string{}
		for _, p := range c.pods() {
			got[p.Name] = string(p.UID)
		}
		if len(got) != len(wantPods) {
			t.Fatalf("pods after restart %v, want %v", got, wantPods)
		}
		for name, uid := range wantPods {
			if got[name] != uid {
				t.Errorf("pod %s: uid %s -> %s", name, uid, got[name])
			}
		}
		c.waitCommit(c.commit("after master restart", map[string]string{"apps/other.yaml": deployment("other", 2, "v1")}), 0)
		after := pidsOf(c.expectRunning(5))
		keptPIDs(t, before, after)
	})
}

const barePod = `apiVersion: v1
kind: Namespace
metadata:
  name: tools
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: tools
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0"]
`
