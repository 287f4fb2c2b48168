// Package ui is berth's web UI, served by every master at /ui: the
// revision timeline (every commit, its outcome, errors and rollout), each
// revision's changes, a field-level diff between any two revisions, and
// the preview of a revert or a rollback. Pages are rendered on the server
// (html/template, embedded), so they read without scripts.
//
// A request that shows credentials (a client certificate, a bearer
// token) is served as it is; a browser without them signs in with a
// token, which the UI keeps in a Secure, HttpOnly cookie, never in a URL.
package ui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Source is what the UI reads: the revision log and the objects of a
// commit. The master implements it.
type Source interface {
	// Log is the revision log, oldest first.
	Log() []api.LogEntry
	// LiveCommit is the commit that is live ("" when none).
	LiveCommit() string
	// Objects are a commit's objects, as berth decodes them from Git.
	Objects(commit string) (*api.ObjectSet, error)
	// Cluster is the live cluster, with status: the nodes and pods of
	// every namespace, and, when namespace is set, that namespace's
	// workloads, Services, Ingresses and claims.
	Cluster(namespace string) *Cluster
	// Events are the events of an object; PodLog a pod's log, its last
	// tail lines then what it writes, until ctx ends.
	Events(namespace, kind, name string) []corev1.Event
	PodLog(ctx context.Context, namespace, pod string, tail int) (io.ReadCloser, error)
	// Index is the index of the last change of the pods or objects;
	// Wait returns once it passes after, or ctx ends.
	Index() uint64
	Wait(ctx context.Context, after uint64)
}

// Config is what a UI server needs.
type Config struct {
	Source Source
	// Auth checks the credentials a request shows; Audit records each
	// request (nil: none).
	Auth   *auth.Authenticator
	Audit  *auth.AuditLog
	Logger *slog.Logger
}

// Server serves the UI under Prefix.
type Server struct {
	cfg   Config
	pages *template.Template
	mux   *http.ServeMux
}

// Prefix is where the UI is served.
const Prefix = "/ui/"

// cookieName is the cookie that keeps a signed-in browser's token.
const cookieName = "berth_session"

// New makes a UI server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, pages: template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")), mux: http.NewServeMux()}
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET "+Prefix+"signin", s.signInPage)
	s.mux.HandleFunc("POST "+Prefix+"signin", s.signIn)
	s.mux.HandleFunc("POST "+Prefix+"signout", s.signOut)
	s.mux.Handle("GET "+Prefix+"{$}", s.authenticated(s.timeline))
	s.mux.Handle("GET "+Prefix+"revisions/{commit}", s.authenticated(s.revision))
	s.mux.Handle("GET "+Prefix+"diff", s.authenticated(s.diff))
	s.mux.Handle("GET "+Prefix+"cluster", s.authenticated(s.cluster))
	s.mux.Handle("GET "+Prefix+"namespaces/{namespace}", s.authenticated(s.namespace))
	s.mux.Handle("GET "+Prefix+"events", s.authenticated(s.events))
	s.mux.Handle("GET "+Prefix+"namespaces/{namespace}/pods/{pod}", s.authenticated(s.pod))
	s.mux.Handle("GET "+Prefix+"namespaces/{namespace}/pods/{pod}/log", s.authenticated(s.podLog))
	return s
}

// ServeHTTP serves the UI.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// authenticated serves h to a caller whose credentials check out (a
// viewer or more): the request's own, else the session cookie's token. A
// browser without any is sent to the sign-in page.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request, auth.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.identify(r)
		status := http.StatusOK
		switch {
		case errors.Is(err, auth.ErrNoCredentials):
			status = http.StatusSeeOther
			http.Redirect(w, r, Prefix+"signin", status)
		case err != nil:
			status = http.StatusUnauthorized
			s.render(w, status, "signin", page{Title: "Sign in", Error: "Your session no longer checks out: " + err.Error()})
		case !auth.View.Allows(id):
			status = http.StatusForbidden
			s.render(w, status, "signin", page{Title: "Sign in", Error: id.String() + " may not view the cluster"})
		default:
			h(w, r, id)
		}
		if s.cfg.Audit != nil {
			s.cfg.Audit.Record(r, id, status)
		}
	})
}

// identify authenticates the request's credentials, or its session
// cookie's token.
func (s *Server) identify(r *http.Request) (auth.Identity, error) {
	if (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) && r.Header.Get("Authorization") == "" {
		c, err := r.Cookie(cookieName)
		if err != nil || c.Value == "" {
			return auth.Anonymous, auth.ErrNoCredentials
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+c.Value)
	}
	return s.cfg.Auth.Authenticate(r)
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "signin", page{Title: "Sign in"})
}

// signIn checks the token of the sign-in form and keeps it in the
// session cookie.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	check := r.Clone(r.Context())
	check.Header.Set("Authorization", "Bearer "+token)
	check.TLS = nil
	id, err := s.cfg.Auth.Authenticate(check)
	if err == nil && !auth.View.Allows(id) {
		err = errors.New(id.String() + " may not view the cluster")
	}
	if token == "" || err != nil {
		msg := "Give a token (berth token create --role viewer)."
		if token != "" {
			msg = "That token does not check out: " + err.Error()
		}
		s.render(w, http.StatusUnauthorized, "signin", page{Title: "Sign in", Error: msg})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: Prefix, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// signOut forgets the session cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// page is what every template gets.
type page struct {
	Title string
	Who   string // the signed-in identity ("" on the sign-in page)
	Error string
	// Live pages follow the cluster's changes without a reload; Log
	// pages follow a pod's log.
	Live, Log bool
	Data      any
}

// render writes a page, or logs why it could not.
func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.pages.ExecuteTemplate(w, name, p); err != nil {
		s.cfg.Logger.Error("ui: rendering a page", "page", name, "err", err)
	}
}
