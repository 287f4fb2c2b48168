package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/kubeapi"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
	"github.com/berth-dev/berth/ui"
)

// maxWait caps the wait of a blocking query.
const maxWait = 5 * time.Minute

// routes are the API's endpoints, each with the rule its callers must
// meet. Every endpoint but the local ones goes to the leader unless this
// master leads (see forwarding).
func (m *Master) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, rule auth.Rule, f http.HandlerFunc) {
		mux.Handle(pattern, m.guard.Wrap(rule, m.forwarding(f)))
	}
	local := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, m.guard.Wrap(auth.Public, f)) }
	local("GET "+api.PathCA, m.handleCA)
	local("GET "+api.PathHealthz, m.handleHealth)
	local("GET "+api.PathLivez, m.handleHealth)
	local("GET "+api.PathReadyz, m.handleReady)
	local("GET "+api.PathVersion, m.handleVersion)
	handle("GET "+api.PathStatus, auth.View, m.handleStatus)
	handle("GET "+api.PathPods, auth.View, m.handlePods)
	for path := range workloadLists {
		handle("GET "+path, auth.View, m.handleWorkloads(path))
	}
	handle("GET "+api.PathNodes, auth.View, m.handleNodes)
	mux.Handle("GET "+api.PathMetrics, m.guard.Wrap(auth.View, m.prom.handler())) // this master's, not the leader's
	mux.Handle(ui.Prefix, m.ui)                                                   // it authenticates itself (a browser signs in)
	mux.Handle("GET /ui", http.RedirectHandler(ui.Prefix, http.StatusMovedPermanently))
	mux.Handle("GET "+api.PathNodes+"/{node}/metrics", m.guard.Wrap(auth.View, http.HandlerFunc(m.handleNodeMetrics)))
	handle("DELETE "+api.PathNodes+"/{name}", auth.Admin, m.handleRemoveNode)
	handle("GET "+api.PathServices, auth.View, m.handleServices)
	handle("GET "+api.PathEndpoints, auth.View, m.handleEndpoints)
	handle("GET "+api.PathIngresses, auth.View, m.handleIngresses)
	handle("GET "+api.PathGateways, auth.View, m.handleGateways)
	handle("GET "+api.PathHTTPRoutes, auth.View, m.handleHTTPRoutes)
	handle("GET "+api.PathStorageClasses, auth.View, m.handleStorageClasses)
	handle("GET "+api.PathPersistentVolumes, auth.View, m.handlePersistentVolumes)
	handle("GET "+api.PathPersistentVolumeClaims, auth.View, m.handlePersistentVolumeClaims)
	handle("GET "+api.PathEndpointSlices, auth.View, m.handleEndpointSlices)
	handle("GET "+api.PathServiceTable, auth.NodeOrView, m.handleServiceTable)
	handle("GET "+api.PathRevisions, auth.View, m.handleRevisions)
	handle("GET "+api.PathEvents, auth.View, m.handleEvents)
	handle("POST "+api.PathRegister, auth.NodeOnly, m.handleRegister)
	handle("POST "+api.PathHeartbeat, auth.NodeOnly, m.handleHeartbeat)
	handle("POST "+api.PathReport, auth.NodeOnly, m.handleReport)
	handle("GET "+api.PathAssignments+"{node}", auth.NodeOnly, m.handleAssignments)
	handle("GET "+api.PathLogs+"{namespace}/{pod}", auth.Operate, m.handleLogs)
	handle("GET /api/v1/namespaces/{namespace}/pods/{pod}/log", auth.Operate, m.handleLogs)
	for sub := range streamPaths { // any master proxies (exec and port-forward are long connections)
		mux.Handle("/api/v1/namespaces/{namespace}/pods/{pod}/"+sub, m.guard.Wrap(auth.Operate, m.handleStream(sub)))
	}
	handle("POST "+PathWebhook, auth.Public, m.handleWebhook) // checked by its HMAC
	handle("POST "+api.PathPlan, auth.Operate, m.handlePlan)
	handle("GET "+api.PathMembers, auth.View, m.handleMembers)
	handle("GET "+api.PathSelf, auth.View, m.handleSelf)
	handle("POST "+api.PathJoin, auth.MasterOnly, m.handleJoin)
	handle("DELETE "+api.PathMembers+"/{name}", auth.Admin, m.handleRemoveMember)
	// Any master signs (it holds the CA); a node's CSR goes to the leader,
	// which pins the name (handleCertificates).
	mux.Handle("POST "+api.PathCertificates, m.guard.Wrap(auth.Join, http.HandlerFunc(m.handleCertificates)))
	mux.Handle("GET "+api.PathClusterSecrets, m.guard.Wrap(auth.MasterOnly, http.HandlerFunc(m.handleClusterSecrets)))
	handle("GET "+api.PathTokens, auth.Admin, m.handleTokens)
	handle("POST "+api.PathTokens, auth.Admin, m.handleCreateToken)
	handle("DELETE "+api.PathTokens+"/{id}", auth.Admin, m.handleRevokeToken)
	handle("POST "+api.PathKubeconfig, auth.Admin, m.handleKubeconfig)
	handle("GET "+api.PathKeys, auth.Admin, m.handleKeys)
	handle("POST "+api.PathKeys+"/rotate", auth.Admin, m.handleRotateKey)
	handle("GET "+api.PathWhoAmI, auth.Authenticated, m.handleWhoAmI)
	// The Kubernetes API, served by every master from its own store (it
	// checks roles itself, and answers in metav1.Status).
	for _, p := range kubeapi.Paths {
		mux.Handle(p, m.guard.Wrap(auth.Authenticated, m.kube))
	}
	return mux
}

