package kubeapi

import (
	"bytes"
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

// FuzzRequest (seeds in testdata/fuzz) sends the API paths, queries and Accept headers a client
// controls: every answer is a status the API gives, never a panic.
func FuzzRequest(f *testing.F) {
	src := newTestSource()
	src.set(3, map[string][]Object{Pods: {pod("web-1", "node-0", map[string]string{"app": "web"}, corev1.PodRunning)}})
	s := New(Config{Source: src, Repo: "/srv/git/app"})
	defer s.Close()
	id := auth.Identity{Kind: pki.KindUser, Name: "alice", Role: api.RoleViewer}
	f.Fuzz(func(t *testing.T, path, query, accept string) {
		if !strings.HasPrefix(path, "/") || strings.Contains(query, "watch") {
			return // the mux gives only absolute paths; a watch would stream
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL = &url.URL{Path: path, RawQuery: query}
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
		switch w.Code {
		case http.StatusOK, http.StatusMovedPermanently, http.StatusBadRequest, http.StatusNotFound, http.StatusNotAcceptable, http.StatusGatewayTimeout, http.StatusGone:
		default:
			t.Fatalf("GET %s?%s (Accept %q): status %d: %s", path, query, accept, w.Code, w.Body.String())
		}
	})
}

// FuzzAccessReview posts access review bodies, JSON or protobuf: every
// answer is 201 or 400.
func FuzzAccessReview(f *testing.F) {
	src := newTestSource()
	src.set(3, nil)
	s := New(Config{Source: src, Repo: "/srv/git/app"})
	defer s.Close()
	id := auth.Identity{Kind: pki.KindUser, Name: "alice", Role: api.RoleOperator}
	f.Fuzz(func(t *testing.T, resource string, body []byte) {
		if resource != "selfsubjectaccessreviews" && resource != "selfsubjectrulesreviews" {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/apis/authorization.k8s.io/v1/"+resource, bytes.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
		if w.Code != http.StatusCreated && w.Code != http.StatusBadRequest {
			t.Fatalf("POST %s %q: status %d: %s", resource, body, w.Code, w.Body.String())
		}
	})
}
