//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/pki"
)

// runBerth runs berth to completion with an environment and returns its
// output and exit code.
func runBerth(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(berthBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestStartupErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	notRepo := filepath.Join(dir, "plain")
	os.MkdirAll(notRepo, 0o755)
	repo := filepath.Join(dir, "repo")
	os.MkdirAll(repo, 0o755)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "x"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git: %v %s", err, out)
		}
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	ca, _ := pki.NewCA(time.Now())
	os.WriteFile(kubeconfig, client.NewKubeconfig("https://127.0.0.1:1", "c", "u", ca.CertPEM, nil, nil).YAML(), 0o600)
	master := func(extra ...string) []string {
		return append([]string{"master", "--data", filepath.Join(dir, "m"), "--raft", freeAddr(t), "--listen", freeAddr(t), "--bootstrap"}, extra...)
	}
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"not a repository", nil, master("--repo", notRepo), "opening repository " + notRepo},
		{"no such branch", nil, master("--repo", repo, "--branch", "nope"), `branch "nope" of ` + repo},
		{"bad api address", nil, append(master("--repo", repo), "--listen", "256.0.0.1:1"), "listening on 256.0.0.1:1"},
		{"containerd socket", nil, []string{"agent", "--name", "n", "--data", dir, "--containerd", filepath.Join(dir, "none.sock")}, "containerd socket " + filepath.Join(dir, "none.sock")},
		{"runc missing", []string{"PATH=" + dir}, []string{"agent", "--name", "n", "--data", dir}, "runc not found in PATH: install them with: apt-get install containerd runc"},
		{"containerd missing for up", []string{"PATH=" + dir}, []string{"up", "--repo", repo, "--data", filepath.Join(dir, "up")}, "containerd not found in PATH"},
		{"bad label", nil, []string{"agent", "--name", "n", "--data", dir, "--labels", "novalue"}, `--labels: "novalue" is not k=v`},
		{"bad output", nil, []string{"get", "pods", "-o", "xml"}, `--output "xml": must be wide, json or yaml`},
		{"no credentials", []string{"KUBECONFIG="}, []string{"status"}, "no credentials: give --kubeconfig FILE or set $KUBECONFIG"},
		{"no master", []string{"KUBECONFIG=" + kubeconfig}, []string{"--server", "https://127.0.0.1:1", "status"}, "127.0.0.1:1"},
		{"plain HTTP", []string{"KUBECONFIG=" + kubeconfig}, []string{"--server", "http://127.0.0.1:1", "status"}, `server address "http://127.0.0.1:1": masters speak HTTPS only`},
		{"bad kubeconfig", nil, []string{"--kubeconfig", filepath.Join(dir, "plain"), "status"}, "--kubeconfig: kubeconfig " + filepath.Join(dir, "plain")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runBerth(t, tc.env, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tc.want) {
				t.Errorf("last line %q does not contain %q\nfull output:\n%s", last, tc.want, out)
			}
			if !strings.HasPrefix(last, "berth: ") {
				t.Errorf("error line %q is not berth's one-line error", last)
			}
		})
	}
}

func TestGetOutputsKubernetesLists(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("web", map[string]string{"web.yaml": deployment("web", 2, "v1")}), 0)
	for _, format := range []string{"json", "yaml"} {
		out, code := c.berth("get", "pods", "-o", format)
		if code != 0 {
			t.Fatalf("get pods -o %s: exit %d\n%s", format, code, out)
		}
		data := []byte(out)
		if format == "yaml" {
			var err error
			if data, err = yaml.YAMLToJSON(data); err != nil {
				t.Fatal(err)
			}
		}
		var list struct {
			APIVersion, Kind string
			Items            []struct{ Kind string }
		}
		if err := json.Unmarshal(data, &list); err != nil {
			t.Fatalf("-o %s: %v\n%s", format, err, out)
		}
		if list.Kind != "List" || list.APIVersion != "v1" || len(list.Items) != 2 || list.Items[0].Kind != "Pod" {
			t.Errorf("-o %s: %+v", format, list)
		}
	}
	out, _ := c.berth("get", "pods", "-o", "wide")
	sha := c.git("rev-parse", "HEAD")
	if !strings.Contains(out, "n0") || !strings.Contains(out, sha[:12]) || !strings.Contains(out, "Running") {
		t.Errorf("get pods -o wide does not show node, commit and status:\n%s", out)
	}
	pods := c.pods()
	out, code := c.berth("describe", "pod", pods[0].Name)
	if code != 0 || !strings.Contains(out, "Commit:        "+sha) || !strings.Contains(out, "Node:          n0") || !strings.Contains(out, "Running since") {
		t.Errorf("berth describe pod exited %d:\n%s", code, out)
	}
	out, _ = c.berth("get", "deployments")
	if !strings.Contains(out, "web") || !strings.Contains(out, "2/2") {
		t.Errorf("get deployments:\n%s", out)
	}
	out, _ = c.berth("get", "nodes")
	if !strings.Contains(out, "n0") || !strings.Contains(out, "Ready") {
		t.Errorf("get nodes:\n%s", out)
	}

	// A Node manifest cordons n0: running pods stay, new ones wait.
	before := len(c.running())
	c.commit("cordon n0", map[string]string{
		"n0.yaml":   "apiVersion: v1\nkind: Node\nmetadata: {name: n0, labels: {zone: a}}\nspec: {unschedulable: true}\n",
		"more.yaml": deployment("more", 1, "v1"),
	})
	testutil.WaitFor(t, 20*time.Second, "the new pod to be Pending as unschedulable", func() bool {
		for _, p := range c.pods() {
			if strings.HasPrefix(p.Name, "more-") && len(p.Status.Conditions) > 0 &&
				p.Status.Conditions[0].Message == "0/1 nodes are available: 1 node(s) were unschedulable." {
				return true
			}
		}
		return false
	})
	out, _ = c.berth("get", "nodes", "-o", "wide")
	if !strings.Contains(out, "Ready,SchedulingDisabled") {
		t.Errorf("get nodes does not show the cordon:\n%s", out)
	}
	if n := len(c.running()); n != before {
		t.Errorf("%d containers run after the cordon, %d before", n, before)
	}
}