// newServer is the API's HTTP server. Its timeouts leave no room for
// slowloris: headers must arrive within 10 s, a body within bodyTimeout
// (see decode), and idle connections close after two minutes. There is
// no overall read timeout, which would cut the long polls.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: stdlog.New(serverErrors{log}, "", 0)}
}

// serverErrors logs the HTTP server's own errors: TLS handshake errors
// (scanners, plain HTTP) at debug level, anything else, such as a
// handler's panic, as an error.
type serverErrors struct{ log *slog.Logger }

func (e serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") {
		e.log.Debug(msg)
	} else {
		e.log.Error(msg)
	}
	return len(p), nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// blockingQuery parses ?index=N&wait=D into a context that ends after the
// wait plus a little jitter, so that many waiters do not wake at once.
func blockingQuery(r *http.Request) (uint64, context.Context, context.CancelFunc, error) {
	q := r.URL.Query()
	if q.Get("index") == "" {
		return 0, r.Context(), func() {}, nil
	}
	index, err := strconv.ParseUint(q.Get("index"), 10, 64)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("query parameter index=%q: not a number", q.Get("index"))
	}
	wait := 30 * time.Second
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil {
			return 0, nil, nil, fmt.Errorf("query parameter wait=%q: %v", s, err)
		}
	}
	wait = min(wait, maxWait)
	wait += time.Duration(rand.Int64N(int64(wait/16) + 1))
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	return index, ctx, cancel, nil
}

func (m *Master) handleStatus(w http.ResponseWriter, r *http.Request) {
	index, ctx, cancel, err := blockingQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer cancel()
	if index > 0 {
		m.store.WaitChange(ctx, index)
	}
	// The blocking query's wait may be over: the status itself is bounded
	// by the request's own context.
	s := m.cachedStatus(r.Context(), index)
	s.Masters, _ = m.masters()
	s.Format = m.store.ClusterFormat()
	writeJSON(w, s)
}

// statusCache bounds what status costs (a reconcile pass over every pod):
// it is computed at most once per interval, twice as long as the last
// computation took and at least statusMinInterval; callers in between get
// the same answer. A blocking query still gets a status newer than its
// index.
type statusCache struct {
	mu   sync.Mutex
	at   time.Time
	took time.Duration
	s    *api.Status
}

const statusMinInterval = 50 * time.Millisecond

// statusOwnPassBelow: while the leader's reconcile passes cost less than
// this, status runs a pass of its own (the answer comes at once); above
// it, status waits for the leader's next pass and takes its verdict,
// rather than adding a pass of the same cost.
var statusOwnPassBelow = 10 * time.Millisecond

