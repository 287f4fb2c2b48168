//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
)

// ha is a cluster of several masters and agents (real processes) on one
// containerd and one repository.
type ha struct {
	*cluster
	masters map[string]*proc
	apis    map[string]string // API address by master name
	rafts   map[string]string
	names   []string // masters in order
	agents  map[string]*proc
	// old marks the masters that run the previous release (the upgrade
	// test): they speak plain HTTP and plain Raft.
	old    map[string]bool
	nodeTO string   // the masters' --node-timeout
	extra  []string // more flags for every master
	// netns runs a master in a network namespace (by master name).
	netns map[string]string
	// binary is the berth binary masters and agents start with from now
	// on (berthBin; the upgrade test starts an older release's).
	binary string
	// plainOld: the older release the upgrade test starts predates TLS
	// (before v0.3.0).
	plainOld bool
}

// plainBinary tells whether the binary started from now on speaks plain
// HTTP and plain Raft, without a CA or tokens.
func (h *ha) plainBinary() bool { return h.binary != berthBin && h.plainOld }

// newHA starts n masters: the first bootstraps, the others join it.
func newHA(t testing.TB, n int, nodeTimeout string, extra ...string) *ha {
	h := newHAUnstarted(t, n, nodeTimeout, extra...)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("m%d", i)
		h.apis[name], h.rafts[name] = freeAddr(t), freeAddr(t)
	}
	h.startAll()
	return h
}

func newHAUnstarted(t testing.TB, n int, nodeTimeout string, extra ...string) *ha {
	c := newCluster(t)
	h := &ha{cluster: c, masters: map[string]*proc{}, apis: map[string]string{}, rafts: map[string]string{},
		agents: map[string]*proc{}, old: map[string]bool{}, nodeTO: nodeTimeout, extra: extra, netns: map[string]string{}, binary: berthBin}
	for i := 1; i <= n; i++ {
		h.names = append(h.names, fmt.Sprintf("m%d", i))
	}
	return h
}

// startAll starts the masters at their addresses and waits for a leader.
func (h *ha) startAll() {
	t, c, n := h.t, h.cluster, len(h.names)
	for _, name := range h.names {
		h.startMaster(name)
	}
	t.Cleanup(func() {
		for name, p := range h.agents {
			h.killProc(p, "agent "+name)
			removeNodeNetwork(name)
		}
		for name, p := range h.masters {
			h.killProc(p, "master "+name)
		}
	})
	testutil.WaitFor(t, 30*time.Second, "a leader and every master in the configuration, with the log", func() bool {
		ms, err := c.client.Members(context.Background())
		if err != nil || len(ms) != n || h.leader() == "" {
			return false
		}
		for _, name := range h.names { // a joined master has had entries from the leader
			if s, err := h.selfOf(name); err != nil || s.Index == 0 {
				return false
			}
		}
		return true
	})
}

func (h *ha) killProc(p *proc, what string) {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGCONT)
		p.stop(syscall.SIGKILL)
	}
	if h.t.Failed() {
		h.t.Logf("--- %s log ---\n%s", what, p.logTail())
	}
}

// startMaster starts (or restarts, on its data) one master.
func (h *ha) startMaster(name string, extra ...string) {
	args := []string{"master", "--name", name, "--data", filepath.Join(h.dir, name), "--raft", h.rafts[name],
		"--listen", h.apis[name], "--repo", h.repo, "--node-timeout", h.nodeTO, "--poll", "200ms"}
	args = append(args, h.extra...)
	switch {
	case h.plainBinary(): // a release before v0.3.0: no CA, no tokens
		if name == h.names[0] {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", h.apis[h.names[0]])
		}
	case h.credentials == "": // the first master of this build makes the CA
		if name == h.names[0] && !h.old[name] {
			args = append(args, "--bootstrap")
		}
	default: // the others get it from that one, with the master token
		args = append(args, "--join", h.apis[filepath.Base(h.credentials)], "--token-file", filepath.Join(h.credentials, "master.token"))
	}
	h.old[name] = h.plainBinary()
	args = append(args, extra...)
	bin := h.binary
	if ns := h.netns[name]; ns != "" {
		bin, args = "ip", append([]string{"netns", "exec", ns, h.binary}, args...)
	}
	h.masters[name] = start(h.t, h.dir, "master-"+name+fmt.Sprint(time.Now().UnixNano()), bin, args...)
	if h.credentials == "" && !h.plainBinary() {
		h.credentials = filepath.Join(h.dir, name)
		h.awaitCredentials([]string{h.apis[name]})
	}
	h.refreshClients()
}

