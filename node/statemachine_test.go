package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"
)

// scriptedRuntime stands in for containerd in the state machine's unit
// tests: containers start at once and exit when the test says so. It is
// never on a path a user runs.
type scriptedRuntime struct {
	clock  *testingclock.FakeClock
	starts []StartSpec
}

func (r *scriptedRuntime) List(context.Context) ([]Container, error) { return nil, nil }
func (r *scriptedRuntime) Start(_ context.Context, s StartSpec) (Container, <-chan Exit, error) {
	r.starts = append(r.starts, s)
	return Container{ID: s.ID, Name: s.Container.Name, Attempt: s.Attempt, Running: true, StartedAt: r.clock.Now(), LogPath: s.LogPath},
		make(chan Exit), nil
}
func (r *scriptedRuntime) Wait(context.Context, string) (<-chan Exit, error) {
	return make(chan Exit), nil
}
func (r *scriptedRuntime) Stop(context.Context, string, time.Duration) error { return nil }
func (r *scriptedRuntime) Remove(context.Context, string) error              { return nil }
func (r *scriptedRuntime) Exec(context.Context, string, []string, time.Duration) (int, error) {
	return 0, nil
}
func (r *scriptedRuntime) Usage(context.Context, string) (CgroupUsage, error) {
	return CgroupUsage{}, nil
}
func (r *scriptedRuntime) ExecStream(context.Context, string, ExecStreams) (int, error) {
	return 0, nil
}

// machine is one pod worker on a fake clock and a scripted runtime.
type machine struct {
	t     *testing.T
	clock *testingclock.FakeClock
	rt    *scriptedRuntime
	w     *podWorker
	pod   *corev1.Pod
	ctx   context.Context
	next  time.Duration // when the worker asked to look again
}

func newMachine(t *testing.T, policy corev1.RestartPolicy) *machine {
	clock := testingclock.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	rt := &scriptedRuntime{clock: clock}
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), Clock: clock}, nil, rt)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"},
		Spec: corev1.PodSpec{RestartPolicy: policy, Containers: []corev1.Container{{Name: "app", Image: "kubia:v1"}}}}
	m := &machine{t: t, clock: clock, rt: rt, pod: pod, w: newPodWorker(a, pod, nil)}
	m.ctx = workerContext(t, m.w)
	m.sync()
	return m
}

// workerContext is the context a test syncs a worker in, as its run
// would: it ends with the test, and the worker's goroutines with it.
func workerContext(t *testing.T, w *podWorker) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); w.tasks.Wait() })
	return ctx
}

func (m *machine) sync() { m.next = m.w.syncPod(m.ctx) }

// exit ends the running attempt with code after it ran for d.
func (m *machine) exit(code int, oom bool, ran time.Duration) {
	m.clock.Step(ran)
	st := m.w.ctrs["app"]
	m.w.recordExit(exitEvent{name: "app", attempt: st.attempt, exit: Exit{Code: code, At: m.clock.Now(), OOMKilled: oom}})
	m.sync()
}

func (m *machine) status() corev1.ContainerStatus {
	return m.w.status(m.pod).ContainerStatuses[0]
}

// TestCrashLoopBackOff plays a container that keeps failing on a fake
// clock: the first restart is at once, then the waiting reason is
// CrashLoopBackOff with 10 s doubling to 5 min, and a run of more than 10
// minutes resets the back-off.
func TestCrashLoopBackOff(t *testing.T) {
	m := newMachine(t, corev1.RestartPolicyAlways)
	if s := m.status(); s.State.Running == nil || s.RestartCount != 0 {
		t.Fatalf("first start: %+v", s.State)
	}
	m.exit(1, false, time.Second)
	if s := m.status(); s.State.Running == nil || s.RestartCount != 1 || s.LastTerminationState.Terminated.Reason != "Error" {
		t.Fatalf("first restart is at once: %+v, last %+v", s.State, s.LastTerminationState)
	}
	var delays []string
	for i := 0; i < 7; i++ {
		m.exit(1, false, time.Second)
		if s := m.status(); s.State.Waiting == nil || s.State.Waiting.Reason != "CrashLoopBackOff" {
			t.Fatalf("exit %d: state %+v", i, s.State)
		}
		// The worker wakes when it asked to; the container must come
		// back exactly when its back-off runs out.
		waited := time.Duration(0)
		for m.status().State.Running == nil {
			if waited > 10*time.Minute {
				t.Fatalf("never restarted")
			}
			m.clock.Step(m.next)
			waited += m.next
			m.sync()
		}
		delays = append(delays, waited.String())
	}
	if got := fmt.Sprint(delays); got != "[10s 20s 40s 1m20s 2m40s 5m0s 5m0s]" {
		t.Errorf("back-offs %s", got)
	}
	m.exit(1, false, 11*time.Minute)
	if s := m.status(); s.State.Running == nil {
		t.Errorf("after a run of 11 minutes the restart is at once again: %+v", s.State)
	}
	if n := len(m.rt.starts); n != 10 || m.rt.starts[9].Attempt != 9 {
		t.Errorf("%d starts, last attempt %d; every restart is a new container", n, m.rt.starts[n-1].Attempt)
	}
}

func TestTerminatedReasons(t *testing.T) {
	m := newMachine(t, corev1.RestartPolicyOnFailure)
	m.exit(0, false, time.Second)
	s := m.status()
	if s.State.Terminated == nil || s.State.Terminated.Reason != "Completed" || s.RestartCount != 0 || m.w.status(m.pod).Phase != corev1.PodSucceeded {
		t.Errorf("exit 0 under OnFailure: %+v, phase %s", s.State, m.w.status(m.pod).Phase)
	}
	m = newMachine(t, corev1.RestartPolicyNever)
	m.exit(137, true, time.Second)
	s = m.status()
	if s.State.Terminated == nil || s.State.Terminated.Reason != "OOMKilled" || s.State.Terminated.ExitCode != 137 || m.w.status(m.pod).Phase != corev1.PodFailed {
		t.Errorf("OOM kill under Never: %+v, phase %s", s.State, m.w.status(m.pod).Phase)
	}
}

func TestShortenedBackoff(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), Clock: clock, Backoff: Backoff{Initial: time.Second, Max: 4 * time.Second}}, nil, &scriptedRuntime{clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	var seq []time.Duration
	var d time.Duration
	for range 4 {
		d = a.cfg.Backoff.nextBackoff(d)
		seq = append(seq, d)
	}
	if fmt.Sprint(seq) != "[1s 2s 4s 4s]" {
		t.Errorf("back-offs %v", seq)
	}
}

// TestEvictedPodStaysEvicted: an agent that starts (again) with a pod the
// master knows as evicted does not run it.
func TestEvictedPodStaysEvicted(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	rt := &scriptedRuntime{clock: clock}
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), Clock: clock}, nil, rt)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"},
		Spec:   corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "app", Image: "kubia:v1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "Usage of EmptyDir volume \"c\" exceeds the limit \"1Mi\". "}}
	w := newPodWorker(a, pod, nil)
	w.syncPod(workerContext(t, w))
	if len(rt.starts) != 0 || w.status(pod).Phase != corev1.PodFailed || w.status(pod).Reason != "Evicted" {
		t.Fatalf("starts %d, status %+v", len(rt.starts), w.status(pod))
	}
}
