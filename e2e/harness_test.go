//go:build e2e

// Package e2e runs berth as real processes against real Git repositories
// and a real containerd + runc that the harness starts under a temporary
// directory.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/namespaces"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/node/network"
)

var (
	berthBin   string // the berth binary under test
	agentBin   string // the lean berth-agent binary
	imageTar   string // the sample app image archive
	moduleRoot string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	for _, bin := range []string{"containerd", "runc", "git"} {
		if _, err := exec.LookPath(bin); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s not found in PATH: apt-get install containerd runc git\n", bin)
			return 1
		}
	}
	tmp, err := os.MkdirTemp("", "berth-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	_, file, _, _ := runtime.Caller(0)
	moduleRoot = filepath.Dir(filepath.Dir(file))
	berthBin = filepath.Join(tmp, "berth")
	agentBin = filepath.Join(tmp, "berth-agent")
	imageTar = filepath.Join(tmp, "kubia.tar")
	for _, args := range [][]string{
		{"build", "-o", berthBin, "./cmd/berth"},
		{"build", "-o", agentBin, "./cmd/berth-agent"},
		{"build", "-o", filepath.Join(tmp, "berth-logger"), "./cmd/berth-logger"},
		{"run", "./examples/imagebuild", "-out", imageTar},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go %v: %v\n%s", args, err, out)
			return 1
		}
	}
	return m.Run()
}

var (
	handedMu sync.Mutex
	handed   = map[string]bool{}
)

// freeAddr returns a loopback address whose port is free now. It picks
// below Linux's ephemeral range (32768-60999): a port the kernel hands
// out (":0") may be taken again, between this check and the process's
// bind, as the source port of one of the many connections the tests make.
// A port is handed out once per test binary: two picks before either is
// bound (an HA cluster's six) could otherwise get the same one.
func freeAddr(t testing.TB) string {
	t.Helper()
	handedMu.Lock()
	defer handedMu.Unlock()
	for range 1000 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+mathrand.IntN(12000))
		if handed[addr] {
			continue
		}
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			handed[addr] = true
			return addr
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// proc is a berth (or containerd) process the harness started.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

func start(t testing.TB, dir, name, bin string, args ...string) *proc {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p
}

// stop sends sig and waits for the process to exit.
func (p *proc) stop(sig syscall.Signal) {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("%s did not exit within 20s of %v", p.name, sig)
	}
	p.log.Close()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail returns the end of the process's log, for failure messages.