// refreshClients points the harness's client and CLI at the masters: in
// plain HTTP at those of the previous release while any runs (the
// upgrade test; they hold the leader until the last is replaced), else
// at all of them with the admin kubeconfig.
func (h *ha) refreshClients() {
	h.legacy = nil
	var all []string
	for _, name := range h.names {
		if h.apis[name] == "" || h.masters[name] == nil {
			continue
		}
		all = append(all, h.apis[name])
		if h.old[name] {
			h.legacy = append(h.legacy, "http://"+h.apis[name])
		}
	}
	switch {
	case len(h.legacy) > 0:
		cl, err := client.New(h.legacy, client.WithPlainHTTP())
		if err != nil {
			h.t.Fatal(err)
		}
		h.client = cl
	case len(all) > 0 && h.credentials != "":
		h.client = h.clientAt(all...)
	}
	if len(all) > 0 {
		h.api = strings.Join(all, ",")
	}
}

// clientOf is a client of one master: plain HTTP to a master of the
// previous release, else with the admin kubeconfig.
func (h *ha) clientOf(name string) *client.Client {
	if h.old[name] {
		cl, err := client.New([]string{"http://" + h.apis[name]}, client.WithPlainHTTP())
		if err != nil {
			h.t.Fatal(err)
		}
		return cl
	}
	return h.clientAt(h.apis[name])
}

// startAgent starts an agent that knows every master, first to last.
func (h *ha) startAgent(name string, servers ...string) {
	if servers == nil {
		for _, m := range h.names {
			servers = append(servers, h.apis[m])
		}
	}
	args := []string{"agent", "--name", name, "--server", strings.Join(servers, ","),
		"--data", filepath.Join(h.dir, "agent-"+name), "--containerd", h.socket, "--import", imageTar, "--service-proxy=false"}
	if !h.plainBinary() {
		args = append(args, "--token-file", h.agentToken())
	}
	h.agents[name] = start(h.t, h.dir, "agent-"+name+fmt.Sprint(time.Now().UnixNano()), h.binary, args...)
	testutil.WaitFor(h.t, 30*time.Second, "node "+name+" registered", func() bool {
		l, err := h.client.Nodes(context.Background())
		return err == nil && slices.ContainsFunc(l.Items, func(n corev1.Node) bool { return n.Name == name })
	})
}

// leader is the name of the master that says it leads, or "".
func (h *ha) leader() string {
	for _, name := range h.names {
		if p := h.masters[name]; p == nil || p.exited() {
			continue
		}
		cl := h.clientOf(name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := cl.Self(ctx)
		cancel()
		if err == nil && s.State == "Leader" {
			return name
		}
	}
	return ""
}

// reconciledPast waits until the leader has run a reconcile pass on a
// state past index, and returns the index that pass read.
func (h *ha) reconciledPast(index uint64) uint64 {
	var seen uint64
	testutil.WaitFor(h.t, 30*time.Second, fmt.Sprintf("a reconcile pass past index %d", index), func() bool {
		name := h.leader()
		if name == "" {
			return false
		}
		cl := h.clientOf(name)
		s, err := cl.Self(h.ctx())
		seen = s.Reconciled
		return err == nil && seen > index
	})
	return seen
}

// checkRevisionLog asserts that the revision log holds every commit of
// the branch since the first one it recorded, each once and in order, and
// that the newest is live.
func (c *cluster) checkRevisionLog() {
	c.t.Helper()
	log, err := c.client.Revisions(c.ctx())
	if err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Commit)
	}
	want := strings.Fields(c.git("rev-list", "--reverse", "HEAD"))
	if len(got) == 0 {
		c.t.Fatal("empty revision log")
	}
	i := slices.Index(want, got[0])
	if i < 0 || !slices.Equal(got, want[i:]) {
		c.t.Errorf("revision log %v; want each commit once, in order: %v", short(got), short(want[max(i, 0):]))
	}
	if s := c.status(); s.LiveCommit != want[len(want)-1] {
		c.t.Errorf("live commit %s; want the newest %s", s.LiveCommit, want[len(want)-1])
	}
}

