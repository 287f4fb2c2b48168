package auth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/pki"
)

type fixture struct {
	ca     *pki.CA
	tokens map[string]*api.Token
	auth   *Authenticator
}

func newFixture(t testing.TB) *fixture {
	ca, err := pki.NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ca: ca, tokens: map[string]*api.Token{}}
	f.auth = &Authenticator{Pool: ca.Pool, Token: func(id string) *api.Token { return f.tokens[id] }}
	return f
}

func (f *fixture) token(t testing.TB, role string, mod func(*api.Token)) string {
	tok, err := pki.NewToken(f.ca.Hash())
	if err != nil {
		t.Fatal(err)
	}
	rec := &api.Token{TokenInfo: api.TokenInfo{ID: tok.ID, Role: role}, SecretHash: tok.SecretHash()}
	if mod != nil {
		mod(rec)
	}
	f.tokens[tok.ID] = rec
	return tok.String()
}

func (f *fixture) certRequest(t *testing.T, ca *pki.CA, id pki.Identity, lifetime time.Duration) *http.Request {
	certPEM, _, err := ca.Issue(pki.Request{Identity: id, Lifetime: lifetime}, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := pki.ParseCertificate(certPEM)
	r := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	return r
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	viewer := pki.Identity{Kind: pki.KindUser, Name: "ann", Role: api.RoleViewer}
	bearer := func(tok string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
	operatorToken := f.token(t, api.RoleOperator, nil)
	agentToken := f.token(t, api.RoleAgent, func(tk *api.Token) { tk.Node = "n0" })
	for _, c := range []struct {
		name     string
		r        *http.Request
		wantKind pki.Kind
		wantRole string
		wantErr  string
	}{
		{"no credentials", httptest.NewRequest(http.MethodGet, "/", nil), "", "", "no credentials"},
		{"viewer certificate", f.certRequest(t, f.ca, viewer, 2*time.Hour), pki.KindUser, api.RoleViewer, ""},
		{"expired certificate", f.certRequest(t, f.ca, viewer, time.Minute), "", "", "expired"},
		{"another CA", f.certRequest(t, other.ca, viewer, 2*time.Hour), "", "", "unknown authority"},
		{"operator token", bearer(operatorToken), pki.KindUser, api.RoleOperator, ""},
		{"agent token", bearer(agentToken), KindJoiner, api.RoleAgent, ""},
		{"wrong secret", bearer(otherLast(operatorToken)), "", "", "wrong secret"},
		{"revoked", bearer(f.token(t, api.RoleAdmin, func(tk *api.Token) { tk.Revoked = true })), "", "", "revoked"},
		{"expired token", bearer(f.token(t, api.RoleAdmin, func(tk *api.Token) { tk.Expires = time.Now().Add(-time.Minute) })), "", "", "expired"},
		{"no CA hash", bearer(operatorToken[strings.Index(operatorToken, "::")+2:]), "", "", "no CA hash"},
		{"basic auth", func() *http.Request { r := bearer(""); r.Header.Set("Authorization", "Basic eDp5"); return r }(), "", "", "want Bearer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := f.auth.Authenticate(c.r)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Authenticate = %v, %v; want an error with %q", id, err, c.wantErr)
				}
				return
			}
			if err != nil || id.Kind != c.wantKind || id.Role != c.wantRole {
				t.Fatalf("Authenticate = %+v, %v; want kind %s role %s", id, err, c.wantKind, c.wantRole)
			}
		})
	}
}

func TestRules(t *testing.T) {
	user := func(role string) Identity { return Identity{Kind: pki.KindUser, Name: "u", Role: role} }
	node := Identity{Kind: pki.KindNode, Name: "n0", Role: api.RoleAgent}
	master := Identity{Kind: pki.KindMaster, Name: "m0", Role: api.RoleMaster}
	joiner := Identity{Kind: KindJoiner, Name: "abcdef", Role: api.RoleAgent}
	fakeNode := Identity{Kind: pki.KindNode, Name: "n0", Role: api.RoleAdmin} // a node certificate claiming admin
	ids := []Identity{Anonymous, user(api.RoleViewer), user(api.RoleOperator), user(api.RoleAdmin), node, master, joiner, fakeNode}
	want := map[Rule]string{ // allowed, in the order of ids
		Public:     "YYYYYYYY",
		View:       "-YYY-Y--",
		Operate:    "--YY-Y--",
		Admin:      "---Y-Y--",
		NodeOnly:   "----YY--",
		NodeOrView: "-YYYYY--",
		MasterOnly: "-----Y--",
		Join:       "----YYY-",
	}
	for rule, w := range want {
		var got strings.Builder
		for _, id := range ids {
			if rule.Allows(id) {
				got.WriteByte('Y')
			} else {
				got.WriteByte('-')
			}
		}
		if got.String() != w {
			t.Errorf("rule %s allows %s, want %s (anonymous, viewer, operator, admin, node, master, joiner, node claiming admin)", rule, got.String(), w)
		}
	}
	if !user(api.RoleOperator).CanReadSecrets() || user(api.RoleViewer).CanReadSecrets() || node.CanReadSecrets() {
		t.Error("CanReadSecrets")
	}
}

