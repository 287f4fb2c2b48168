//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
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

// TestWebhook follows a remote with an hour-long poll: only a push
// notification with the right HMAC makes the master fetch.
func TestWebhook(t *testing.T) {
	c := newCluster(t)
	c.startMaster("--repo", "file://"+c.repo, "--poll", "1h", "--webhook-secret", "s3cret")
	c.startAgent()
	hook := func(secret string) int {
		body := `{"ref":"refs/heads/main"}`
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, "https://"+c.api+"/berth/v1/hooks/git", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := c.anonymous().Do(req) // a webhook shows no credentials: its HMAC is checked
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sha := c.commit("web", map[string]string{"web.yaml": deployment("web", 1, "v1")})
	if code := hook("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("bad HMAC: HTTP %d, want 401", code)
	}
	if s := c.status(); s.SeenCommit == sha {
		t.Fatal("the commit was fetched without a valid webhook")
	}
	if code := hook("s3cret"); code != http.StatusAccepted {
		t.Fatalf("good HMAC: HTTP %d, want 202", code)
	}
	c.waitCommit(sha, 0)
}
