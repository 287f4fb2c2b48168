package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/pki"
)

// fakeSource is a revision log of n applied commits.
type fakeSource struct{ log []api.LogEntry }

func (f *fakeSource) Log() []api.LogEntry { return f.log }
func (f *fakeSource) LiveCommit() string  { return f.log[len(f.log)-1].Commit }
func (f *fakeSource) Objects(string) (*api.ObjectSet, error) {
	return &api.ObjectSet{}, nil
}
func (f *fakeSource) Cluster(string) *Cluster                      { return &Cluster{} }
func (f *fakeSource) Events(string, string, string) []corev1.Event { return nil }
func (f *fakeSource) PodLog(context.Context, string, string, int) (io.ReadCloser, error) {
	return nil, errors.New("no logs here")
}
func (f *fakeSource) Index() uint64                      { return 1 }
func (f *fakeSource) Wait(ctx context.Context, _ uint64) { <-ctx.Done() }

func newTestServer(t *testing.T, revisions int) (*Server, string) {
	t.Helper()
	tok, err := pki.NewToken(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	stored := &api.Token{TokenInfo: api.TokenInfo{ID: tok.ID, Role: api.RoleViewer}, SecretHash: pki.HashSecret(tok.Secret)}
	src := &fakeSource{}
	for i := range revisions {
		src.log = append(src.log, api.LogEntry{CommitInfo: api.CommitInfo{Commit: strings.Repeat(string(rune('a'+i%6)), 39) + string(rune('0'+i%10)), Message: "commit"},
			Outcome: api.OutcomeApplied})
	}
	a := &auth.Authenticator{Token: func(id string) *api.Token {
		if id == tok.ID {
			return stored
		}
		return nil
	}}
	return New(Config{Source: src, Auth: a}), tok.String()
}

// A browser without credentials is sent to sign in; a wrong token is
// refused there; the right one sets a Secure, HttpOnly cookie (never a
// URL parameter) with which the timeline is served.
func TestSignIn(t *testing.T) {
	s, token := newTestServer(t, 3)
	get := func(path string, cookie *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := get("/ui/", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/signin" {
		t.Fatalf("no credentials: %d to %q", w.Code, w.Header().Get("Location"))
	}
	post := func(tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/ui/signin", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := post(token + "x"); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "does not check out") {
		t.Fatalf("a wrong token: %d %s", w.Code, w.Body.String())
	}
	w := post(token)
	cookies := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || !cookies[0].Secure || strings.Contains(w.Header().Get("Location"), token) {
		t.Fatalf("signing in: %d, cookies %+v, location %q", w.Code, cookies, w.Header().Get("Location"))
	}
	page := get("/ui/", cookies[0])
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "aaaaaaa") || !strings.Contains(page.Body.String(), "Signed in as user:token-") {
		t.Fatalf("the timeline with the cookie: %d\n%s", page.Code, page.Body.String())
	}
}

// The timeline pages the log, newest first, 50 a page.
func TestTimelinePages(t *testing.T) {
	s, token := newTestServer(t, 120)
	page := func(n string) string {
		r := httptest.NewRequest(http.MethodGet, "/ui/?page="+n, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("page %s: %d", n, w.Code)
		}
		return w.Body.String()
	}
	first, last := page("1"), page("3")
	if got := strings.Count(first, `<tr class="applied">`); got != 50 {
		t.Errorf("page 1 has %d rows, want 50", got)
	}
	if got := strings.Count(last, `<tr class="applied">`); got != 20 {
		t.Errorf("page 3 has %d rows, want 20", got)
	}
	if !strings.Contains(first, "page 1 of 3") || !strings.Contains(last, `rel="prev"`) || strings.Contains(last, `rel="next"`) {
		t.Errorf("paging links are wrong")
	}
}

// A diff never shows a Secret's values.
func TestDiffHidesSecrets(t *testing.T) {
	got := redactSecrets([]api.FieldChange{{Object: "Secret/default/db", Field: "data.password", Old: "b2xk", New: "bmV3"},
		{Object: "ConfigMap/default/c", Field: "data.mode", Old: "a", New: "b"}})
	if got[0].Old != "(hidden)" || got[0].New != "(hidden)" || got[1].New != "b" {
		t.Fatalf("%+v", got)
	}
}
