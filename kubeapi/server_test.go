package kubeapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/pki"
)

// testSource is a Source whose snapshots a test sets.
type testSource struct {
	mu      sync.Mutex
	snap    Snapshot
	changed chan struct{}
}

func newTestSource() *testSource { return &testSource{changed: make(chan struct{})} }

// set makes objs the state at index.
func (s *testSource) set(index uint64, objs map[string][]Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = Snapshot{Index: index, Objects: objs}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Snapshot copies the objects: the cache writes into what it gets.
func (s *testSource) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Index: s.snap.Index, Objects: map[string][]Object{}}
	for id, list := range s.snap.Objects {
		for _, o := range list {
			out.Objects[id] = append(out.Objects[id], o.DeepCopyObject().(Object))
		}
	}
	return out
}

func (s *testSource) Index() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.Index
}

func (s *testSource) Wait(ctx context.Context, after uint64) {
	for {
		s.mu.Lock()
		at, ch := s.snap.Index, s.changed
		s.mu.Unlock()
		if at > after {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

func pod(name, node string, labels map[string]string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels, UID: "uid-" + "name",
		CreationTimestamp: metav1.NewTime(time.Now().Add(-time.Minute))},
		Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "kubia:v1"}}},
		Status: corev1.PodStatus{Phase: phase, PodIP: "10.244.0.9"}}
}

// testServer serves the API with an identity of the role the request's
// X-Role header names (a node for "agent").
func testServer(t *testing.T, src *testSource) (*Server, *httptest.Server) {
	t.Helper()
	s := New(Config{Source: src, Repo: "/srv/git/app", Branch: "main", BookmarkEvery: 50 * time.Millisecond, History: 8,
		SealedAnnotation: "berth.dev/sealed-by"})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := r.Header.Get("X-Role")
		id := auth.Identity{Kind: pki.KindUser, Name: "alice", Role: role}
		if role == api.RoleAgent {
			id = auth.Identity{Kind: pki.KindNode, Name: "node-0", Role: role}
		}
		s.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
	})
	ts := httptest.NewServer(h)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

// get answers a GET as role, with an Accept header (JSON when empty).
func get(t *testing.T, ts *httptest.Server, role, path, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	req.Header.Set("X-Role", role)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func decodeInto(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
}

func TestDiscoveryListsOnlyReadVerbs(t *testing.T) {
	src := newTestSource()
	src.set(5, nil)
	_, ts := testServer(t, src)
	resp, body := get(t, ts, api.RoleViewer, "/api", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "as=APIGroupDiscoveryList") {
		t.Fatalf("aggregated discovery answered Content-Type %q", ct)
	}
	if !strings.Contains(body, `"resource":"pods"`) || !strings.Contains(body, `"categories":["all"]`) {
		t.Errorf("aggregated /api lacks pods in category all: %s", body)
	}
	_, body = get(t, ts, api.RoleViewer, "/api/v1", "")
	var list metav1.APIResourceList
	decodeInto(t, body, &list)
	for _, r := range list.APIResources {
		if r.Name == "pods/exec" || r.Name == "pods/attach" || r.Name == "pods/portforward" {
			continue // streams: create (POST, SPDY) and get (WebSocket), as in Kubernetes
		}
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("resource %s lists verb %q", r.Name, v)
			}
		}
	}
	_, body = get(t, ts, api.RoleViewer, "/apis", "")
	var groups metav1.APIGroupList
	decodeInto(t, body, &groups)
	names := map[string]bool{}
	for _, g := range groups.Groups {
		names[g.Name] = true
	}
	for _, want := range []string{"apps", "batch", "discovery.k8s.io", "events.k8s.io", "authorization.k8s.io"} {
		if !names[want] {
			t.Errorf("/apis lacks group %s: %s", want, body)
		}
	}
}

func TestListSelectorsAndTable(t *testing.T) {
	src := newTestSource()
	src.set(7, map[string][]Object{Pods: {
		pod("web-1", "node-0", map[string]string{"app": "web"}, corev1.PodRunning),
		pod("web-2", "node-1", map[string]string{"app": "web"}, corev1.PodPending),
		pod("db-1", "node-0", map[string]string{"app": "db"}, corev1.PodRunning),
	}})
	_, ts := testServer(t, src)
	_, body := get(t, ts, api.RoleViewer, "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dnode-0", "")
	var list corev1.PodList
	decodeInto(t, body, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "web-1" || list.ResourceVersion != "7" {
		t.Fatalf("app=web on node-0: %s", body)
	}
	resp, body := get(t, ts, api.RoleViewer, "/api/v1/pods?fieldSelector=spec.nodname%3Dx", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "field label not supported: spec.nodname") {
		t.Errorf("a misspelt field: %d %s", resp.StatusCode, body)
	}
	_, body = get(t, ts, api.RoleViewer, "/api/v1/pods?fieldSelector=status.phase%3DPending", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	var table metav1.Table
	decodeInto(t, body, &table)
	var cols []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			cols = append(cols, c.Name)
		}
	}
	if strings.Join(cols, ",") != "Name,Ready,Status,Restarts,Age" {
		t.Errorf("pod columns %v", cols)
	}
	if len(table.Rows) != 1 || table.Rows[0].Cells[0] != "web-2" || table.Rows[0].Cells[2] != "Pending" {
		t.Fatalf("Pending pods as a Table: %s", body)
	}
	var meta metav1.PartialObjectMetadata
	decodeInto(t, string(table.Rows[0].Object.Raw), &meta)
	if meta.Namespace != "default" || meta.Labels["app"] != "web" {
		t.Errorf("a row's object carries %s, want its metadata (kubectl -A and --show-labels read it)", table.Rows[0].Object.Raw)
	}
}

