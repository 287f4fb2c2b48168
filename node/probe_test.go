package node

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestProbeHandlers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" || r.Header.Get("X-Want") != "yes" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	probe := func(h corev1.ProbeHandler) *corev1.Probe { return &corev1.Probe{ProbeHandler: h, TimeoutSeconds: 1} }
	get := func(path string, port intstr.IntOrString) *corev1.Probe {
		return probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port,
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Want", Value: "yes"}}}})
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		p  *corev1.Probe
		ok bool
	}{
		"http by name":       {get("/healthz", intstr.FromString("http")), true},
		"http 503":           {get("/bad", intstr.FromInt32(int32(port))), false},
		"http closed port":   {get("/", intstr.FromInt32(int32(closed))), false},
		"tcp open":           {probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}), true},
		"tcp closed":         {probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(closed))}}), false},
		"unknown named port": {get("/", intstr.FromString("nope")), false},
	} {
		if err := probeOnce(ctx, nil, "", "127.0.0.1", c, tc.p); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", name, err, tc.ok)
		}
	}
}

// fakeExec answers exec probes from a script of exit codes.
type fakeExec struct {
	Runtime
	codes chan int
}

func (f *fakeExec) Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, error) {
	return <-f.codes, nil
}

func TestProberThresholds(t *testing.T) {
	rt := &fakeExec{codes: make(chan int, 32)}
	for _, code := range []int{1, 0, 0, 1, 1, 1} { // startup fails once, passes; then readiness/liveness
		rt.codes <- code
	}
	events := make(chan probeEvent, 8)
	exec := corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}
	c := &corev1.Container{
		StartupProbe:  &corev1.Probe{ProbeHandler: exec, PeriodSeconds: 0, SuccessThreshold: 1, FailureThreshold: 3, TimeoutSeconds: 1},
		LivenessProbe: &corev1.Probe{ProbeHandler: exec, PeriodSeconds: 0, SuccessThreshold: 1, FailureThreshold: 2, TimeoutSeconds: 1},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ended := make(chan struct{})
	defer func() { cancel(); <-ended }()
	go func() { defer close(ended); (&prober{rt: rt, id: "x", name: "c", c: c, events: events}).run(ctx) }()
	first, second := <-events, <-events
	if first.kind != probeStartup || !first.ok {
		t.Fatalf("first event %+v, want startup passed", first)
	}
	// Liveness: 0 (ok), 1, 1 -> fails at the second consecutive failure.
	if second.kind != probeLiveness || second.ok || !strings.HasPrefix(second.message, "Liveness probe failed") {
		t.Fatalf("second event %+v", second)
	}
	if n := len(rt.codes); n != 1 {
		t.Errorf("%d scripted results left, want 1 (the prober stops after a liveness failure)", n)
	}
}
