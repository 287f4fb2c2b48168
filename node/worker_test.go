package node

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestProcessArgs(t *testing.T) {
	ep, cmd := []string{"/app"}, []string{"-listen", ":80"}
	cases := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults", nil, nil, []string{"/app", "-listen", ":80"}},
		{"args replace cmd", nil, []string{"-v"}, []string{"/app", "-v"}},
		{"command replaces both", []string{"/bin/sh"}, nil, []string{"/bin/sh"}},
		{"command and args", []string{"/bin/sh"}, []string{"-c", "true"}, []string{"/bin/sh", "-c", "true"}},
	}
	for _, tc := range cases {
		if got := processArgs(ep, cmd, tc.command, tc.args); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":              "docker.io/library/busybox:latest",
		"kubia:v1":             "docker.io/library/kubia:v1",
		"127.0.0.1:5000/app:1": "127.0.0.1:5000/app:1",
		"quay.io/org/img":      "quay.io/org/img:latest",
		"library/busybox:1.36": "docker.io/library/busybox:1.36",
	} {
		got, err := NormalizeImage(in)
		if err != nil || got != want {
			t.Errorf("NormalizeImage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeImage("busy box:1"); err == nil {
		t.Error("invalid reference accepted")
	}
}

func TestRestartPolicyAndBackoff(t *testing.T) {
	for _, tc := range []struct {
		policy corev1.RestartPolicy
		code   int
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true}, {corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 1, true}, {corev1.RestartPolicyNever, 1, false},
	} {
		if got := shouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("shouldRestart(%s, %d) = %v", tc.policy, tc.code, got)
		}
	}
	var d time.Duration
	var seq []time.Duration
	for i := 0; i < 8; i++ {
		d = Backoff{DefaultBackoffInitial, DefaultBackoffMax}.nextBackoff(d)
		seq = append(seq, d)
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}
	if !reflect.DeepEqual(seq, want) {
		t.Errorf("back-off %v, want %v", seq, want)
	}
}

func TestPodStatus(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u"},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}},
	}
	now := time.Now()
	w := &podWorker{ctrs: map[string]*ctrState{}, started: now, initDone: true}
	if s := w.status(pod); s.Phase != corev1.PodPending || s.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
		t.Fatalf("nothing started: %+v", s)
	}
	w.ctrs["a"] = &ctrState{id: "a0", running: true, started: true, startedAt: now}
	w.ctrs["b"] = &ctrState{id: "b0", exit: &Exit{Code: 0, At: now}, startedAt: now}
	s := w.status(pod)
	if s.Phase != corev1.PodRunning || ready(s) {
		t.Fatalf("one running, one completed: phase %s ready %v", s.Phase, ready(s))
	}
	if term := s.ContainerStatuses[1].State.Terminated; term == nil || term.Reason != "Completed" {
		t.Fatalf("completed container: %+v", s.ContainerStatuses[1].State)
	}
	w.ctrs["a"] = &ctrState{id: "a0", exit: &Exit{Code: 2, At: now}, startedAt: now}
	if s := w.status(pod); s.Phase != corev1.PodFailed || s.ContainerStatuses[0].State.Terminated.Reason != "Error" {
		t.Fatalf("one failed: %+v", s)
	}
	pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	w.ctrs["a"] = &ctrState{id: "a1", attempt: 1, restarts: 1, waiting: "CrashLoopBackOff", exit: &Exit{Code: 2, At: now}}
	w.ctrs["b"] = &ctrState{id: "b0", running: true, started: true, startedAt: now}
	s = w.status(pod)
	if s.Phase != corev1.PodRunning || s.ContainerStatuses[0].State.Waiting.Reason != "CrashLoopBackOff" || s.ContainerStatuses[0].RestartCount != 1 {
		t.Fatalf("crash loop: %+v", s.ContainerStatuses[0])
	}
	// Readiness: running and started is not ready while a readiness probe
	// has not passed; a startup probe holds Started back.
	pod.Spec.Containers = []corev1.Container{{Name: "b", ReadinessProbe: &corev1.Probe{}}}
	if s := w.status(pod); ready(s) || !*s.ContainerStatuses[0].Started {
		t.Fatalf("readiness not yet passed: %+v", s.ContainerStatuses[0])
	}
	w.ctrs["b"].ready = true
	if s := w.status(pod); !ready(s) {
		t.Fatal("readiness passed but the pod is not Ready")
	}
	w.ctrs["b"].started = false
	if s := w.status(pod); ready(s) || *s.ContainerStatuses[0].Started {
		t.Fatal("ready before the startup probe passed")
	}
}

func ready(s corev1.PodStatus) bool {
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestContainerIDFitsContainerd(t *testing.T) {
	long := "a-container-name-that-is-sixty-three-characters-long-abcdefghijk"
	id := containerID("0123456789abcdef-0123-4567-89ab-cdef01234567", long, 1234)
	if len(id) > 76 {
		t.Errorf("id %q is %d characters; containerd allows 76", id, len(id))
	}
}

func TestInitContainerStatus(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways,
		InitContainers: []corev1.Container{{Name: "init"}}, Containers: []corev1.Container{{Name: "app"}}}}
	now := time.Now()
	w := &podWorker{ctrs: map[string]*ctrState{"init": {id: "i0", running: true, started: true, startedAt: now}}, started: now}
	s := w.status(pod)
	if s.Phase != corev1.PodPending || s.Conditions[0].Status != corev1.ConditionFalse ||
		s.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" || s.InitContainerStatuses[0].State.Running == nil {
		t.Fatalf("initializing: %+v", s)
	}
	w.ctrs["init"] = &ctrState{id: "i0", exit: &Exit{Code: 0, At: now}, startedAt: now}
	w.initDone = true
	w.ctrs["app"] = &ctrState{id: "a0", running: true, started: true, startedAt: now}
	s = w.status(pod)
	if s.Phase != corev1.PodRunning || s.Conditions[0].Status != corev1.ConditionTrue || !ready(s) ||
		s.InitContainerStatuses[0].State.Terminated.Reason != "Completed" {
		t.Fatalf("initialized: %+v", s)
	}
	w = &podWorker{ctrs: map[string]*ctrState{"init": {id: "i0", exit: &Exit{Code: 1, At: now}}}, started: now, initFailed: true}
	if s := w.status(pod); s.Phase != corev1.PodFailed {
		t.Fatalf("failed init under Never: phase %s", s.Phase)
	}
}
