//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

const securePods = `apiVersion: v1
kind: Pod
metadata: {name: locked}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 2000, supplementalGroups: [3000], fsGroup: 4000}
  terminationGracePeriodSeconds: 2
  volumes: [{name: scratch}]
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0", "-cat", "/proc/self/status", "-write", "/scratch/ok,/rootfile"]
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: scratch, mountPath: /scratch}]
---
apiVersion: v1
kind: Pod
metadata: {name: rootish}
spec:
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    securityContext: {runAsNonRoot: true}
---
apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    securityContext: {privileged: true}
`

// TestSecurityContext: users, groups, capabilities, a read-only root and
// no new privileges seen from inside the container; runAsNonRoot with a
// root image and privileged without --allow-privileged are refused.
func TestSecurityContext(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.commit("secure pods", map[string]string{"pods.yaml": securePods})
	var out string
	testutil.WaitFor(t, 30*time.Second, "locked's start-up lines", func() bool {
		out, _ = c.berth("logs", "locked")
		return strings.Contains(out, "listening on")
	})
	for _, want := range []string{`Uid:\t1000\t1000\t1000\t1000`, `Gid:\t2000\t2000\t2000\t2000`, `CapEff:\t0000000000000000`,
		`NoNewPrivs:\t1`, "write /scratch/ok: <nil>", "write /rootfile: open /rootfile: read-only file system"} {
		if !strings.Contains(out, want) {
			t.Errorf("locked's log does not contain %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, `Groups:\t2000 3000 4000`) {
		t.Errorf("supplemental groups and fsGroup not in the process's groups:\n%s", out)
	}
	c.waitingReason("rootish", "CreateContainerConfigError")
	_, msg := c.waitingReason("priv", "CreateContainerConfigError")
	if !strings.Contains(msg, "--allow-privileged") {
		t.Errorf("priv: %q", msg)
	}
}
