//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

const projectedAndLimited = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {user: root}
---
apiVersion: v1
kind: Pod
metadata: {name: projected, labels: {app: projected}}
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: all
    projected:
      sources:
      - configMap: {name: settings}
      - secret: {name: creds}
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-cat", "/etc/all/greeting,/etc/all/user,/etc/all/name", "-listen", "127.0.0.1:0"]
    volumeMounts: [{name: all, mountPath: /etc/all}]
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: cache
    emptyDir: {sizeLimit: 1Mi}
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-fill", "/cache/big=2097152", "-listen", "127.0.0.1:0"]
    volumeMounts: [{name: cache, mountPath: /cache}]
`

// TestProjectedAndEviction reads a projected volume (a ConfigMap, a
// Secret and downwardAPI in one folder) from inside a container, and
// watches a pod that writes 2 MiB into an emptyDir limited to 1 MiB get
// evicted, as the kubelet does.
func TestProjectedAndEviction(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.commit("projected and limited", map[string]string{"pods.yaml": projectedAndLimited})
	testutil.WaitFor(t, 60*time.Second, "the projected files in the log", func() bool {
		out, _ := c.berth("logs", "projected")
		return strings.Contains(out, `/etc/all/greeting: "hello"`) && strings.Contains(out, `/etc/all/user: "root"`) &&
			strings.Contains(out, `/etc/all/name: "projected"`)
	})
	var hog corev1.Pod
	testutil.WaitFor(t, 60*time.Second, "the hog evicted", func() bool {
		hog = c.podsByName()["hog"]
		return hog.Status.Reason == "Evicted"
	})
	if hog.Status.Phase != corev1.PodFailed || !strings.Contains(hog.Status.Message, `Usage of EmptyDir volume "cache" exceeds the limit "1Mi"`) {
		t.Fatalf("hog: phase %s, message %q", hog.Status.Phase, hog.Status.Message)
	}
	for _, tk := range c.running() {
		if tk.pod == "hog" {
			t.Errorf("the evicted pod's container still runs")
		}
	}
	if out, _ := c.berth("get", "events", "--for", "pod/hog"); !strings.Contains(out, "Evicted") {
		t.Errorf("no Evicted event:\n%s", out)
	}
}