func (m *Master) cachedStatus(ctx context.Context, after uint64) api.Status {
	if p := m.leaderPass(ctx, after); p != nil {
		return p.status(func() api.Status { return m.status(p.view, p.now, p.converged) })
	}
	c := &m.statusCache
	c.mu.Lock()
	defer c.mu.Unlock()
	interval := max(statusMinInterval, 2*c.took)
	if c.s != nil && time.Since(c.at) < interval && (after == 0 || c.s.Index > after) {
		return *c.s
	}
	if c.s != nil {
		if wait := interval - time.Since(c.at); wait > 0 {
			time.Sleep(wait) // callers queue on the lock and share the next answer
		}
	}
	start := time.Now()
	v := m.store.View(false)
	s := m.status(v, start, func() bool { return reconciler.Converged(m.input(v, start), start) })
	c.s, c.at, c.took = &s, start, time.Since(start)
	return s
}

// leaderPass returns the leader's pass to answer a status newer than
// after from (the latest, for after 0 or when nothing changed since
// after), when this master leads and its passes cost at least
// statusOwnPassBelow; nil when status should run its own pass (also when
// the pass does not come within 5 s and four times the last one's cost:
// the loop also commits its plan and rests between passes).
func (m *Master) leaderPass(ctx context.Context, after uint64) *pass {
	last := m.passes.latest()
	if last == nil || last.took < statusOwnPassBelow || !m.store.IsLeader() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second+4*last.took)
	defer cancel()
	return m.passes.await(ctx, min(after+1, m.store.Index()))
}

// status summarises the state for `berth status`; converged tells whether
// that state has converged.
func (m *Master) status(v raftstore.View, now time.Time, converged func() bool) api.Status {
	s := api.Status{LiveCommit: v.LiveCommit, SeenCommit: v.SeenCommit, Index: v.Index, Rejected: []api.Rejection{}}
	s.Converged = converged()
	s.Failures = reconciler.Failures(m.input(v, now))
	log := m.store.Log()
	for i := len(log) - 1; i >= 0; i-- {
		if e := log[i]; e.Outcome == api.OutcomeRejected {
			s.Rejected = append(s.Rejected, api.Rejection{Commit: e.Commit, Errors: e.Errors})
		}
	}
	nodes, timeout := m.creditedNodes(v, now), m.nodeTimeout(v)
	pods := reconciler.MarkPodsNotReady(v.Pods, nodes, now, timeout)
	for i := range pods {
		s.Pods++
		if reconciler.PodReady(&pods[i]) {
			s.ReadyPods++
		}
	}
	for i := range nodes {
		s.Nodes++
		if nodes[i].ReadyWithin(now, timeout) && nodes[i].NetworkReady() {
			s.ReadyNodes++
		}
	}
	return s
}

func inNamespace(r *http.Request, ns string) bool {
	want := r.URL.Query().Get("namespace")
	return want == "" || want == ns
}

func (m *Master) handlePods(w http.ResponseWriter, r *http.Request) {
	v := m.store.View(false)
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, Items: []corev1.Pod{}}
	now := time.Now()
	for _, p := range reconciler.MarkPodsNotReady(v.Pods, m.creditedNodes(v, now), now, m.nodeTimeout(v)) {
		if inNamespace(r, p.Namespace) {
			p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
			list.Items = append(list.Items, p)
		}
	}
	writeJSON(w, list)
}

// workloadLists answers the list of each workload kind, with status.
var workloadLists = map[string]func(w *reconciler.Workloads, keep func(ns string) bool) any{
	api.PathDeployments: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("apps/v1", "Deployment", w.Deployments, keep)
	},
	api.PathReplicaSets: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("apps/v1", "ReplicaSet", w.ReplicaSets, keep)
	},
	api.PathReplicationControllers: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("v1", "ReplicationController", w.ReplicationControllers, keep)
	},
	api.PathDaemonSets: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("apps/v1", "DaemonSet", w.DaemonSets, keep)
	},
	api.PathStatefulSets: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("apps/v1", "StatefulSet", w.StatefulSets, keep)
	},
	api.PathJobs: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("batch/v1", "Job", w.Jobs, keep)
	},
	api.PathCronJobs: func(w *reconciler.Workloads, keep func(string) bool) any {
		return kubeList("batch/v1", "CronJob", w.CronJobs, keep)
	},
}

// list is the JSON shape of every Kubernetes list (DeploymentList, …).
type list[T any] struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []T `json:"items"`
}

