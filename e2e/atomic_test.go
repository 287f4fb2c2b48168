//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommitIsAtomic adds 20 valid manifests and 1 invalid one in one
// commit: the commit is refused whole, the live revision and its containers
// are untouched, and `berth validate` on the same tree prints the same
// error as the master.
func TestCommitIsAtomic(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	good := c.commit("web", map[string]string{"apps/web.yaml": deployment("web", 2, "v1")})
	c.waitCommit(good, 0)
	before := pidsOf(c.expectRunning(2))

	files := map[string]string{}
	for i := 0; i < 20; i++ {
		files[fmt.Sprintf("apps/svc%02d.yaml", i)] = deployment(fmt.Sprintf("svc%02d", i), 1, "v1")
	}
	files["apps/zz-bad.yaml"] = strings.Replace(deployment("bad", 1, "v1"), "terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds: 5\n      hostPID: true", 1)
	bad := c.commit("21 manifests, one bad", files)
	out := c.waitCommit(bad, 1)
	const want = "apps/zz-bad.yaml:14: Deployment/default/bad: spec.template.spec.hostPID: not supported by berth (document 0)"
	if !strings.Contains(out, want) {
		t.Fatalf("berth wait does not print %q:\n%s", want, out)
	}
	s := c.status()
	if s.LiveCommit != good || len(s.Rejected) != 1 || len(s.Rejected[0].Errors) != 1 {
		t.Fatalf("status %+v", s)
	}
	if n := len(c.pods()); n != 2 {
		t.Errorf("%d pods, want the 2 of the live revision", n)
	}
	samePIDs(t, before, pidsOf(c.running()))

	// The same check offline, on the working tree and on the commit.
	for _, args := range [][]string{{"validate", c.repo}, {"validate", "--repo", c.repo, "--commit", bad}} {
		out, code := c.berth(args...)
		if code != 1 || strings.TrimSpace(strings.Split(out, "\n")[0]) != want {
			t.Errorf("berth %v exited %d:\n%s", args, code, out)
		}
	}
	if out, code := c.berth("validate", "--repo", c.repo, "--commit", good); code != 0 {
		t.Errorf("berth validate of the good commit exited %d:\n%s", code, out)
	}

	// berth plan: a dry run of a folder that asks for more CPU than the node has.
	planDir := filepath.Join(c.dir, "plan")
	os.MkdirAll(planDir, 0o755)
	huge := strings.Replace(deployment("web", 2, "v1"), "        env:", "        resources:\n          requests: {cpu: \"500\"}\n        env:", 1)
	os.WriteFile(filepath.Join(planDir, "web.yaml"), []byte(huge), 0o644)
	out, code := c.berth("plan", planDir)
	if code != 2 || !strings.Contains(out, "~ Deployment/default/web") || !strings.Contains(out, "cannot be placed: 0/1 nodes are available: 1 Insufficient cpu.") {
		t.Errorf("berth plan exited %d:\n%s", code, out)
	}
	if s := c.status(); s.LiveCommit != good {
		t.Errorf("berth plan changed the live commit to %s", s.LiveCommit)
	}
}
