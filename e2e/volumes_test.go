//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestVolumes: hostPath (only under --allow-host-path), emptyDir in
// memory, downwardAPI and subPath, read from inside the container.
func TestVolumes(t *testing.T) {
	c := newCluster(t)
	host := filepath.Join(c.dir, "host")
	os.MkdirAll(filepath.Join(host, "data"), 0o755)
	os.WriteFile(filepath.Join(host, "data", "greeting"), []byte("from the host"), 0o644)
	c.startMaster()
	c.startAgent("--allow-host-path", host)
	pods := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: vols, labels: {app: vols}}
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: host
    hostPath: {path: %s, type: Directory}
  - name: mem
    emptyDir: {medium: Memory}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: pod/name, fieldRef: {fieldPath: metadata.name}}
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0", "-cat", "/h/greeting,/info/labels,/name/name,/proc/self/mounts"]
    volumeMounts:
    - {name: host, mountPath: /h, subPath: data, readOnly: true}
    - {name: mem, mountPath: /mem}
    - {name: info, mountPath: /info}
    - {name: info, mountPath: /name, subPath: pod}
---
apiVersion: v1
kind: Pod
metadata: {name: sneaky}
spec:
  volumes:
  - name: etc
    hostPath: {path: /etc}
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    volumeMounts: [{name: etc, mountPath: /host-etc}]
`, host)
	c.commit("volumes", map[string]string{"pods.yaml": pods})
	var out string
	testutil.WaitFor(t, 30*time.Second, "vols' start-up lines", func() bool {
		out, _ = c.berth("logs", "vols")
		return strings.Contains(out, "listening on")
	})
	for _, want := range []string{`/h/greeting: "from the host"`, `/info/labels: "app=\"vols\""`, `/name/name: "vols"`, `tmpfs /mem tmpfs`} {
		if !strings.Contains(out, want) {
			t.Errorf("vols' log does not contain %q:\n%s", want, out)
		}
	}
	_, msg := c.waitingReason("sneaky", "CreateContainerConfigError")
	if !strings.Contains(msg, "hostPath /etc is not under a path this node allows") {
		t.Errorf("sneaky: %q", msg)
	}
}
