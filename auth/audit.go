package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// AuditLog writes one JSON line per API request (--audit-log FILE). It
// records who asked what and how it ended, never a body: Secrets are
// logged at metadata level only, as every other object is.
type AuditLog struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Time     time.Time `json:"time"`
	Identity string    `json:"identity"`
	Role     string    `json:"role,omitempty"`
	Via      string    `json:"via"`
	Verb     string    `json:"verb"`
	Path     string    `json:"path"`
	Object   string    `json:"object,omitempty"`
	Source   string    `json:"source"`
	// ForwardedBy is the master that forwarded the request to the leader.
	ForwardedBy string `json:"forwardedBy,omitempty"`
	Status      int    `json:"status"`
	Outcome     string `json:"outcome"`
}

// OpenAuditLog appends to the file at path (mode 0600).
func OpenAuditLog(path string) (*AuditLog, io.Closer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--audit-log %s: %w", path, err)
	}
	return NewAuditLog(f), f, nil
}

// NewAuditLog writes the audit log to w.
func NewAuditLog(w io.Writer) *AuditLog { return &AuditLog{w: w, now: time.Now} }

// verbs are Kubernetes' names of what a method does.
var verbs = map[string]string{http.MethodGet: "get", http.MethodHead: "get", http.MethodPost: "create",
	http.MethodPut: "update", http.MethodPatch: "patch", http.MethodDelete: "delete"}

// objectParams are the path parameters that name an object.
var objectParams = []string{"namespace", "pod", "node", "name", "id"}

// Record writes the line of one request. A nil AuditLog records nothing.
func (l *AuditLog) Record(r *http.Request, id Identity, status int) {
	if l == nil {
		return
	}
	e := AuditEvent{Time: l.now().UTC(), Identity: id.String(), Role: id.Role, Via: id.Via, Verb: verbs[r.Method],
		Path: r.URL.Path, Source: r.RemoteAddr, Status: status, Outcome: outcome(status)}
	if e.Verb == "" {
		e.Verb = r.Method
	}
	if r.URL.Query().Has("index") || r.URL.Query().Get("follow") == "true" {
		e.Verb = "watch"
	}
	for _, p := range objectParams {
		if v := r.PathValue(p); v != "" {
			if e.Object != "" {
				e.Object += "/"
			}
			e.Object += v
		}
	}
	if r.Header.Get(ForwardedHeader) != "" {
		e.ForwardedBy, e.Source = r.RemoteAddr, r.Header.Get("X-Forwarded-For")
	}
	line, _ := json.Marshal(e)
	line = append(line, '\n')
	l.mu.Lock()
	l.w.Write(line)
	l.mu.Unlock()
}

func outcome(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden:
		return "forbidden"
	case status >= 400:
		return "failed"
	}
	return "allowed"
}