func (p *proc) logTail() string {
	data, _ := os.ReadFile(p.log.Name())
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// cluster is containerd, one master and one agent, and a Git repository.
type cluster struct {
	t          testing.TB
	dir, repo  string
	socket     string
	api        string
	raft       string
	containerd *proc
	master     *proc
	agent      *proc
	ctr        *containerd.Client
	client     *client.Client // with the admin kubeconfig, once a master made it
	// credentials is the folder of the first master's admin.kubeconfig,
	// agent.token and master.token.
	credentials string
	// legacy, when set, are the plain-HTTP addresses of masters of the
	// previous release, which legacyCLI (that release's berth) talks to.
	legacy    []string
	legacyCLI string
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-e2e")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, repo: filepath.Join(dir, "repo"), api: freeAddr(t), raft: freeAddr(t)}
	c.socket = filepath.Join(dir, "containerd", "containerd.sock")
	os.MkdirAll(filepath.Join(dir, "containerd"), 0o755)
	c.containerd = start(t, dir, "containerd", "containerd", "--root", filepath.Join(dir, "containerd", "root"),
		"--state", filepath.Join(dir, "containerd", "state"), "--address", c.socket)
	t.Cleanup(c.cleanup)
	testutil.WaitFor(t, 30*time.Second, "containerd socket", func() bool {
		conn, err := net.Dial("unix", c.socket)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	if c.ctr, err = containerd.New(c.socket); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(c.repo, 0o755)
	c.initRepo()
	c.commit("empty start", map[string]string{"README.md": "manifests\n"})
	return c
}

// kubeconfig is the admin kubeconfig the first master wrote.
func (c *cluster) kubeconfig() string { return filepath.Join(c.credentials, "admin.kubeconfig") }

// agentToken is the file of the agent join token the first master wrote.
func (c *cluster) agentToken() string { return filepath.Join(c.credentials, "agent.token") }

// awaitCredentials waits until the first master has written its
// credentials, and makes c.client with the admin kubeconfig.
func (c *cluster) awaitCredentials(servers []string) {
	c.t.Helper()
	testutil.WaitFor(c.t, 30*time.Second, "the master's admin kubeconfig and tokens", func() bool {
		for _, f := range []string{"admin.kubeconfig", "agent.token", "master.token"} { // each written whole (renamed)
			if _, err := os.Stat(filepath.Join(c.credentials, f)); err != nil {
				return false
			}
		}
		return true
	})
	c.client = c.clientAt(servers...)
}

// anonymous is an HTTPS client that trusts the cluster's CA and shows no
// credentials (a webhook's sender, a curl).
func (c *cluster) anonymous() *http.Client {
	c.t.Helper()
	k, err := client.ReadKubeconfig(c.kubeconfig())
	if err != nil {
		c.t.Fatal(err)
	}
	ca, err := k.CA()
	if err != nil {
		c.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// clientAt is a client of the given masters with the admin credentials.
func (c *cluster) clientAt(servers ...string) *client.Client {
	c.t.Helper()
	k, err := client.ReadKubeconfig(c.kubeconfig())
	if err != nil {
		c.t.Fatal(err)
	}
	opts, err := k.Options()
	if err != nil {
		c.t.Fatal(err)
	}
	cl, err := client.New(servers, opts...)
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// startMaster starts the master on the local repository; extra flags
// (such as another --repo) come last and win.
func (c *cluster) startMaster(extra ...string) {
	c.t.Helper()
	args := append([]string{"master", "--name", "m0", "--data", filepath.Join(c.dir, "master"),
		"--raft", c.raft, "--listen", c.api, "--repo", c.repo, "--bootstrap"}, extra...)
	c.master = start(c.t, c.dir, "master", berthBin, args...)
	c.credentials = filepath.Join(c.dir, "master")
	c.awaitCredentials([]string{c.api})
}

// startAgent starts the agent; extra flags come last.
func (c *cluster) startAgent(extra ...string) {
	c.t.Helper()
	args := append([]string{"--name", "n0", "--server", c.api, "--token-file", c.agentToken(),
		"--data", filepath.Join(c.dir, "agent"), "--containerd", c.socket, "--import", imageTar}, extra...)
	c.agent = start(c.t, c.dir, "agent", agentBin, args...) // the lean binary; the HA tests run `berth agent`
	testutil.WaitFor(c.t, 30*time.Second, "node n0 Ready", func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.ReadyNodes == 1
	})
}

// cleanup stops berth, kills every container and stops containerd.
func (c *cluster) cleanup() {
	for _, p := range []*proc{c.agent, c.master} {
		if p != nil && !p.exited() {
			p.stop(syscall.SIGKILL)
		}
	}
	if c.t.Failed() {
		for _, p := range []*proc{c.master, c.agent} {
			if p != nil {
				c.t.Logf("--- %s log ---\n%s", p.name, p.logTail())
			}
		}
	}
	if c.ctr != nil {
		ctx := c.ctx()
		cs, _ := c.ctr.Containers(ctx)
		for _, ct := range cs {
			if task, err := ct.Task(ctx, nil); err == nil {
				task.Kill(ctx, syscall.SIGKILL)
				task.Delete(ctx, containerd.WithProcessKill)
			}
			ct.Delete(ctx, containerd.WithSnapshotCleanup)
		}
		c.ctr.Close()
	}
	c.containerd.stop(syscall.SIGTERM)
	exec.Command("pkill", "-9", "-f", "containerd-shim-runc-v2 .*-address "+c.socket).Run()
	unmountUnder(c.dir)
	removeNodeNetwork("n0")
	os.RemoveAll(c.dir)
}

// removeNodeNetwork removes what an agent in the host's network namespace
// leaves there: its nft tables (service proxy, cluster DNS address,
// egress masquerade, hostPorts, NetworkPolicies), its pod bridge and
// VXLAN device.
func removeNodeNetwork(node string) {
	for _, table := range []string{"berth_", "berth_dns_", "berth_egress_", "berth_hostports_", "berth_policy_"} {
		exec.Command("nft", "delete", "table", "ip", table+strings.ReplaceAll(node, "-", "_")).Run()
	}
	exec.Command("ip", "link", "delete", network.BridgeName(node)).Run()
	exec.Command("ip", "link", "delete", network.VXLANName(node)).Run()
}

// unmountUnder detaches what the agent mounted under dir (tmpfs emptyDirs
// of pods that were never deleted because the agent was killed).
func unmountUnder(dir string) {
	data, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			syscall.Unmount(f[1], syscall.MNT_DETACH)
		}
	}
}

func (c *cluster) ctx() context.Context {
	return namespaces.WithNamespace(context.Background(), "berth")
}

// initRepo makes the repository with a local Git identity: the tests must
// not depend on the machine's global one (CI machines have none).
func (c *cluster) initRepo() {
	c.t.Helper()
	c.git("init", "-q", "-b", "main")
	c.git("config", "user.name", "E2E")
	c.git("config", "user.email", "e2e@example.com")
}

// git runs the git CLI in the repository.
func (c *cluster) git(args ...string) string {
	c.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = c.repo
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=E2E", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=E2E", "GIT_COMMITTER_EMAIL=e2e@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes (or, with data "", deletes) files and commits them.
func (c *cluster) commit(msg string, files map[string]string) string {
	c.t.Helper()
	for name, data := range files {
		p := filepath.Join(c.repo, name)
		if data == "" {
			os.Remove(p)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	c.git("add", "-A")
	c.git("commit", "-q", "--allow-empty", "-m", msg)
	return c.git("rev-parse", "HEAD")
}

// berth runs the CLI and returns its output and exit code.
func (c *cluster) berth(args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(berthBin, append([]string{"--kubeconfig", c.kubeconfig(), "--server", c.api}, args...)...)
	if len(c.legacy) > 0 {
		cmd = exec.Command(c.legacyCLI, append([]string{"--server", strings.Join(c.legacy, ",")}, args...)...)
	}
	return c.run(cmd)
}

// run runs a command and returns what it printed (stdout and stderr) and
// its exit code; a command that cannot start fails the test.
func (c *cluster) run(cmd *exec.Cmd) (string, int) {
	c.t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("%v: %v", cmd.Args, err)
	}
	return out.String(), 0
}

// waitCommit runs `berth wait` and fails the test unless it exits with want.
func (c *cluster) waitCommit(sha string, want int) string {
	c.t.Helper()
	out, code := c.berth("wait", "--commit", sha, "--timeout", "90s")
	if code != want {
		c.t.Fatalf("berth wait --commit %s exited %d, want %d:\n%s", sha, code, want, out)
	}
	return out
}

// task is a running container as containerd sees it.
type task struct {
	id, pod string
	pid     uint32
}

// running lists the containers whose task runs, in namespace berth.
func (c *cluster) running() []task {
	c.t.Helper()
	ctx := c.ctx()
	cs, err := c.ctr.Containers(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []task
	for _, ct := range cs {
		tk, err := ct.Task(ctx, nil)
		if err != nil {
			continue
		}
		st, err := tk.Status(ctx)
		if err != nil || st.Status != containerd.Running {
			continue
		}
		labels, _ := ct.Labels(ctx)
		out = append(out, task{id: ct.ID(), pod: labels["berth.dev/pod-name"], pid: tk.Pid()})
	}
	return out
}

func (c *cluster) status() *api.Status {
	c.t.Helper()
	s, err := c.client.Status(context.Background(), 0, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// execUntil runs args in a pod's container until what it prints holds
// every one of want (or 10 s pass, and the test fails with the last
// output): containerd's FIFO copy sometimes returns nothing from a process
// that ends at once, even after waiting for its IO.
func (c *cluster) execUntil(pod, container string, want []string, args ...string) string {
	c.t.Helper()
	return c.execWithin(10*time.Second, pod, container, want, args...)
}

// execWithin is execUntil with a deadline of its own.
func (c *cluster) execWithin(d time.Duration, pod, container string, want []string, args ...string) string {
	c.t.Helper()
	var out string
	testutil.Await(c.t, d, func() error {
		out = c.execIn(pod, container, args...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				return fmt.Errorf("%v in pod %s printed %q; want %q in it", args, pod, out, w)
			}
		}
		return nil
	})
	return out
}

func deployment(name string, replicas int, version string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  replicas: %d
  selector:
    matchLabels: {app: %s}
  template:
    metadata:
      labels: {app: %s}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: kubia:v1
        imagePullPolicy: IfNotPresent
        args: ["-listen", "127.0.0.1:0"]
        env:
        - {name: VERSION, value: %q}
`, name, replicas, name, name, version)
}

// execIn runs args in the running container of a pod through containerd,
// as a probe would, and returns what it printed. (containerd sometimes
// loses the output of a process that ends at once: see execUntil.)
func (c *cluster) execIn(pod, container string, args ...string) string {
	c.t.Helper()
	ctx := c.ctx()
	cs, err := c.ctr.Containers(ctx, fmt.Sprintf(`labels."berth.dev/pod-name"==%s,labels."berth.dev/container"==%s`, pod, container))
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ct := range cs {
		task, err := ct.Task(ctx, nil)
		if err != nil {
			continue
		}
		if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
			continue
		}
		spec, err := ct.Spec(ctx)
		if err != nil {
			c.t.Fatal(err)
		}
		proc := *spec.Process
		proc.Args = args
		var out bytes.Buffer
		p, err := task.Exec(ctx, fmt.Sprintf("e2e-%d", time.Now().UnixNano()), &proc, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
		if err != nil {
			c.t.Fatal(err)
		}
		exited, err := p.Wait(ctx)
		if err != nil {
			c.t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			c.t.Fatal(err)
		}
		<-exited
		p.IO().Wait() // the output is copied after the exit is reported
		p.Delete(ctx)
		return out.String()
	}
	c.t.Fatalf("no running container %s of pod %s", container, pod)
	return ""
}
