//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestPrometheusScrapes runs Debian's Prometheus against a master (its
// /metrics) and an agent (through the master, /v1/nodes/n0/metrics),
// over TLS with a viewer's token, and asks it with PromQL for what the
// cluster runs: three running pods, their containers' memory, the live
// revision and the Deployment's available replicas.
func TestPrometheusScrapes(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("Debian's prometheus is not installed (make test-deps installs it): %v", err)
	}
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	sha := c.commit("web x3", map[string]string{"web.yaml": deployment("web", 3, "v1")})
	c.waitCommit(sha, 0)

	out, code := c.berth("token", "create", "--role", "viewer", "--description", "prometheus")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 {
		t.Fatalf("berth token create: exit %d: %s", code, out)
	}
	dir := filepath.Join(c.dir, "prometheus")
	os.MkdirAll(dir, 0o700)
	k, err := client.ReadKubeconfig(c.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := k.CA()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	job := func(name, path string) string {
		return fmt.Sprintf(`- job_name: %s
  scheme: https
  metrics_path: %s
  authorization: {credentials_file: %s}
  tls_config: {ca_file: %s}
  static_configs: [{targets: [%q]}]
`, name, path, filepath.Join(dir, "token"), filepath.Join(dir, "ca.pem"), c.api)
	}
	write("token", lines[len(lines)-1])
	write("ca.pem", string(ca))
	config := write("prometheus.yml", "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n"+
		job("berth-master", "/metrics")+job("berth-agent-n0", "/v1/nodes/n0/metrics"))
	web := freeAddr(t)
	p := start(t, c.dir, "prometheus", bin, "--config.file", config, "--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address", web)
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })

	query := func(q string) (string, error) {
		resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return "", err
		}
		if len(r.Data.Result) != 1 {
			return "", fmt.Errorf("%d series", len(r.Data.Result))
		}
		return fmt.Sprint(r.Data.Result[0].Value[1]), nil
	}
	for q, want := range map[string]string{
		`up{job="berth-master"}`:                                                             "1",
		`up{job="berth-agent-n0"}`:                                                           "1",
		`sum(berth_pods{namespace="default",phase="Running"})`:                               "3",
		`berth_revision_info{commit="` + sha + `"}`:                                          "1",
		`berth_deployment_status_replicas_available{namespace="default",deployment="web"}`:   "3",
		`count(container_memory_working_set_bytes{namespace="default",container="app"} > 0)`: "3",
		`count(container_cpu_usage_seconds_total{namespace="default"})`:                      "3",
		`berth_nodes{ready="true"}`:                                                          "1",
		`count(berth_revisions_total{outcome="applied"} > 0)`:                                "1",
		`count(berth_commit_to_live_seconds_count > 0)`:                                      "1",
		`count(berth_reconcile_duration_seconds_count > 0)`:                                  "1",
		`count(berth_raft_apply_duration_seconds_count > 0)`:                                 "1",
		`berth_raft_leader`:                                                                  "1",
		`berth_pod_start_duration_seconds_count`:                                             "3",
	} {
		testutil.Await(t, 60*time.Second, func() error {
			got, err := query(q)
			if err != nil || got != want {
				return fmt.Errorf("PromQL %s: %q, %v; want %s", q, got, err, want)
			}
			return nil
		})
	}
	// Every series the example Grafana dashboard draws is scraped.
	dashboard, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "grafana", "berth-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(?:berth|container)_[a-z_]+`).FindAllString(string(dashboard), -1) {
		names[strings.TrimSuffix(m, "_bucket")] = true
	}
	for name := range names {
		if _, err := query(`count({__name__=~"` + name + `(_bucket)?"})`); err != nil {
			t.Errorf("the dashboard draws %s, which Prometheus has no series of: %v", name, err)
		}
	}
	if len(names) < 10 {
		t.Errorf("the dashboard names %d series: %v", len(names), names)
	}
}