func TestGuardForwardingAndAudit(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	g := &Guard{Auth: f.auth, Audit: NewAuditLog(&buf)}
	h := g.Wrap(Admin, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(From(r.Context()).String()))
	}))
	masterReq := func(fwd Identity) *http.Request {
		r := f.certRequest(t, f.ca, pki.Identity{Kind: pki.KindMaster, Name: "m1", Role: api.RoleMaster}, 2*time.Hour)
		r.Header.Set(ForwardedHeader, EncodeForwarded(fwd))
		r.Header.Set("X-Forwarded-For", "192.0.2.7")
		return r
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, masterReq(Identity{Kind: pki.KindUser, Name: "ann", Role: api.RoleViewer, Via: "certificate"}))
	if w.Code != http.StatusForbidden {
		t.Errorf("a viewer forwarded by a master to an admin endpoint: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, masterReq(Identity{Kind: pki.KindUser, Name: "root", Role: api.RoleAdmin, Via: "token"}))
	if w.Code != http.StatusOK || w.Body.String() != "user:root" {
		t.Errorf("an admin forwarded by a master: %d %s", w.Code, w.Body)
	}
	r := f.certRequest(t, f.ca, pki.Identity{Kind: pki.KindUser, Name: "ann", Role: api.RoleAdmin}, 2*time.Hour)
	r.Header.Set(ForwardedHeader, EncodeForwarded(Identity{Kind: pki.KindMaster, Name: "m0", Role: api.RoleMaster}))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("a user that forwards: %d %s", w.Code, w.Body)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("audit lines: %q", lines)
	}
	var e AuditEvent
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Identity != "user:root" || e.Role != api.RoleAdmin || e.Source != "192.0.2.7" || e.ForwardedBy == "" || e.Status != 200 || e.Outcome != "allowed" || e.Verb != "get" {
		t.Errorf("audit event: %+v", e)
	}
	if !strings.Contains(lines[0], `"outcome":"forbidden"`) || !strings.Contains(lines[2], `"outcome":"unauthenticated"`) {
		t.Errorf("audit outcomes:\n%s", buf.String())
	}
}

// otherLast changes the last character of a token to another one.
func otherLast(tok string) string {
	last := "0"
	if strings.HasSuffix(tok, last) {
		last = "1"
	}
	return tok[:len(tok)-1] + last
}

// FuzzAuthenticate: no Authorization header panics the authenticator, and
// none but a stored token's gets through.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f)
	good := fx.token(f, api.RoleViewer, nil)
	f.Add("Bearer " + good)
	f.Add("Bearer K10" + strings.Repeat("a", 64) + "::abcdef." + strings.Repeat("b", 32))
	f.Add("Basic dXNlcjpwYXNz")
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", header)
		id, err := fx.auth.Authenticate(r)
		if err == nil && id.Role != api.RoleViewer {
			t.Fatalf("header %q authenticated as %+v", header, id)
		}
	})
}

// TestVerifiedCertificateStillExpires: a certificate verified once is not
// verified again on the same connection, but still stops at its expiry.
func TestVerifiedCertificateStillExpires(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	f.auth.Now = func() time.Time { return now }
	r := f.certRequest(t, f.ca, pki.Identity{Kind: pki.KindNode, Name: "n1", Role: api.RoleAgent}, 2*time.Hour) // valid one more hour
	if id, err := f.auth.Authenticate(r); err != nil || id.Name != "n1" {
		t.Fatalf("first request: %v, %v", id, err)
	}
	if id, err := f.auth.Authenticate(r); err != nil || id.Name != "n1" {
		t.Fatalf("second request: %v, %v", id, err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := f.auth.Authenticate(r); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("a remembered certificate past its expiry: %v", err)
	}
}
