//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

const configRepo = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  version: from-config
  app.conf: "a = 1\n"
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData:
  user: root
---
apiVersion: v1
kind: Pod
metadata: {name: configured}
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: conf
    configMap: {name: settings, defaultMode: 0600}
  - name: creds
    secret: {secretName: creds}
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0", "-cat", "/etc/app/app.conf,/etc/creds/user,$(CONF_DIR)/app.conf"]
    env:
    - name: VERSION
      valueFrom: {configMapKeyRef: {name: settings, key: version}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: CONF_DIR
      value: /etc/app
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
    - {name: creds, mountPath: /etc/creds}
`

// TestConfigMapsAndSecrets runs a pod whose env and volumes come from a
// ConfigMap and a Secret of the same commit.
func TestConfigMapsAndSecrets(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("configured pod", map[string]string{"app.yaml": configRepo}), 0)
	var out string
	testutil.WaitFor(t, 10*time.Second, "the container's start-up lines", func() bool {
		out, _ = c.berth("logs", "configured")
		return strings.Contains(out, "listening on")
	})
	// $(CONF_DIR) in args is expanded: the file is printed twice.
	if n := strings.Count(out, `/etc/app/app.conf: "a = 1\n"`); n != 2 {
		t.Errorf("app.conf printed %d times, want 2 ($(CONF_DIR) expanded):\n%s", n, out)
	}
	for _, want := range []string{"kubia from-config on configured", `/etc/creds/user: "root"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log does not contain %q:\n%s", want, out)
		}
	}
	// A new value of the ConfigMap reaches the file in the running
	// container, which is not restarted: the container reads it anew.
	before := pidsOf(c.expectRunning(1))
	changed := strings.Replace(configRepo, `app.conf: "a = 1\n"`, `app.conf: "a = 2\n"`, 1)
	c.waitCommit(c.commit("new setting", map[string]string{"app.yaml": changed}), 0)
	var seen string
	testutil.WaitFor(t, 30*time.Second, "a = 2 in the running container's /etc/app/app.conf", func() bool {
		seen = c.execIn("configured", "app", "/app", "-cat", "/etc/app/app.conf", "-exit", "0")
		return strings.Contains(seen, `"a = 2\n"`)
	})
	samePIDs(t, before, pidsOf(c.running()))

	// A reference to a key the commit does not hold refuses the commit.
	bad := strings.Replace(configRepo, "key: version}", "key: nope}", 1)
	out = c.waitCommit(c.commit("bad ref", map[string]string{"app.yaml": bad}), 1)
	if !strings.Contains(out, `ConfigMap default/settings has no key "nope"`) {
		t.Errorf("berth wait:\n%s", out)
	}
}
