package master

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PathWebhook receives push notifications from GitHub, GitLab and Gitea.
const PathWebhook = "/berth/v1/hooks/git"

// errBadSignature is a webhook whose signature or token does not match.
var errBadSignature = errors.New("webhook: signature does not match the secret")

// verifyWebhook checks a push notification against the shared secret:
// GitHub's X-Hub-Signature-256 and Gitea's X-Gitea-Signature (HMAC-SHA256
// of the body), GitLab's X-Gitlab-Token (the secret itself).
func verifyWebhook(secret string, h http.Header, body []byte) error {
	if secret == "" {
		return nil
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := mac.Sum(nil)
	if sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256="); ok {
		if got, err := hex.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return nil
		}
		return errBadSignature
	}
	if sig := h.Get("X-Gitea-Signature"); sig != "" {
		if got, err := hex.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return nil
		}
		return errBadSignature
	}
	if tok := h.Get("X-Gitlab-Token"); tok != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(secret)) == 1 {
			return nil
		}
		return errBadSignature
	}
	return errors.New("webhook: no signature (X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token) and a secret is set")
}

// handleWebhook starts a fetch of the followed branch at once when a push
// to it is announced.
func (m *Master) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("webhook: reading body: %w", err))
		return
	}
	if err := verifyWebhook(m.cfg.WebhookSecret, r.Header, body); err != nil {
		writeError(w, http.StatusUnauthorized, err)
		return
	}
	var push struct {
		Ref string `json:"ref"`
	}
	json.Unmarshal(body, &push) // a payload without ref (a ping) still triggers a look
	if push.Ref != "" && push.Ref != "refs/heads/"+m.src.Branch() {
		w.WriteHeader(http.StatusAccepted)
		writeJSON(w, map[string]string{"ignored": "push to " + push.Ref + ", not to the followed branch " + m.src.Branch()})
		return
	}
	m.src.Trigger()
	w.WriteHeader(http.StatusAccepted)
	writeJSON(w, map[string]string{"fetch": "started"})
}
