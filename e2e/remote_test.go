//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestRemoteRepositoryAndPath follows a file:// URL (a remote: cloned into
// the master's data directory and fetched on the poll) and reads manifests
// under --path only.
func TestRemoteRepositoryAndPath(t *testing.T) {
	c := newCluster(t)
	c.startMaster("--repo", "file://"+c.repo, "--path", "deploy", "--poll", "200ms")
	c.startAgent()
	sha := c.commit("web and an unrelated broken file", map[string]string{
		"deploy/web.yaml":     deployment("web", 2, "v1"),
		"docs/not-a-pod.yaml": "kind: [\n",
	})
	c.waitCommit(sha, 0)
	c.expectRunning(2)
	// The first commit has no deploy/ folder: a missing --path is refused
	// (as Argo CD refuses it), never read as "delete everything".
	s := c.status()
	if s.LiveCommit != sha || len(s.Rejected) != 1 || !strings.Contains(s.Rejected[0].Errors[0], `path "deploy" in commit`) {
		t.Fatalf("status %+v", s)
	}
	c.waitCommit(c.commit("scale", map[string]string{"deploy/web.yaml": deployment("web", 1, "v1")}), 0)
	c.expectRunning(1)
}