// kubeObject is a pointer to a Kubernetes object type.
type kubeObject[T any] interface {
	*T
	GetNamespace() string
	GetObjectKind() schema.ObjectKind
}

// kubeList is the list of the items in the namespaces keep accepts, each
// with its apiVersion and kind.
func kubeList[T any, P kubeObject[T]](apiVersion, kind string, items []T, keep func(string) bool) list[T] {
	l := list[T]{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind + "List"}, Items: []T{}}
	for _, o := range items {
		p := P(&o)
		if keep(p.GetNamespace()) {
			p.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
			l.Items = append(l.Items, o)
		}
	}
	return l
}

// handleWorkloads answers the list of the workload kind at path.
func (m *Master) handleWorkloads(path string) http.HandlerFunc {
	list := workloadLists[path]
	return func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		ws := reconciler.WorkloadStatus(m.input(m.store.View(false), now), now)
		writeJSON(w, list(ws, func(ns string) bool { return inNamespace(r, ns) }))
	}
}

func (m *Master) handleNodes(w http.ResponseWriter, r *http.Request) {
	list := corev1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"}, Items: m.kubeNodes(m.store.View(false), time.Now())}
	writeJSON(w, list)
}

// handleEvents lists the kept events as a Kubernetes EventList, filtered
// by ?namespace= and ?for=Kind/name (kind as in "pod/web-1").
func (m *Master) handleEvents(w http.ResponseWriter, r *http.Request) {
	kind, name, _ := strings.Cut(r.URL.Query().Get("for"), "/")
	events := m.store.Events(func(e *corev1.Event) bool {
		return inNamespace(r, e.Namespace) &&
			(kind == "" || (strings.EqualFold(e.InvolvedObject.Kind, kind) && e.InvolvedObject.Name == name))
	})
	writeJSON(w, corev1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "EventList"}, Items: events})
}

func (m *Master) handleRevisions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, m.store.Log())
}

// maxBody is the largest request body a master reads; bodyTimeout is how
// long it waits for one.
const (
	maxBody     = 16 << 20
	bodyTimeout = 30 * time.Second
)

// decode reads a JSON body of at most maxBody within bodyTimeout.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout))
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v)
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	if err != nil {
		status := http.StatusBadRequest
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, fmt.Errorf("request body of %s: %w", r.URL.Path, err))
		return false
	}
	return true
}

// writeResult answers a write: 503 when this master cannot write.
func writeResult(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		writeJSON(w, map[string]string{})
	case errors.Is(err, raftstore.ErrNotLeader):
		writeError(w, http.StatusServiceUnavailable, err)
	case errors.Is(err, raftstore.ErrUnknownNode):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, raftstore.ErrFormatOff):
		writeError(w, http.StatusConflict, err)
	default:
		writeError(w, http.StatusInternalServerError, err)
	}
}

func (m *Master) handleRegister(w http.ResponseWriter, r *http.Request) {
	var reg api.Registration
	if !decode(w, r, &reg) {
		return
	}
	if reg.Name == "" {
		writeError(w, http.StatusBadRequest, errors.New("registration: name is required"))
		return
	}
	if err := auth.OwnNode(r.Context(), reg.Name); err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	_, err := m.store.RegisterNode(&reg)
	if err == nil {
		m.log.Info("node registered", "name", reg.Name, "address", reg.Address, "by", auth.From(r.Context()).String())
	}
	writeResult(w, err)
}

// handleRemoveNode forgets a node, as `kubectl delete node` does: the
// reconciler then deletes its pods, and an agent that still runs
// registers again.
func (m *Master) handleRemoveNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	_, err := m.store.RemoveNode(name)
	if err == nil {
		m.log.Info("node removed", "name", name)
	}
	writeResult(w, err)
}

func (m *Master) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	var hb api.Heartbeat
	if !decode(w, r, &hb) {
		return
	}
	if err := auth.OwnNode(r.Context(), hb.Name); err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	answer, err := m.heartbeat(hb.Name)
	if err != nil {
		writeResult(w, err)
		return
	}
	writeJSON(w, answer)
}

