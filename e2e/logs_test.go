//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestLogs reads a crashing container's logs through the master: the
// previous run's log after a restart, the last lines, timestamps, and the
// Kubernetes log path the master serves.
func TestLogs(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.commit("crasher", map[string]string{"crasher.yaml": exitingPod("crasher", "Always", 1)})
	testutil.WaitFor(t, 60*time.Second, "a restart of the crasher", func() bool {
		p, ok := c.podsByName()["crasher"]
		return ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	out, code := c.berth("logs", "crasher", "--previous")
	if code != 0 || strings.TrimSpace(out) == "" || !strings.Contains(out, "kubia: exiting with code 1") {
		t.Fatalf("logs --previous: exit %d:\n%s", code, out)
	}
	out, code = c.berth("logs", "crasher", "--previous", "--tail", "1", "--timestamps")
	stamped := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z \d{4}/\d\d/\d\d .*kubia: exiting with code 1\n$`)
	if code != 0 || !stamped.MatchString(out) {
		t.Fatalf("logs --previous --tail 1 --timestamps: exit %d: %q", code, out)
	}
	if out, code = c.berth("logs", "crasher", "--since", "1h", "--limit-bytes", "5"); code != 0 || len(out) > 5 {
		t.Errorf("logs --limit-bytes 5: exit %d: %q", code, out)
	}
	// Its events: scheduled, pulled, created, started, and backing off.
	out, code = c.berth("get", "events", "--for", "pod/crasher")
	for _, want := range []string{"Scheduled", "Successfully assigned default/crasher to n0", "Pulled", "Started", "BackOff", "pod/crasher"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("berth get events --for pod/crasher: exit %d, no %q:\n%s", code, want, out)
		}
	}
	if out, code = c.berth("describe", "pod", "crasher"); code != 0 || !strings.Contains(out, "Events:") || !strings.Contains(out, "Back-off restarting failed container app") {
		t.Errorf("berth describe pod crasher: exit %d:\n%s", code, out)
	}
	// The pod that never restarted has no previous log.
	c.commit("a server", map[string]string{"server.yaml": strings.Replace(exitingPod("server", "Always", 0), `args: ["-exit", "0"]`, `args: ["-listen", "127.0.0.1:0"]`, 1)})
	testutil.WaitFor(t, 60*time.Second, "the server running", func() bool {
		out, code := c.berth("logs", "server")
		return code == 0 && strings.Contains(out, "listening on")
	})
	if out, code := c.berth("logs", "server", "--previous"); code == 0 || !strings.Contains(out, `previous terminated container "app" in pod "server" not found`) {
		t.Errorf("logs --previous of a pod that never restarted: exit %d: %s", code, out)
	}
}
