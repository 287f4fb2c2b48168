//go:build e2e

package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// kubectl runs the real kubectl with kubeconfig and a discovery cache of
// the test's own, and returns what it printed and its exit code.
func (c *cluster) kubectlAs(kubeconfig string, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(c.dir, "kubectl-cache"),
		"--request-timeout", "60s"}, args...)...)
	return c.run(cmd)
}

func (c *cluster) kubectl(args ...string) (string, int) {
	c.t.Helper()
	return c.kubectlAs(c.kubeconfig(), args...)
}

// mustKubectl fails the test unless kubectl succeeds and prints every one
// of want.
func (c *cluster) mustKubectl(want []string, args ...string) string {
	c.t.Helper()
	out, code := c.kubectl(args...)
	if code != 0 {
		c.t.Fatalf("kubectl %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			c.t.Errorf("kubectl %s: no %q in:\n%s", strings.Join(args, " "), w, out)
		}
	}
	return out
}

const webApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: front}
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: kubia:v1
        imagePullPolicy: IfNotPresent
        env: [{name: VERSION, value: %q}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {color: blue, size: large}
---
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData: {password: hunter2}
`

// TestKubectl drives the real kubectl against berth as a user would: it
// lists, describes, explains and watches what Git made, and every write
// is refused with the repository to commit to.
func TestKubectl(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network")
	sha := c.commit("web", map[string]string{"web.yaml": fmt.Sprintf(webApp, 2, "v1")})
	c.waitCommit(sha, 0)

	// Every namespace's pods, with the columns Kubernetes prints.
	out := c.mustKubectl([]string{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"}, "get", "pods", "-A")
	if n := len(regexp.MustCompile(`(?m)^default\s+web-[0-9a-f]+-[a-z0-9]{5}\s+1/1\s+Running\s+0\s+\d+s`).FindAllString(out, -1)); n != 2 {
		t.Errorf("kubectl get pods -A: %d Running web pods in default, want 2:\n%s", n, out)
	}
	// Each kind, under its own header.
	out = c.mustKubectl([]string{
		"deployment.apps/web", "replicaset.apps/web-", "service/web", "endpoints/web", "endpointslice.discovery.k8s.io/web-",
		"configmap/settings", "secret/db", "namespace/default", "node/n0", "pod/web-",
		"UP-TO-DATE", "AVAILABLE", "CLUSTER-IP", "ADDRESSTYPE", "Opaque", "LAST SEEN", "Scheduled",
	}, "get", "deploy,rs,sts,ds,job,cronjob,svc,ep,endpointslices,cm,secret,ns,nodes,events")
	if !regexp.MustCompile(`deployment\.apps/web\s+2/2\s+2\s+2\s`).MatchString(out) {
		t.Errorf("the Deployment's row is not 2/2 2 2:\n%s", out)
	}
	if !regexp.MustCompile(`configmap/settings\s+2\s`).MatchString(out) || !regexp.MustCompile(`node/n0\s+Ready\s`).MatchString(out) {
		t.Errorf("the ConfigMap (2 keys) or the node (Ready):\n%s", out)
	}
	c.mustKubectl([]string{"kind: Deployment", "name: web", "replicas: 2", "resourceVersion:", "uid:"}, "get", "deploy", "web", "-o", "yaml")
	out = c.mustKubectl([]string{"TIER"}, "get", "deploy", "-l", "tier=front", "-L", "tier")
	if !strings.Contains(out, "front") {
		t.Errorf("kubectl get deploy -l tier=front -L tier:\n%s", out)
	}
	if out, _ := c.kubectl("get", "pods", "-l", "app=nothing"); !strings.Contains(out, "No resources found") {
		t.Errorf("a selector that matches nothing: %s", out)
	}
	node := c.mustKubectl(nil, "get", "pods", "--field-selector", "spec.nodeName=n0,status.phase=Running", "-o", "name")
	if strings.Count(node, "pod/web-") != 2 {
		t.Errorf("--field-selector spec.nodeName=n0,status.phase=Running:\n%s", node)
	}
	c.mustKubectl([]string{"pod/web-", "service/web", "deployment.apps/web", "replicaset.apps/web-"}, "get", "all")
	c.mustKubectl([]string{"LABELS", "app=web,pod-template-hash="}, "get", "pods", "--show-labels")

	// describe, with events.
	pod := strings.TrimPrefix(strings.Fields(node)[0], "pod/")
	c.mustKubectl([]string{"Name:         " + pod, "Node:         n0/", "Status:       Running", "Events:", "Scheduled", "Successfully assigned default/" + pod + " to n0"},
		"describe", "pod", pod)
	c.mustKubectl([]string{"Name:                   web", "Replicas:               2 desired | 2 updated | 2 total | 2 available", "NewReplicaSet:   web-",
		"ScalingReplicaSet", "Scaled up replica set web-"},
		"describe", "deployment", "web")
	c.mustKubectl([]string{"Name:                     web", "Endpoints:                10.", ":8080"}, "describe", "service", "web")
	described := c.mustKubectl([]string{"Name:               n0", "Ready", "Non-terminated Pods:", pod, "HolderIdentity:  n0",
		"InternalIP:  127.0.0.1\n", "Hostname:    n0"}, "describe", "node", "n0")
	if strings.Contains(described, "Failed to get lease") || strings.Contains(described, "01 Jan 0001") {
		t.Errorf("kubectl describe node n0 shows no lease, or a zero time:\n%s", described)
	}

	// The API's own reference, and its resources.
	c.mustKubectl([]string{"KIND:       Pod", "FIELD: containers <[]Container>", "List of containers belonging to the pod", "image\t<string>"},
		"explain", "pod.spec.containers")
	c.mustKubectl([]string{"deployments", "deploy", "apps/v1", "endpointslices", "networkpolicies"}, "api-resources")

	// Writes: refused, naming the repository.
	gitMessage := "berth is driven by Git: commit to " + c.repo + ", branch main"
	if out, code := c.kubectl("auth", "can-i", "create", "pods"); code == 0 || !strings.HasPrefix(out, "no") {
		t.Errorf("kubectl auth can-i create pods: exit %d: %s", code, out)
	}
	manifest := filepath.Join(c.dir, "cm.yaml")
	os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: red}\n"), 0o644)
	if out, code := c.kubectl("apply", "-f", manifest); code == 0 || !strings.Contains(out, gitMessage) {
		t.Errorf("kubectl apply -f: exit %d, want the message %q:\n%s", code, gitMessage, out)
	}
	if out, code := c.kubectl("delete", "pod", pod); code == 0 || !strings.Contains(out, gitMessage) {
		t.Errorf("kubectl delete pod: exit %d:\n%s", code, out)
	}

	// A viewer reads Secrets redacted and may not exec; an agent's
	// certificate may not use this API at all.
	viewer := filepath.Join(c.dir, "viewer.kubeconfig")
	kc, code := c.berth("kubeconfig", "--role", "viewer", "--name", "vera")
	if code != 0 {
		t.Fatalf("berth kubeconfig --role viewer: exit %d: %s", code, kc)
	}
	os.WriteFile(viewer, []byte(kc), 0o600)
	if out, code := c.kubectlAs(viewer, "get", "secret", "db", "-o", "go-template={{.data.password | base64decode}}"); code != 0 || out != api.Redacted {
		t.Errorf("a viewer reads the Secret's password as %q (exit %d), want %q", out, code, api.Redacted)
	}
	if out := c.mustKubectl(nil, "get", "secret", "db", "-o", "go-template={{.data.password | base64decode}}"); out != "hunter2" {
		t.Errorf("the admin reads the Secret's password as %q", out)
	}
	if out, _ := c.kubectlAs(viewer, "auth", "can-i", "create", "pods", "--subresource=exec"); !strings.HasPrefix(out, "no") {
		t.Errorf("kubectl auth can-i create pods --subresource=exec, as a viewer: %s", out)
	}
	if out, code := c.kubectlAs(viewer, "exec", pod, "--", "cat", "/etc/hostname"); code == 0 || !strings.Contains(out, "operator") {
		t.Errorf("a viewer's kubectl exec: exit %d: %s", code, out)
	}
	if out, _ := c.kubectlAs(viewer, "auth", "can-i", "list", "pods"); !strings.HasPrefix(out, "yes") {
		t.Errorf("kubectl auth can-i list pods, as a viewer: %s", out)
	}
	agentTLS, err := tls.LoadX509KeyPair(filepath.Join(c.dir, "agent", "pki", "node.crt"), filepath.Join(c.dir, "agent", "pki", "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	asAgent := c.anonymous()
	asAgent.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{agentTLS}
	resp, err := asAgent.Get("https://" + c.api + "/api/v1/pods")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "node:n0") {
		t.Errorf("the agent's certificate lists pods: %d %s", resp.StatusCode, body)
	}

	// A watch sees the pod a new commit makes; rollout status returns when
	// a commit's rollout ends.
	watch := c.startKubectl("get", "pods", "-w", "--output-watch-events")
	seen := pods(node)
	sha = c.commit("three replicas", map[string]string{"web.yaml": fmt.Sprintf(webApp, 3, "v1")})
	watch.await(t, "a new web pod ADDED", func(line string) bool {
		name := strings.Fields(line + " x x")[1]
		return strings.HasPrefix(line, "ADDED") && strings.HasPrefix(name, "web-") && !seen[name]
	})
	watch.stop()
	c.waitCommit(sha, 0)
	c.commit("v2", map[string]string{"web.yaml": fmt.Sprintf(webApp, 3, "v2")})
	out, code = c.kubectl("rollout", "status", "deployment/web", "--timeout", "90s")
	if code != 0 || !strings.Contains(out, `deployment "web" successfully rolled out`) {
		pods, _ := c.berth("get", "pods", "-o", "wide")
		events, _ := c.berth("get", "events")
		t.Fatalf("kubectl rollout status: exit %d:\n%s\nberth get pods:\n%s\nevents:\n%s", code, out, pods, events)
	}
	// As in Kubernetes, the old pods may still be terminating: the
	// Deployment counts only the live ones.
	out = c.mustKubectl(nil, "get", "deploy", "web", "-o", "jsonpath={.status.replicas}/{.status.updatedReplicas}/{.status.availableReplicas}")
	if out != "3/3/3" {
		t.Errorf("after rollout status returned, replicas/updated/available are %s, want 3/3/3", out)
	}
}

// pods are the pod names of kubectl get pods -o name (or another listing).
func pods(out string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(out) {
		m[strings.TrimPrefix(f, "pod/")] = true
	}
	return m
}

// kubectlStream is a kubectl that goes on printing (get -w, logs -f).
type kubectlStream struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func (c *cluster) startKubectl(args ...string) *kubectlStream {
	c.t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", c.kubeconfig(), "--cache-dir", filepath.Join(c.dir, "kubectl-cache")}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s := &kubectlStream{cmd: cmd, more: make(chan struct{})}
	go func() { // ends when kubectl does (stop, or the test's cleanup)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
		}
	}()
	c.t.Cleanup(s.stop)
	return s
}

// await waits up to a minute for a line that ok accepts.
func (s *kubectlStream) await(t testing.TB, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(time.Minute)
	seen := 0
	for {
		s.mu.Lock()
		lines, more := s.lines, s.more
		s.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if ok(lines[seen]) {
				return lines[seen]
			}
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("kubectl %v: no %s within a minute; it printed:\n%s", s.cmd.Args[1:], what, strings.Join(lines, "\n"))
		}
	}
}

func (s *kubectlStream) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// TestKubectlStreams follows a pod's log, runs commands in it (with a
// pty through tmux, as a person types) and forwards a port to it, all
// through the master.
func TestKubectlStreams(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network")
	c.waitCommit(c.commit("web", map[string]string{"web.yaml": fmt.Sprintf(webApp, 1, "v1")}), 0)
	pod := strings.TrimPrefix(strings.TrimSpace(c.mustKubectl(nil, "get", "pods", "-l", "app=web", "-o", "name")), "pod/")

	// kubectl top: the running pod has metrics within 15 s, the node too.
	testutil.Await(t, 15*time.Second, func() error {
		out, code := c.kubectl("top", "pods")
		if code != 0 || !regexp.MustCompile(pod+`\s+\d+m\s+\d+Mi`).MatchString(out) {
			return fmt.Errorf("kubectl top pods: exit %d:\n%s", code, out)
		}
		return nil
	})
	if out := c.mustKubectl([]string{"CPU(%)", "MEMORY(%)"}, "top", "nodes"); !regexp.MustCompile(`n0\s+\d+m\s+\d+%\s+\d+Mi`).MatchString(out) {
		t.Errorf("kubectl top nodes:\n%s", out)
	}

	// logs -f sees lines written after it started: the readiness probe's
	// requests, one a second.
	logs := c.startKubectl("logs", "-f", "--tail=0", pod)
	first := logs.await(t, "a request line", func(l string) bool { return strings.Contains(l, "request from") })
	logs.await(t, "a second request line", func(l string) bool { return strings.Contains(l, "request from") && l != first })
	logs.stop()

	attach := c.startKubectl("attach", pod)
	attach.await(t, "the container's output through attach", func(l string) bool { return strings.Contains(l, "request from") })
	attach.stop()

	if out := c.mustKubectl(nil, "exec", pod, "--", "cat", "/etc/hostname"); strings.TrimSpace(out) != pod {
		t.Errorf("kubectl exec %s -- cat /etc/hostname printed %q", pod, out)
	}
	if out, code := c.kubectl("exec", pod, "--", "sh", "-c", "exit 3"); code != 3 || !strings.Contains(out, "command terminated with exit code 3") {
		t.Errorf("kubectl exec of a command that exits 3: exit %d: %s", code, out)
	}
	cmd := exec.Command("kubectl", "--kubeconfig", c.kubeconfig(), "--cache-dir", filepath.Join(c.dir, "kubectl-cache"), "exec", "-i", pod, "--", "cat")
	cmd.Stdin = strings.NewReader("through stdin\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "through stdin\n" {
		t.Errorf("kubectl exec -i ... cat: %v: %q", err, out)
	}
	c.execOnTerminal(t, pod)
	c.checkStreams(t, pod)

	// port-forward, then a request to the local port.
	pf := c.startKubectl("port-forward", "pod/"+pod, "18080:8080")
	pf.await(t, "the forward ready", func(l string) bool { return strings.Contains(l, "Forwarding from 127.0.0.1:18080") })
	resp, err := http.Get("http://127.0.0.1:18080/")
	if err != nil {
		t.Fatalf("a request through kubectl port-forward: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "You've hit "+pod) {
		t.Errorf("through port-forward, the pod answered %q", body)
	}
	pf.stop()
}

// execOnTerminal runs kubectl exec -it in a tmux session, types into the
// pod's shell and reads the screen: a pty of tmux's size.
func (c *cluster) execOnTerminal(t *testing.T, pod string) {
	t.Helper()
	session := fmt.Sprintf("berth-e2e-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	kubectl := fmt.Sprintf("kubectl --kubeconfig %s --cache-dir %s exec -it %s -- sh", c.kubeconfig(), filepath.Join(c.dir, "kubectl-cache"), pod)
	tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", kubectl)
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	screen := func() string { return tmux("capture-pane", "-p", "-t", session) }
	testutil.Await(t, 30*time.Second, func() error {
		if s := screen(); !strings.Contains(s, "/ #") {
			return fmt.Errorf("no shell prompt on the screen:\n%s", s)
		}
		return nil
	})
	tmux("send-keys", "-t", session, "tty; stty size; echo $((6*7))", "Enter")
	testutil.Await(t, 30*time.Second, func() error {
		s := screen()
		for _, want := range []string{"/dev/pts/", "30 100", "42"} {
			if !strings.Contains(s, want) {
				return fmt.Errorf("no %q on the screen:\n%s", want, s)
			}
		}
		return nil
	})
}
