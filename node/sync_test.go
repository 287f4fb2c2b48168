package node

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// TestOnlyChangedPodsWakeTheirWorkers: an assignment answer hands a
// worker its pod again only when the pod changed or the node's ConfigMaps
// and Secrets did; a pod created beside it leaves it alone.
func TestOnlyChangedPodsWakeTheirWorkers(t *testing.T) {
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), Hollow: true}, nil, NewHollowRuntime(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := agentContext(t, a)
	web := fencePod("web-0", "web")
	a.sync(ctx, &api.Assignments{Index: 1, Pods: []corev1.Pod{web}}, true)
	worker := a.workers["uid-web"]
	handed := worker.current()

	a.sync(ctx, &api.Assignments{Index: 2, Pods: []corev1.Pod{web, fencePod("db-0", "db")}}, false)
	if worker.current() != handed {
		t.Error("a pod created on the node handed web-0's unchanged pod to its worker again")
	}

	config := []corev1.ConfigMap{{}}
	config[0].Namespace, config[0].Name = "default", "settings"
	a.sync(ctx, &api.Assignments{Index: 3, Pods: []corev1.Pod{web}, ConfigMaps: config}, false)
	if worker.current() == handed {
		t.Error("a new ConfigMap on the node did not reach web-0's worker")
	}
	handed = worker.current()

	web.Labels = map[string]string{"tier": "front"}
	a.sync(ctx, &api.Assignments{Index: 4, Pods: []corev1.Pod{web}, ConfigMaps: config}, false)
	if got := worker.current(); got == handed || got.Labels["tier"] != "front" {
		t.Error("web-0's new labels did not reach its worker")
	}
}
