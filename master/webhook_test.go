package master

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

func TestWebhookFetchesAtOnce(t *testing.T) {
	c, repo := startMaster(t, func(cfg *Config) {
		cfg.Git.Repo = "file://" + cfg.Git.Repo
		cfg.Git.Poll = time.Hour // only the webhook can make it look
		cfg.WebhookSecret = "s3cret"
	})
	url := c.Servers()[0] + PathWebhook
	waitStatus(t, c, func(s *api.Status) bool { return s.SeenCommit != "" })
	post := func(body string, header map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := anonymous(t, c).Do(req) // a webhook shows no credentials: its HMAC is checked
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sign := func(body, secret string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		return hex.EncodeToString(mac.Sum(nil))
	}
	body := `{"ref":"refs/heads/main"}`
	for name, h := range map[string]map[string]string{
		"bad GitHub HMAC":  {"X-Hub-Signature-256": "sha256=" + sign(body, "wrong")},
		"bad Gitea HMAC":   {"X-Gitea-Signature": sign(body, "wrong")},
		"bad GitLab token": {"X-Gitlab-Token": "wrong"},
		"no signature":     {},
	} {
		if code := post(body, h); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", name, code)
		}
	}
	for i, h := range []map[string]string{
		{"X-Hub-Signature-256": "sha256=" + sign(body, "s3cret")},
		{"X-Gitea-Signature": sign(body, "s3cret")},
		{"X-Gitlab-Token": "s3cret"},
	} {
		sha := testutil.GitCommit(t, repo, "web.yaml", fmt.Sprintf("%s# push %d\n", deployYAML, i))
		if code := post(body, h); code != http.StatusAccepted {
			t.Fatalf("good signature %v: HTTP %d", h, code)
		}
		waitStatus(t, c, func(s *api.Status) bool { return s.SeenCommit == sha })
	}
	other := `{"ref":"refs/heads/feature"}`
	if code := post(other, map[string]string{"X-Gitlab-Token": "s3cret"}); code != http.StatusAccepted {
		t.Errorf("push to another branch: HTTP %d", code)
	}
}
