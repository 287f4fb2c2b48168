package node_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/gitsource"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/master"
	"github.com/berth-dev/berth/node"
	"github.com/berth-dev/berth/pki"
)

// TestMain fails the node tests when any goroutine is left once they
// have run: every goroutine the agent starts ends with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: kubia:v1}]
`

// TestRunLeavesNoGoroutine runs an agent against a real master (in this
// process, on a fresh repository): it adopts an orphan container and
// removes it (fencing its new pods behind that), starts three pods, stops
// two when the Deployment scales down, serves logs, and keeps a report
// to retry once the master is gone. When its context ends, Run returns
// with no goroutine of the agent left, and none of the master's either.
func TestRunLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	repo := testutil.GitRepo(t)
	testutil.GitCommit(t, repo, "web.yaml", strings.Replace(deployment, "%d", "3", 1))
	c, agent, creds, stopMaster := startMaster(t, repo, "n1")
	rt := node.NewHollowRuntime(0)
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "default", UID: "orphan-uid"}}
	if _, _, err := rt.Start(context.Background(), node.StartSpec{ID: "orphan", Pod: orphan, Container: &corev1.Container{Name: "app", Image: "kubia:v1"}}); err != nil {
		t.Fatal(err)
	}
	reportFailed := &logWatch{text: "status report failed", seen: make(chan struct{})}
	a, err := node.New(node.Config{Name: "n1", DataDir: t.TempDir(), Listen: "127.0.0.1:0", TLS: creds.PeerTLS(), Hollow: true,
		Logger: slog.New(slog.NewTextHandler(reportFailed, nil))}, agent, rt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	waitPods(t, c, 3)
	testutil.GitCommit(t, repo, "web.yaml", strings.Replace(deployment, "%d", "1", 1))
	waitPods(t, c, 1)
	cs, _ := rt.List(context.Background())
	if len(cs) != 1 {
		t.Fatalf("the hollow runtime holds %d containers; want the one pod's (the orphan and two scaled-down pods removed)", len(cs))
	}
	// The master goes, then the pod's container exits: the agent restarts
	// it and cannot report that, and waits to retry.
	stopMaster()
	rt.Stop(context.Background(), cs[0].ID, 0)
	select {
	case <-reportFailed.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no failed status report within 10 s of the master stopping and a container exiting")
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of its context ending")
	}
	// A goroutine that has called tasks.Done may still be on its way out.
	testutil.Await(t, 2*time.Second, func() error {
		if left := agentGoroutines(); left != "" {
			return fmt.Errorf("goroutines of the agent outlive Run:\n%s", left)
		}
		return nil
	})
	goleak.VerifyNone(t, before)
}

// logWatch is a log destination that closes seen the first time a line
// holds text.
type logWatch struct {
	text string
	once sync.Once
	seen chan struct{}
}

func (w *logWatch) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.text) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// agentGoroutines returns the stacks of the goroutines running code of
// package node at this instant (goleak's checks retry, and would let a
// goroutine that ends soon after Run pass).
func agentGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/berth-dev/berth/node.") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}

// waitPods waits, with blocking status queries, until the cluster holds
// want pods and all are ready.
func waitPods(t *testing.T, c *client.Client, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var index uint64
	for {
		s, err := c.Status(ctx, index, 5*time.Second)
		if err != nil {
			t.Fatalf("waiting for %d ready pods: %v", want, err)
		}
		if s.Pods == want && s.ReadyPods == want {
			return
		}
		index = s.Index
	}
}

// startMaster runs one master on the repository and returns a client of
// it with its admin kubeconfig, a client with the credentials of node,
// which joins with the master's agent token, and a function that stops
// the master and waits until it has.
func startMaster(t *testing.T, repo, node string) (*client.Client, *client.Client, *client.Credentials, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	git := gitsource.DefaultConfig()
	git.Repo = repo
	dir := t.TempDir()
	m, err := master.New(master.Config{Name: "m0", DataDir: dir, RaftAddr: raftAddr, Listen: "127.0.0.1:0",
		Bootstrap: true, Git: git, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	k, err := client.ReadKubeconfig(filepath.Join(dir, master.AdminKubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := k.Options()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New([]string{m.Addr()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, master.AgentTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	var creds *client.Credentials
	testutil.Await(t, 10*time.Second, func() error { // the leader records the token once it leads
		creds, err = client.Join(context.Background(), []string{m.Addr()}, string(token), t.TempDir(), pki.Identity{Kind: pki.KindNode, Name: node, Role: api.RoleAgent})
		return err
	})
	agent, err := client.New([]string{m.Addr()}, client.WithTLS(creds.ClientTLS()))
	if err != nil {
		t.Fatal(err)
	}
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return c, agent, creds, stop
}