func short(shas []string) []string {
	out := make([]string, len(shas))
	for i, s := range shas {
		out[i] = s[:min(8, len(s))]
	}
	return out
}

// runningByPod counts the running containers of pods whose name starts
// with prefix.
func (h *ha) runningByPod(prefix string) int {
	n := 0
	for _, t := range h.running() {
		if strings.HasPrefix(t.pod, prefix) {
			n++
		}
	}
	return n
}

// ordinalWatch samples containerd every 50 ms and records any moment at
// which two pods (two UIDs) of one StatefulSet pod name run at once.
type ordinalWatch struct {
	mu         sync.Mutex
	violations []string
	samples    int
	stop       chan struct{}
	done       chan struct{}
}

func (h *ha) watchOrdinals(set string) *ordinalWatch {
	w := &ordinalWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			uids := map[string]map[string]bool{}
			ctx := h.ctx()
			cs, err := h.ctr.Containers(ctx)
			if err != nil {
				continue
			}
			for _, ct := range cs {
				labels, _ := ct.Labels(ctx)
				name := labels["berth.dev/pod-name"]
				if !strings.HasPrefix(name, set+"-") {
					continue
				}
				tk, err := ct.Task(ctx, nil)
				if err != nil {
					continue
				}
				if st, err := tk.Status(ctx); err != nil || st.Status != containerd.Running {
					continue
				}
				if uids[name] == nil {
					uids[name] = map[string]bool{}
				}
				uids[name][labels["berth.dev/pod-uid"]] = true
			}
			w.mu.Lock()
			w.samples++
			for name, u := range uids {
				if len(u) > 1 {
					w.violations = append(w.violations, fmt.Sprintf("%s ran as %d pods at once", name, len(u)))
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// end stops the watch and fails the test on any violation.
func (w *ordinalWatch) end(t *testing.T) {
	t.Helper()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.violations) > 0 {
		t.Errorf("a StatefulSet ordinal ran twice: %v", w.violations[:min(5, len(w.violations))])
	}
	if w.samples < 10 {
		t.Errorf("only %d samples of the running containers", w.samples)
	}
}

func deploymentVersion(name string, replicas int, version string, extra string) string {
	return strings.Replace(deployment(name, replicas, version), "      terminationGracePeriodSeconds: 5\n",
		"      terminationGracePeriodSeconds: 5\n"+extra, 1)
}

// TestHALeaderKilledDuringRollingUpdate: three masters; kill -9 the
// leader in the middle of a rolling update and commit during the
// election: a new leader is elected, the rollout completes, and the
// commit made during the election is applied, once.
func TestHALeaderKilledDuringRollingUpdate(t *testing.T) {
	h := newHA(t, 3, "10s")
	h.startAgent("n1")
	sha := h.commit("web v1", map[string]string{"web.yaml": deployment("web", 4, "v1")})
	h.waitCommit(sha, 0)

	h.commit("web v2", map[string]string{"web.yaml": deployment("web", 4, "v2")})
	testutil.WaitFor(t, 30*time.Second, "the rolling update under way", func() bool {
		s := h.status()
		return s.LiveCommit == h.git("rev-parse", "HEAD") && !s.Converged
	})
	old := h.leader()
	killed := time.Now()
	h.masters[old].stop(syscall.SIGKILL)
	sha = h.commit("web v3 during the election", map[string]string{"web.yaml": deployment("web", 4, "v3")})
	h.waitCommit(sha, 0)
	t.Logf("kill -9 of the leader %s to the next commit converged: %v", old, time.Since(killed).Round(time.Millisecond))
	if now := h.leader(); now == "" || now == old {
		t.Fatalf("leader after the kill: %q", now)
	}
	h.checkRevisionLog()
	if n := h.runningByPod("web-"); n != 4 {
		t.Errorf("running web containers: %d, want 4", n)
	}
	l, err := h.client.Pods(h.ctx(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Env[0].Value != "v3" {
			t.Errorf("pod %s runs %s after the rollout", p.Name, p.Spec.Containers[0].Env[0].Value)
		}
	}
}

// TestHAMastersRestart: kill and restart a follower, restart all three at
// once; with frequent snapshots, every master ends with the same state
// digest, and no commit is skipped or applied twice.
func TestHAMastersRestart(t *testing.T) {
	h := newHA(t, 3, "10s", "--snapshot-threshold", "8", "--snapshot-interval", "200ms") // frequent snapshots and compaction
	h.startAgent("n1")
	for i := 0; i < 5; i++ {
		h.commit(fmt.Sprintf("config %d", i), map[string]string{"config.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {n: %q}\n", fmt.Sprint(i))})
	}
	sha := h.commit("web", map[string]string{"web.yaml": deployment("web", 2, "v1")})
	h.waitCommit(sha, 0)

	follower := h.names[0]
	if follower == h.leader() {
		follower = h.names[1]
	}
	h.masters[follower].stop(syscall.SIGKILL)
	sha = h.commit("web v2 while a follower is down", map[string]string{"web.yaml": deployment("web", 2, "v2")})
	h.waitCommit(sha, 0)
	h.startMaster(follower)
	h.agreeOnState(follower)

	for _, name := range h.names {
		h.masters[name].stop(syscall.SIGTERM)
	}
	for _, name := range h.names {
		h.startMaster(name)
	}
	h.waitLeader()
	sha = h.commit("web v3 after restarting every master", map[string]string{"web.yaml": deployment("web", 2, "v3")})
	h.waitCommit(sha, 0)
	h.checkRevisionLog()
	if n := h.runningByPod("web-"); n != 2 {
		t.Errorf("running web containers: %d, want 2", n)
	}
	h.agreeOnState("")
}

func (h *ha) waitLeader() {
	h.t.Helper()
	testutil.WaitFor(h.t, 30*time.Second, "a leader", func() bool { return h.leader() != "" })
}

// agreeOnState freezes the agents (their heartbeats change the state),
// waits until every master has applied the same index, and compares the
// digests of their states; restarted, if given, must have restored a
// snapshot.
func (h *ha) agreeOnState(restarted string) {
	h.t.Helper()
	for _, p := range h.agents {
		p.cmd.Process.Signal(syscall.SIGSTOP)
	}
	defer func() {
		for _, p := range h.agents {
			p.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	var selves map[string]*api.SelfStatus
	testutil.WaitFor(h.t, 30*time.Second, "every master at one index", func() bool {
		selves = map[string]*api.SelfStatus{}
		var index uint64
		for _, name := range h.names {
			cl := h.clientOf(name)
			s, err := cl.Self(h.ctx())
			if err != nil || (index != 0 && s.Index != index) {
				return false
			}
			index, selves[name] = s.Index, s
		}
		return true
	})
	for _, name := range h.names {
		if selves[name].Digest != selves[h.names[0]].Digest {
			h.t.Errorf("state digests differ at index %d: %s %s, %s %s", selves[name].Index,
				h.names[0], selves[h.names[0]].Digest[:12], name, selves[name].Digest[:12])
		}
	}
	if restarted != "" && selves[restarted].Snapshot == 0 {
		h.t.Errorf("%s restarted without a snapshot (index %d)", restarted, selves[restarted].Index)
	}
	h.t.Logf("masters agree at index %d; snapshots %v", selves[h.names[0]].Index, snapshotsOf(selves))
}

func snapshotsOf(s map[string]*api.SelfStatus) map[string]uint64 {
	out := map[string]uint64{}
	for n, v := range s {
		out[n] = v.Snapshot
	}
	return out
}

// nodeOfPods lists the nodes of a workload's live (not terminating) pods.
func (h *ha) nodeOfPods(prefix string) map[string]int {
	l, err := h.client.Pods(h.ctx(), "default")
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range l.Items {
		if strings.HasPrefix(p.Name, prefix) && p.DeletionTimestamp == nil && p.Status.Phase == "Running" {
			out[p.Spec.NodeName]++
		}
	}
	return out
}

// unreachableToleration makes pods leave an unreachable node after 2 s.
const unreachableToleration = `      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
`

// TestHAAgentKilled: kill -9 an agent (and its containers, as when its
// machine dies): after the node timeout and the pods' toleration its
// Deployment pods run on the other node.
func TestHAAgentKilled(t *testing.T) {
	h := newHA(t, 1, "3s")
	h.startAgent("n1")
	sha := h.commit("web on n1", map[string]string{"web.yaml": deploymentVersion("web", 2, "v1", unreachableToleration)})
	h.waitCommit(sha, 0)
	h.startAgent("n2")
	if m := h.nodeOfPods("web-"); m["n1"] != 2 {
		t.Fatalf("web pods by node %v", m)
	}
	died := time.Now()
	h.agents["n1"].stop(syscall.SIGKILL)
	h.killContainersOf("n1")
	testutil.WaitFor(t, 60*time.Second, "web running on n2", func() bool { return h.nodeOfPods("web-")["n2"] == 2 && h.runningByPod("web-") == 2 })
	t.Logf("agent n1 killed to its pods running on n2: %v (node timeout 3 s + toleration 2 s)", time.Since(died).Round(time.Millisecond))
	out, _ := h.berth("get", "nodes")
	if !strings.Contains(out, "NotReady") {
		t.Errorf("berth get nodes does not show n1 NotReady:\n%s", out)
	}
}

// killContainersOf kills the containers of a node's pods, as the death
// of its machine would.
func (h *ha) killContainersOf(node string) {
	ctx := h.ctx()
	cs, err := h.ctr.Containers(ctx, fmt.Sprintf(`labels."berth.dev/node"==%s`, node))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, ct := range cs {
		if tk, err := ct.Task(ctx, nil); err == nil {
			tk.Kill(ctx, syscall.SIGKILL)
		}
	}
}

// TestHAAgentStoppedIsFenced: SIGSTOP an agent past the node timeout and
// the toleration, then SIGCONT: meanwhile its Deployment pod runs on the
// other node and its StatefulSet pod is not started elsewhere; back, the
// agent stops its stale pods, and the StatefulSet pod starts again, never
// twice at once.
func TestHAAgentStoppedIsFenced(t *testing.T) {
	h := newHA(t, 1, "3s")
	h.startAgent("n1")
	db := strings.Replace(strings.Replace(deploymentVersion("db", 1, "v1", unreachableToleration),
		"kind: Deployment", "kind: StatefulSet", 1), "spec:\n  replicas", "spec:\n  serviceName: db\n  replicas", 1)
	sha := h.commit("web and db on n1", map[string]string{"web.yaml": deploymentVersion("web", 1, "v1", unreachableToleration), "db.yaml": db})
	h.waitCommit(sha, 0)
	h.startAgent("n2")
	watch := h.watchOrdinals("db")
	agent := h.agents["n1"]
	agent.cmd.Process.Signal(syscall.SIGSTOP)
	testutil.WaitFor(t, 60*time.Second, "web replaced on n2", func() bool { return h.nodeOfPods("web-")["n2"] == 1 })
	// db-0 waits: its old pod may still run on n1 (it does: the agent is
	// only stopped).
	h.reconciledPast(h.reconciledPast(h.status().Index)) // a wrong plan would show now
	if m := h.nodeOfPods("db-"); m["n2"] != 0 {
		t.Errorf("db-0 started on n2 while n1 was unreachable: %v", m)
	}
	if n := h.runningByPod("web-"); n != 2 {
		t.Errorf("running web containers while n1 is stopped: %d, want the stale one and its replacement", n)
	}
	agent.cmd.Process.Signal(syscall.SIGCONT)
	testutil.WaitFor(t, 60*time.Second, "the stale web container stopped and db-0 running again", func() bool {
		return h.runningByPod("web-") == 1 && h.runningByPod("db-") == 1 && h.nodeOfPods("db-")["n1"]+h.nodeOfPods("db-")["n2"] == 1
	})
	watch.end(t)
	h.checkRevisionLog()
}

// TestHAAgentWithFirstMasterDown: an agent whose master list starts with a
// dead master registers through the next one and runs its pods.
func TestHAAgentWithFirstMasterDown(t *testing.T) {
	h := newHA(t, 3, "10s")
	first := h.names[0]
	h.masters[first].stop(syscall.SIGKILL)
	h.waitLeader()
	h.startAgent("n1")
	sha := h.commit("web", map[string]string{"web.yaml": deployment("web", 2, "v1")})
	h.waitCommit(sha, 0)
	if n := h.runningByPod("web-"); n != 2 {
		t.Errorf("running web containers: %d", n)
	}
	h.checkRevisionLog()
}
