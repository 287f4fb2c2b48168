package auth

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/pki"
)

// Authenticator finds the identity of a request.
type Authenticator struct {
	// Pool holds the cluster CA that client certificates must chain to.
	Pool func() *x509.CertPool
	// Token returns the stored token of an ID, or nil.
	Token func(id string) *api.Token
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// verified remembers the certificates that checked out, by their
	// parsed leaf: every request on a connection shows the same one, so
	// its chain is verified once per connection, not once per request.
	mu       sync.Mutex
	verified map[*x509.Certificate]Identity
}

// maxVerified bounds the remembered certificates (the connections of
// thousands of agents); past it the memory starts again.
const maxVerified = 16384

// ErrNoCredentials is returned for a request that shows none.
var ErrNoCredentials = errors.New("no credentials: show a client certificate of the cluster or a bearer token (berth kubeconfig, berth token create)")

// Authenticate returns the identity a request shows: its client
// certificate's, else its bearer token's; ErrNoCredentials when it shows
// neither. A certificate or token that does not check out is an error
// that says why.
func (a *Authenticator) Authenticate(r *http.Request) (Identity, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return a.certificate(r.TLS.PeerCertificates)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return Anonymous, ErrNoCredentials
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return Anonymous, fmt.Errorf("authorization scheme %q: want Bearer", scheme)
	}
	return a.token(strings.TrimSpace(cred))
}

// certificate verifies a client's certificate chain (once per leaf: see
// verified) and checks its validity at every request.
func (a *Authenticator) certificate(certs []*x509.Certificate) (Identity, error) {
	leaf, now := certs[0], a.now()
	a.mu.Lock()
	id, ok := a.verified[leaf]
	a.mu.Unlock()
	if ok && now.Before(leaf.NotAfter) {
		return id, nil
	}
	pid, err := pki.Verify(a.Pool(), leaf, certs[1:], now, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return Anonymous, fmt.Errorf("client certificate %q: %w", leaf.Subject.CommonName, err)
	}
	id = Identity{Kind: pid.Kind, Name: pid.Name, Role: pid.Role, Via: "certificate"}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[*x509.Certificate]Identity{}
	}
	a.verified[leaf] = id
	a.mu.Unlock()
	return id, nil
}

// token checks a bearer token against the stored ones.
func (a *Authenticator) token(s string) (Identity, error) {
	tok, err := pki.ParseToken(s)
	if err != nil {
		return Anonymous, fmt.Errorf("bearer %w", err)
	}
	stored := a.Token(tok.ID)
	switch {
	case stored == nil || !pki.SecretMatches(tok.Secret, stored.SecretHash):
		return Anonymous, fmt.Errorf("token %s: unknown, or a wrong secret", tok.ID)
	case stored.Revoked:
		return Anonymous, fmt.Errorf("token %s: revoked", tok.ID)
	case !stored.Usable(a.now()):
		return Anonymous, fmt.Errorf("token %s: expired at %s", tok.ID, stored.Expires.UTC().Format(time.RFC3339))
	}
	id := Identity{Kind: pki.KindUser, Name: "token-" + tok.ID, Role: stored.Role, Via: "token"}
	if stored.Role == api.RoleAgent || stored.Role == api.RoleMaster {
		id.Kind, id.Name = KindJoiner, tok.ID
	}
	return id, nil
}

// JoinToken is what a join token allows: its role and, for an agent
// token bound to a node, that node's name.
func (a *Authenticator) JoinToken(id Identity) (role, node string) {
	if id.Kind != KindJoiner {
		return "", ""
	}
	if t := a.Token(id.Name); t != nil {
		return t.Role, t.Node
	}
	return "", ""
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Guard authenticates and authorizes every request of a handler, and
// records each in the audit log.
type Guard struct {
	Auth  *Authenticator
	Audit *AuditLog
}

// Wrap serves h to callers that rule allows: 401 for a request without
// valid credentials, 403 for one whose identity may not. A master's
// request that forwards another caller's acts as that caller.
func (g *Guard) Wrap(rule Rule, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		id, err := g.identify(r)
		switch {
		case err != nil && rule != Public:
			writeError(rec, r, http.StatusUnauthorized, err)
		case !rule.Allows(id):
			writeError(rec, r, http.StatusForbidden, fmt.Errorf("%s (role %q) may not %s %s: it takes %s", id, id.Role, r.Method, r.URL.Path, rule))
		default:
			h.ServeHTTP(rec, r.WithContext(WithIdentity(r.Context(), id)))
		}
		g.Audit.Record(r, id, rec.status())
	})
}

// identify authenticates the request and follows a master's forwarding.
func (g *Guard) identify(r *http.Request) (Identity, error) {
	id, err := g.Auth.Authenticate(r)
	if err != nil {
		return id, err
	}
	if fwd := r.Header.Get(ForwardedHeader); fwd != "" {
		if !id.IsMaster() {
			return Anonymous, fmt.Errorf("%s may not forward for others (header %s)", id, ForwardedHeader)
		}
		return decodeForwarded(fwd)
	}
	return id, nil
}

// writeError answers a refusal: as a Kubernetes Status on the Kubernetes
// API's paths (kubectl prints its message), else as berth's own error.
func writeError(w http.ResponseWriter, r *http.Request, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	}
	w.WriteHeader(status)
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/apis/") || r.URL.Path == "/api" || r.URL.Path == "/apis" {
		json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure,
			Message: err.Error(), Reason: metav1.StatusReason(http.StatusText(status)), Code: int32(status)})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// statusRecorder remembers the status a handler answered, for the audit
// log; it passes Flush on, which streamed logs need, and Hijack.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Flush sends what was written so far.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over to a protocol upgrade (exec, attach
// and port-forward over WebSocket, whose server asserts http.Hijacker
// rather than using http.ResponseController); the upgrade is audited as
// 101.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil && s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