func TestWritesNameTheRepository(t *testing.T) {
	src := newTestSource()
	src.set(3, nil)
	_, ts := testServer(t, src)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := http.NewRequest(method, ts.URL+"/apis/apps/v1/namespaces/default/deployments/web", strings.NewReader("{}"))
		req.Header.Set("X-Role", api.RoleAdmin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var st metav1.Status
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || st.Kind != "Status" ||
			st.Message != "berth is driven by Git: commit to /srv/git/app, branch main" {
			t.Errorf("%s: %d %+v", method, resp.StatusCode, st)
		}
	}
}

func TestAgentsMayNotUseTheAPI(t *testing.T) {
	src := newTestSource()
	src.set(3, nil)
	_, ts := testServer(t, src)
	resp, body := get(t, ts, api.RoleAgent, "/api/v1/pods", "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "node:node-0") {
		t.Errorf("an agent's certificate: %d %s", resp.StatusCode, body)
	}
}

func TestSecretValuesShowOnlyToOperators(t *testing.T) {
	src := newTestSource()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", Annotations: map[string]string{"berth.dev/sealed-by": "k1"}},
		Data: map[string][]byte{"password": []byte("sealed")}}
	src.set(3, map[string][]Object{Secrets: {sec}})
	s, ts := testServer(t, src)
	s.cfg.OpenSecret = func(in *corev1.Secret) (corev1.Secret, error) {
		out := *in.DeepCopy()
		out.Data["password"] = []byte("hunter2")
		delete(out.Annotations, "berth.dev/sealed-by")
		return out, nil
	}
	for role, want := range map[string]string{api.RoleViewer: api.Redacted, api.RoleOperator: "hunter2"} {
		_, body := get(t, ts, role, "/api/v1/namespaces/default/secrets/db", "")
		var got corev1.Secret
		decodeInto(t, body, &got)
		if string(got.Data["password"]) != want || got.Annotations["berth.dev/sealed-by"] != "" {
			t.Errorf("%s reads password %q (annotations %v), want %q", role, got.Data["password"], got.Annotations, want)
		}
	}
}

