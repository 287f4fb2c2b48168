//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// hookServer records the lifecycle hooks' HTTP calls.
type hookServer struct {
	mu    sync.Mutex
	calls []string
	port  int
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.port = l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.calls = append(h.calls, r.URL.Path)
		h.mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h
}

func (h *hookServer) saw(path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.calls {
		if c == path {
			return true
		}
	}
	return false
}

// TestLifecycleHooks: postStart runs when a container starts and its
// failure kills the container; preStop runs before the container is
// stopped when its pod is deleted. The hooks name the node's loopback as
// their host (the agent runs HTTP hooks from the node, and the test's
// server listens there).
func TestLifecycleHooks(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	hooks := newHookServer(t)
	closed := freeAddr(t)
	hooked := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: hooked}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0"]
    lifecycle:
      postStart: {httpGet: {host: 127.0.0.1, path: /poststart, port: %d}}
      preStop: {httpGet: {host: 127.0.0.1, path: /prestop, port: %d}}
`, hooks.port, hooks.port)
	broken := strings.NewReplacer("name: hooked", "name: broken", "/prestop", "/prestop-broken",
		fmt.Sprintf("host: 127.0.0.1, path: /poststart, port: %d", hooks.port), "host: 127.0.0.1, path: /x, port: "+closed[strings.LastIndex(closed, ":")+1:]).Replace(hooked)
	c.commit("hooked pods", map[string]string{"hooked.yaml": hooked, "broken.yaml": broken})
	testutil.WaitFor(t, 30*time.Second, "postStart of hooked", func() bool { return hooks.saw("/poststart") })
	testutil.WaitFor(t, 60*time.Second, "broken to be restarted after its postStart failed", func() bool {
		for _, p := range c.pods() {
			if p.Name == "broken" && len(p.Status.ContainerStatuses) == 1 {
				last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
				return last != nil && strings.HasPrefix(last.Message, "PostStartHookError")
			}
		}
		return false
	})
	if hooks.saw("/prestop") {
		t.Fatal("hooked's preStop ran before its pod was deleted")
	}
	if !hooks.saw("/prestop-broken") {
		t.Error("killing broken after its postStart failed did not run its preStop (the kubelet runs it)")
	}
	var live corev1.Pod
	for _, p := range c.pods() {
		if p.Name == "hooked" {
			live = p
		}
	}
	if live.Status.Phase != corev1.PodRunning {
		t.Fatalf("hooked: %s", live.Status.Phase)
	}
	c.waitCommit(c.commit("delete both", map[string]string{"hooked.yaml": "", "broken.yaml": ""}), 0)
	if !hooks.saw("/prestop") {
		t.Error("preStop did not run before the pod was deleted")
	}
}
