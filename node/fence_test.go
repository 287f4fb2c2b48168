package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// orderRuntime records container starts and stops in order; a stop takes
// a while, as a container's grace period does.
type orderRuntime struct {
	HollowRuntime
	mu     sync.Mutex
	events []string
	pods   map[string]string // container ID → pod name
}

func (r *orderRuntime) record(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *orderRuntime) Start(ctx context.Context, s StartSpec) (Container, <-chan Exit, error) {
	r.mu.Lock()
	r.pods[s.ID] = s.Pod.Name
	r.mu.Unlock()
	r.record("start " + s.Pod.Name)
	return r.HollowRuntime.Start(ctx, s)
}

func (r *orderRuntime) Stop(ctx context.Context, id string, grace time.Duration) error {
	time.Sleep(300 * time.Millisecond)
	r.mu.Lock()
	name := r.pods[id]
	r.mu.Unlock()
	r.record("stop " + name)
	return r.HollowRuntime.Stop(ctx, id, grace)
}

func (r *orderRuntime) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func fencePod(name, uid string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + uid)},
		Spec: corev1.PodSpec{NodeName: "n1", RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "app", Image: "kubia:v1"}}}}
}

// TestFencingStopsUnboundPodsFirst: when the master has taken a pod from
// the node (it is gone from the assignments, as after a partition) and
// gives it another, the new pod's container starts only after the old
// one's stopped, even though the stop takes a while.
func TestFencingStopsUnboundPodsFirst(t *testing.T) {
	rt := &orderRuntime{HollowRuntime: *NewHollowRuntime(0), pods: map[string]string{}}
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), Hollow: true}, nil, rt)
	if err != nil {
		t.Fatal(err)
	}
	ctx := agentContext(t, a)
	a.sync(ctx, &api.Assignments{Index: 1, Pods: []corev1.Pod{fencePod("db-0", "old")}}, true)
	waitEvents(t, rt, 1)
	a.sync(ctx, &api.Assignments{Index: 2, Pods: []corev1.Pod{fencePod("web-1", "new")}}, false)
	got := waitEvents(t, rt, 3)
	if got[0] != "start db-0" || got[1] != "stop db-0" || got[2] != "start web-1" {
		t.Fatalf("events %v; want db-0 stopped before web-1 starts", got)
	}
}

func waitEvents(t *testing.T, rt *orderRuntime, n int) []string {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%d runtime calls", n), func() bool { return len(rt.snapshot()) >= n })
	return rt.snapshot()
}

// agentContext is the context a test runs an agent's parts in, as Run
// would: it ends with the test, which waits for the agent's goroutines.
func agentContext(t *testing.T, a *Agent) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); a.tasks.Wait() })
	return ctx
}
