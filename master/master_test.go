package master

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/gitsource"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/pki"
)

const deployYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: kubia:v1
`

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startMaster runs a master on a fresh repository and returns a client.
// edit may change the config (the repository is already set).
func startMaster(t *testing.T, edit ...func(*Config)) (*client.Client, string) {
	t.Helper()
	repo := testutil.GitRepo(t)
	testutil.GitCommit(t, repo, "README.md", "hi\n")
	git := gitsource.DefaultConfig()
	git.Repo = repo
	cfg := Config{Name: "m0", DataDir: t.TempDir(), RaftAddr: freeAddr(t), Listen: "127.0.0.1:0",
		Bootstrap: true, Git: git, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, e := range edit {
		e(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	c := clientAs(t, cfg.DataDir, m.Addr(), pki.Identity{Kind: pki.KindMaster, Name: "test", Role: api.RoleMaster})
	dataDirs.Store(c, cfg.DataDir)
	return c, repo
}

// dataDirs maps the clients startMaster returns to their master's data
// directory.
var dataDirs sync.Map

// anonymous is an HTTPS client without credentials that trusts the CA of
// the master of c.
func anonymous(t *testing.T, c *client.Client) *http.Client {
	t.Helper()
	dir, _ := dataDirs.Load(c)
	ca, err := pki.LoadCA(filepath.Join(dir.(string), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientConfig(ca.Pool(), nil)}}
}

// clientAs is a client of the master at addr with a certificate of id,
// issued by the CA in the master's data directory.
func clientAs(t *testing.T, dataDir, addr string, id pki.Identity) *client.Client {
	t.Helper()
	ca, err := pki.LoadCA(filepath.Join(dataDir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueTLS(pki.Request{Identity: id, Lifetime: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New([]string{addr}, client.WithTLS(pki.ClientConfig(ca.Pool(), func() *tls.Certificate { return &cert })))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitStatus polls the status with blocking queries until cond holds.
func waitStatus(t *testing.T, c *client.Client, cond func(*api.Status) bool) *api.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var index uint64
	for {
		s, err := c.Status(ctx, index, 5*time.Second)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if cond(s) {
			return s
		}
		index = s.Index
	}
}

// registerAndAssign registers a node (2 CPU, 1 GiB) and waits until want
// pods are bound to it.
func registerAndAssign(t *testing.T, c *client.Client, node string, want int) *api.Assignments {
	t.Helper()
	ctx := context.Background()
	if err := c.Register(ctx, &api.Registration{Name: node, CPU: mustQ("2"), Memory: mustQ("1Gi")}); err != nil {
		t.Fatal(err)
	}
	a, err := c.Assignments(ctx, node, 0, 0)
	for err == nil && len(a.Pods) < want {
		a, err = c.Assignments(ctx, node, a.Index, 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCommitsBecomeRevisionsAndPendingPods(t *testing.T) {
	c, repo := startMaster(t)
	sha := testutil.GitCommit(t, repo, "web.yaml", deployYAML)
	s := waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit == sha && s.Pods == 2 })
	if s.Converged {
		t.Error("converged with no node to run the pods")
	}
	pods, err := c.Pods(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		cond := p.Status.Conditions[0]
		if p.Spec.NodeName != "" || cond.Reason != "Unschedulable" || !strings.Contains(cond.Message, "0/0 nodes are available") {
			t.Errorf("pod %s: node %q condition %+v", p.Name, p.Spec.NodeName, cond)
		}
		if p.Annotations[api.AnnotationCommit] != sha {
			t.Errorf("pod %s: commit annotation %q", p.Name, p.Annotations[api.AnnotationCommit])
		}
	}

	bad := testutil.GitCommit(t, repo, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c, image: i, bogus: 1}]}\n")
	s = waitStatus(t, c, func(s *api.Status) bool { return s.SeenCommit == bad })
	if s.LiveCommit != sha || len(s.Rejected) != 1 || s.Rejected[0].Errors[0] != "bad.yaml:4: Pod/default/x: spec.containers[0].bogus: unknown field (document 0)" {
		t.Fatalf("status after a bad commit: %+v", s)
	}

	ctx := context.Background()
	registerAndAssign(t, c, "n1", 2)
	revs, err := c.Revisions(ctx)
	if err != nil || len(revs) != 2 || revs[0].Outcome != api.OutcomeApplied || revs[1].Outcome != api.OutcomeRejected || revs[0].Author != "T" {
		t.Fatalf("revisions %+v, %v", revs, err)
	}
}

func TestBadRequests(t *testing.T) {
	c, _ := startMaster(t)
	ctx := context.Background()
	if _, err := c.Heartbeat(ctx, "ghost"); err == nil || !strings.Contains(err.Error(), "unknown node: ghost") {
		t.Errorf("heartbeat of an unregistered node: %v", err)
	}
	if err := c.Register(ctx, &api.Registration{}); err == nil || !strings.Contains(err.Error(), "name is required") {
		t.Errorf("registration without a name: %v", err)
	}
	if _, err := c.Logs(ctx, "default", "nope", nil); err == nil || !strings.Contains(err.Error(), "default/nope not found") {
		t.Errorf("logs of a missing pod: %v", err)
	}
}

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }
