package kubeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
)

// Config configures a Server.
type Config struct {
	// Source gives the objects served.
	Source Source
	// Repo and Branch are where writes belong, named in the answer to
	// every write.
	Repo, Branch string
	// OpenSecret opens a sealed Secret for a caller who may read its
	// values; the others get them redacted.
	OpenSecret func(*corev1.Secret) (corev1.Secret, error)
	// SealedAnnotation marks a sealed Secret; it is not shown.
	SealedAnnotation string
	// History is how many changes back a watch may start (100,000 when
	// zero, the largest watch cache of kube-apiserver); older starts get
	// 410 Gone.
	History int
	// BookmarkEvery is how often a watch that asked for bookmarks gets
	// one (a minute when zero).
	BookmarkEvery time.Duration
	// Metrics asks every node's agent for its last readings (kubectl top).
	Metrics func(context.Context) []api.NodeStats
	// Logger receives the server's lines (slog.Default when nil).
	Logger *slog.Logger
}

// Server serves the Kubernetes API. Its cache starts on the first
// request; Close stops it.
type Server struct {
	cfg    Config
	cache  *cache
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    *slog.Logger
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.History <= 0 {
		cfg.History = 100000
	}
	if cfg.BookmarkEvery <= 0 {
		cfg.BookmarkEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, cache: newCache(cfg.Source, cfg.History), ctx: ctx, cancel: cancel, log: cfg.Logger}
}

// Close stops the cache and ends the watches.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Paths are the path prefixes the server answers under.
var Paths = []string{"/api", "/api/", "/apis", "/apis/", "/openapi/"}

// openAPI serves the OpenAPI documents, built on first use.
var openAPI = sync.OnceValue(openAPIHandler)

// ServeHTTP answers discovery and resource requests. The caller has
// authenticated the request (auth.From gives the identity).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := auth.From(r.Context())
	if !auth.View.Allows(id) && !id.IsMaster() {
		writeStatus(w, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("%s (role %q) may not use the Kubernetes API: it takes a user's kubeconfig (berth kubeconfig)", id, id.Role)))
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(path, "/openapi/"):
		openAPI().ServeHTTP(w, r)
	case path == "/api":
		s.discovery(w, r, coreGroups(), &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}})
	case path == "/apis":
		s.discovery(w, r, namedGroups(), apiGroupList())
	case path == "/api/v1":
		writeJSON(w, http.StatusOK, resourceList(schema.GroupVersion{Version: "v1"}))
	default:
		s.resourceRequest(w, r, path)
	}
}

// discovery answers /api or /apis in the form the client asks for.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request, gvs []schema.GroupVersion, legacy any) {
	if ct, ok := wantsAggregated(r); ok {
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Vary", "Accept")
		json.NewEncoder(w).Encode(aggregated(gvs))
		return
	}
	writeJSON(w, http.StatusOK, legacy)
}

func resourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	return &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "APIResourceList"}, GroupVersion: gv.String(),
		APIResources: apiResources(gv)}
}

// request is a parsed resource path.
type request struct {
	gv        schema.GroupVersion
	res       *resource
	plural    string
	namespace string
	name      string
	sub       string
}

// parse splits /api/v1/… or /apis/GROUP/VERSION/… into its parts; rest
// is empty for a group version's own path, and the version is empty for
// /apis/GROUP.
func parse(path string) (req request, rest []string, err error) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case segs[0] == "api" && len(segs) >= 2:
		req.gv, rest = schema.GroupVersion{Version: segs[1]}, segs[2:]
	case segs[0] == "apis" && len(segs) >= 3:
		req.gv, rest = schema.GroupVersion{Group: segs[1], Version: segs[2]}, segs[3:]
	case segs[0] == "apis" && len(segs) == 2:
		req.gv = schema.GroupVersion{Group: segs[1]}
		return req, nil, nil
	default:
		return req, nil, apierrors.NewNotFound(schema.GroupResource{}, path)
	}
	if len(rest) >= 3 && rest[0] == "namespaces" { // not /api/v1/namespaces[/NAME], the namespaces themselves
		req.namespace, rest = rest[1], rest[2:]
	}
	if len(rest) > 3 {
		return req, nil, apierrors.NewNotFound(schema.GroupResource{}, path)
	}
	if len(rest) > 0 {
		req.plural = rest[0]
	}
	if len(rest) > 1 {
		req.name = rest[1]
	}
	if len(rest) > 2 {
		req.sub = rest[2]
	}
	return req, rest, nil
}

func (s *Server) resourceRequest(w http.ResponseWriter, r *http.Request, path string) {
	req, rest, err := parse(path)
	if err != nil {
		writeStatus(w, err)
		return
	}
	if req.gv.Version == "" { // /apis/GROUP
		g := apiGroup(req.gv.Group)
		if len(g.Versions) == 0 {
			writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group}, ""))
			return
		}
		writeJSON(w, http.StatusOK, g)
		return
	}
	if !servesGroupVersion(req.gv) {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.gv.Version}, ""))
		return
	}
	if len(rest) == 0 {
		writeJSON(w, http.StatusOK, resourceList(req.gv))
		return
	}
	switch req.gv.Group {
	case "authorization.k8s.io":
		s.review(w, r, req)
		return
	case "metrics.k8s.io":
		s.cache.start(s.ctx, &s.wg)
		if s.cache.awaitFirst(r.Context()) {
			s.metrics(w, r, req)
		}
		return
	}
	req.res = byGVR[req.gv.WithResource(req.plural)]
	if req.res == nil || (req.namespace != "" && !req.res.namespaced) {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, req.name))
		return
	}
	if !req.res.serves(req.sub) {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.plural + "/" + req.sub}, req.name))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.refuseWrite(w, r, req)
		return
	}
	s.cache.start(s.ctx, &s.wg)
	if !s.cache.awaitFirst(r.Context()) {
		return
	}
	switch {
	case req.name == "" && isWatch(r):
		s.watch(w, r, req)
	case req.name == "":
		s.list(w, r, req)
	default:
		s.get(w, r, req)
	}
}

// refuseWrite answers every write: Git is berth's only write path.
func (s *Server) refuseWrite(w http.ResponseWriter, r *http.Request, req request) {
	err := apierrors.NewMethodNotSupported(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, strings.ToLower(r.Method))
	err.ErrStatus.Message = s.gitMessage()
	writeStatus(w, err)
}

// gitMessage tells the user where writes go.
func (s *Server) gitMessage() string {
	branch := s.cfg.Branch
	if branch == "" {
		branch = "(the branch HEAD names)"
	}
	return fmt.Sprintf("berth is driven by Git: commit to %s, branch %s", s.cfg.Repo, branch)
}

func isWatch(r *http.Request) bool {
	v := r.URL.Query().Get("watch")
	return v == "true" || v == "1"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeStatus answers an error as a metav1.Status.
func writeStatus(w http.ResponseWriter, err error) {
	st := apierrors.APIStatus(nil)
	if s, ok := err.(apierrors.APIStatus); ok {
		st = s
	} else {
		st = apierrors.NewInternalError(err)
	}
	status := st.Status()
	status.Kind, status.APIVersion = "Status", "v1"
	writeJSON(w, int(status.Code), status)
}