func TestAccessReviewDeniesWrites(t *testing.T) {
	src := newTestSource()
	src.set(3, nil)
	_, ts := testServer(t, src)
	review := func(role, verb, resource, sub string) (bool, string) {
		body := `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"` + verb +
			`","resource":"` + resource + `","subresource":"` + sub + `","namespace":"default"}}}`
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", strings.NewReader(body))
		req.Header.Set("X-Role", role)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Status struct {
				Allowed bool   `json:"allowed"`
				Reason  string `json:"reason"`
			} `json:"status"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return out.Status.Allowed, out.Status.Reason
	}
	if ok, why := review(api.RoleAdmin, "create", "pods", ""); ok || !strings.Contains(why, "commit to /srv/git/app") {
		t.Errorf("create pods: allowed %v, %q", ok, why)
	}
	if ok, _ := review(api.RoleViewer, "list", "pods", ""); !ok {
		t.Error("a viewer may not list pods")
	}
	if ok, _ := review(api.RoleViewer, "create", "pods", "exec"); ok {
		t.Error("a viewer may exec")
	}
	if ok, _ := review(api.RoleOperator, "create", "pods", "exec"); !ok {
		t.Error("an operator may not exec")
	}
}

// watchLines reads a watch's events as they come.
type watchLines struct {
	t    *testing.T
	body io.ReadCloser
	sc   *bufio.Scanner
}

func openWatch(t *testing.T, ts *httptest.Server, path string) *watchLines {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	req.Header.Set("X-Role", api.RoleViewer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("watch %s: %d %s", path, resp.StatusCode, b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &watchLines{t: t, body: resp.Body, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event that is not a bookmark (unless
// bookmarks), failing after 10 s.
func (w *watchLines) next(bookmarks bool) (string, metav1.PartialObjectMetadata) {
	w.t.Helper()
	done := make(chan struct{})
	timer := time.AfterFunc(10*time.Second, func() { w.body.Close(); close(done) })
	defer timer.Stop()
	for w.sc.Scan() {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		decodeInto(w.t, w.sc.Text(), &ev)
		var m metav1.PartialObjectMetadata
		json.Unmarshal(ev.Object, &m)
		if ev.Type == "BOOKMARK" && !bookmarks {
			continue
		}
		return ev.Type, m
	}
	w.t.Fatal("the watch ended without the event awaited")
	return "", metav1.PartialObjectMetadata{}
}

func TestWatchFollowsChangesFromAResourceVersion(t *testing.T) {
	src := newTestSource()
	web := pod("web-1", "node-0", map[string]string{"app": "web"}, corev1.PodPending)
	src.set(10, map[string][]Object{Pods: {web}})
	_, ts := testServer(t, src)
	_, body := get(t, ts, api.RoleViewer, "/api/v1/pods", "")
	var list corev1.PodList
	decodeInto(t, body, &list)

	w := openWatch(t, ts, "/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true&labelSelector=app%3Dweb&resourceVersion="+list.ResourceVersion)
	running := web.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	src.set(12, map[string][]Object{Pods: {running}})
	if typ, m := w.next(false); typ != "MODIFIED" || m.ResourceVersion != "12" {
		t.Fatalf("after the pod runs: %s rv %s", typ, m.ResourceVersion)
	}
	relabelled := running.DeepCopy()
	relabelled.Labels["app"] = "other"
	src.set(13, map[string][]Object{Pods: {relabelled}})
	if typ, m := w.next(false); typ != "DELETED" || m.Name != "web-1" {
		t.Fatalf("a pod that leaves the selector: %s %s", typ, m.Name)
	}
	if typ, m := w.next(true); typ != "BOOKMARK" || m.ResourceVersion != "13" {
		t.Fatalf("bookmark: %s rv %s", typ, m.ResourceVersion)
	}
}

func TestWatchTooOldIsGone(t *testing.T) {
	src := newTestSource()
	_, ts := testServer(t, src)
	src.set(10, map[string][]Object{})
	get(t, ts, api.RoleViewer, "/api/v1/pods", "") // starts the cache at 10
	var pods []Object
	for i := uint64(11); i <= 30; i++ { // more changes than History (8) keeps
		pods = append(pods, pod("p-"+strings.Repeat("x", int(i)), "", nil, corev1.PodPending))
		src.set(i, map[string][]Object{Pods: pods})
		if resp, _ := get(t, ts, api.RoleViewer, "/api/v1/pods?resourceVersion="+strconv.FormatUint(i, 10), ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("list at %d: %d", i, resp.StatusCode)
		}
	}
	w := openWatch(t, ts, "/api/v1/pods?watch=true&resourceVersion=10")
	typ, _ := w.next(false)
	if typ != "ERROR" {
		t.Fatalf("a watch from a resourceVersion older than the kept changes got %s, want ERROR (410)", typ)
	}
	// No Deployment change was dropped: a watch of Deployments from the
	// same resourceVersion goes on (the pods' changes do not age it).
	_, body := get(t, ts, api.RoleViewer, "/apis/apps/v1/deployments?watch=true&resourceVersion=10&timeoutSeconds=1", "")
	if strings.Contains(body, "ERROR") {
		t.Errorf("a Deployment watch ended by the pods' dropped changes: %s", body)
	}
}

func TestWatchListSendsInitialEventsThenABookmark(t *testing.T) {
	src := newTestSource()
	src.set(4, map[string][]Object{Pods: {pod("a", "", nil, corev1.PodPending), pod("b", "", nil, corev1.PodPending)}})
	_, ts := testServer(t, src)
	w := openWatch(t, ts, "/api/v1/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
	for _, want := range []string{"a", "b"} {
		if typ, m := w.next(false); typ != "ADDED" || m.Name != want {
			t.Fatalf("initial event %s %s, want ADDED %s", typ, m.Name, want)
		}
	}
	typ, m := w.next(true)
	if typ != "BOOKMARK" || m.Annotations[initialEventsEnd] != "true" || m.ResourceVersion != "4" {
		t.Fatalf("after the initial events: %s %+v", typ, m.ObjectMeta)
	}
}

func TestTooLargeResourceVersion(t *testing.T) {
	src := newTestSource()
	src.set(4, nil)
	_, ts := testServer(t, src)
	resp, body := get(t, ts, api.RoleViewer, "/apis/apps/v1/deployments?resourceVersion=99", "")
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "Too large resource version") {
		t.Errorf("a list at a future resourceVersion: %d %s", resp.StatusCode, body)
	}
}

func TestScaleSubresource(t *testing.T) {
	src := newTestSource()
	three := int32(3)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:   appsv1.DeploymentSpec{Replicas: &three, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: appsv1.DeploymentStatus{Replicas: 2}}
	src.set(4, map[string][]Object{Deployments: {d}})
	_, ts := testServer(t, src)
	_, body := get(t, ts, api.RoleViewer, "/apis/apps/v1/namespaces/default/deployments/web/scale", "")
	if !strings.Contains(body, `"kind":"Scale"`) || !strings.Contains(body, `"spec":{"replicas":3}`) || !strings.Contains(body, `"selector":"app=web"`) {
		t.Errorf("scale: %s", body)
	}
	resp, _ := get(t, ts, api.RoleViewer, "/apis/apps/v1/namespaces/default/deployments/web/rollback", "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unserved subresource: %d", resp.StatusCode)
	}
}