func (m *Master) handleReport(w http.ResponseWriter, r *http.Request) {
	var b api.StatusBatch
	if !decode(w, r, &b) {
		return
	}
	if err := auth.OwnNode(r.Context(), b.Node); err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	if auth.From(r.Context()).IsNode() {
		b.Events = m.ownEvents(b.Node, b.Events) // the FSM drops reports of pods on other nodes
	}
	writeResult(w, m.report(r.Context(), &b))
}

func (m *Master) handleAssignments(w http.ResponseWriter, r *http.Request) {
	index, ctx, cancel, err := blockingQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer cancel()
	if err := auth.OwnNode(r.Context(), r.PathValue("node")); err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	as := m.store.NodePods(ctx, r.PathValue("node"), index)
	if as.PodCIDR != "" {
		as.ClusterCIDR = m.cfg.PodNetwork.ClusterCIDR.String()
	}
	as.ClusterDNS, as.ClusterDomain = m.cfg.Services.DNS.String(), m.cfg.Services.Domain
	m.withConfig(&as, m.store.Desired())
	writeJSON(w, as)
}

// withConfig adds the ConfigMaps and Secrets the assigned pods reference,
// the Secrets in plaintext (over TLS, to their node only).
func (m *Master) withConfig(as *api.Assignments, desired *api.ObjectSet) {
	cms, secs := map[string]bool{}, map[string]bool{}
	for i := range as.Pods {
		c, s := api.References(&as.Pods[i])
		for _, k := range c {
			cms[k] = true
		}
		for _, k := range s {
			secs[k] = true
		}
	}
	for _, cm := range desired.ConfigMaps {
		if cms[api.Key(cm.Namespace, cm.Name)] {
			as.ConfigMaps = append(as.ConfigMaps, cm)
		}
	}
	for i := range desired.Secrets {
		s := &desired.Secrets[i]
		if !secs[api.Key(s.Namespace, s.Name)] {
			continue
		}
		plain, err := m.openSecret(s)
		if err != nil { // the pod waits with CreateContainerConfigError, as for a missing Secret
			m.log.Error("cannot open a Secret for a node", "secret", api.Key(s.Namespace, s.Name), "err", err)
			continue
		}
		as.Secrets = append(as.Secrets, plain)
	}
}

// handleLogs proxies a log request to the agent of the pod's node.
func (m *Master) handleLogs(w http.ResponseWriter, r *http.Request) {
	nodeName, addr, status, err := m.podAgent(r.PathValue("namespace"), r.PathValue("pod"))
	if err != nil {
		writeError(w, status, err)
		return
	}
	target := "https://" + addr + api.AgentPathLogs + url.PathEscape(r.PathValue("namespace")) + "/" + url.PathEscape(r.PathValue("pod")) + "?" + r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	agent := m.agentClient(nodeName)
	defer agent.CloseIdleConnections()
	resp, err := agent.Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Errorf("reading logs from node %s at %s: %w", nodeName, addr, err))
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body)
}

// copyFlushing copies a (possibly endless) stream, flushing each chunk.
func copyFlushing(w http.ResponseWriter, r io.Reader) {
	f, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// handlePlan decodes manifests as a commit would be and answers what
// applying them would do, without applying anything.
func (m *Master) handlePlan(w http.ResponseWriter, r *http.Request) {
	var req api.PlanRequest
	if !decode(w, r, &req) {
		return
	}
	files := make([]manifest.File, len(req.Files))
	for i, f := range req.Files {
		files[i] = manifest.File{Name: f.Name, Data: f.Data}
	}
	set, errs := manifest.DecodeWithLimits(files, m.cfg.Git.Limits)
	if len(errs) > 0 {
		out := api.DryRun{}
		for _, e := range errs {
			out.Errors = append(out.Errors, e.Error())
		}
		writeJSON(w, out)
		return
	}
	now := time.Now()
	writeJSON(w, reconciler.DryRun(m.input(m.store.View(false), now), set, now))
}

// ownEvents keeps the events an agent may write: about its own node, or
// about pods bound to it.
func (m *Master) ownEvents(node string, events []corev1.Event) []corev1.Event {
	kept := events[:0]
	for _, e := range events {
		o := e.InvolvedObject
		if (o.Kind == "Node" && o.Name == node) || (o.Kind == "Pod" && m.store.PodNode(api.Key(o.Namespace, o.Name)) == node) {
			kept = append(kept, e)
		}
	}
	return kept
}
