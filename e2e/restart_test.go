//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

func exitingPod(name, policy string, code int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: %s
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-exit", "%d"]
`, name, policy, code)
}

// TestRestartPolicies runs containers that exit at once under each policy.
func TestRestartPolicies(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.commit("exiting pods", map[string]string{
		"never.yaml":     exitingPod("never-fails", "Never", 3),
		"onfailure.yaml": exitingPod("onfailure-ok", "OnFailure", 0),
		"always.yaml":    exitingPod("always-ok", "Always", 0),
		"retry.yaml":     exitingPod("onfailure-fails", "OnFailure", 1),
	})
	cs := func(p corev1.Pod) corev1.ContainerStatus {
		if len(p.Status.ContainerStatuses) == 0 {
			return corev1.ContainerStatus{}
		}
		return p.Status.ContainerStatuses[0]
	}
	testutil.WaitFor(t, 60*time.Second, "every pod to reach its state", func() bool {
		m := c.podsByName()
		never, okPod := m["never-fails"], m["onfailure-ok"]
		always, retry := m["always-ok"], m["onfailure-fails"]
		return never.Status.Phase == corev1.PodFailed && okPod.Status.Phase == corev1.PodSucceeded &&
			cs(always).RestartCount >= 1 && cs(retry).RestartCount >= 1
	})
	m := c.podsByName()
	if term := cs(m["never-fails"]).State.Terminated; term == nil || term.ExitCode != 3 || term.Reason != "Error" || cs(m["never-fails"]).RestartCount != 0 {
		t.Errorf("Never, exit 3: %+v", cs(m["never-fails"]))
	}
	if term := cs(m["onfailure-ok"]).State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" || cs(m["onfailure-ok"]).RestartCount != 0 {
		t.Errorf("OnFailure, exit 0: %+v", cs(m["onfailure-ok"]))
	}
	for _, name := range []string{"always-ok", "onfailure-fails"} {
		if last := cs(m[name]).LastTerminationState.Terminated; last == nil {
			t.Errorf("%s: no lastState after a restart: %+v", name, cs(m[name]))
		}
	}
	// The second exit waits out a 10 s back-off, shown as CrashLoopBackOff.
	c.waitingReason("always-ok", "CrashLoopBackOff")
	if s := c.status(); s.Converged {
		t.Error("converged with pods in CrashLoopBackOff")
	}
}

// TestMemoryLimit: a container that allocates past its memory limit is
// killed by the kernel and reported as OOMKilled with exit code 137.
func TestMemoryLimit(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	pod := strings.Replace(exitingPod("hog", "Never", 0), `args: ["-exit", "0"]`,
		`args: ["-alloc", "200", "-listen", "127.0.0.1:0"]
    resources:
      limits: {memory: 32Mi, cpu: 500m}`, 1)
	c.commit("memory hog", map[string]string{"hog.yaml": pod})
	var p corev1.Pod
	testutil.WaitFor(t, 60*time.Second, "the hog to be OOM-killed", func() bool {
		for _, q := range c.pods() {
			if q.Name == "hog" && q.Status.Phase == corev1.PodFailed {
				p = q
				return true
			}
		}
		return false
	})
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Fatalf("terminated %+v", term)
	}
	if p.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Errorf("QoS class %q, want Guaranteed (limits only: requests default to them)", p.Status.QOSClass)
	}
}

func initPod(name, policy string, initExit int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  restartPolicy: %s
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: first
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-exit", "0"]
  - name: second
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-exit", "%d"]
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0"]
`, name, policy, initExit)
}

// TestInitContainers: init containers run one at a time, each to success,
// before the app; a failing one is retried (Always) or fails the pod
// (Never), and the app never starts.
func TestInitContainers(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.commit("init pods", map[string]string{
		"ok.yaml":    initPod("ok", "Always", 0),
		"retry.yaml": initPod("retry", "Always", 1),
		"never.yaml": initPod("never", "Never", 1),
	})
	testutil.WaitFor(t, 60*time.Second, "ok running, retry retrying, never failed", func() bool {
		m := c.podsByName()
		ok, retry, never := m["ok"], m["retry"], m["never"]
		return ok.Status.Phase == corev1.PodRunning && never.Status.Phase == corev1.PodFailed &&
			len(retry.Status.InitContainerStatuses) == 2 && retry.Status.InitContainerStatuses[1].RestartCount >= 1
	})
	m := c.podsByName()
	for _, ics := range m["ok"].Status.InitContainerStatuses {
		if ics.State.Terminated == nil || ics.State.Terminated.Reason != "Completed" {
			t.Errorf("ok: init %s: %+v", ics.Name, ics.State)
		}
	}
	for _, name := range []string{"retry", "never"} {
		p := m[name]
		if w := p.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
			t.Errorf("%s: app state %+v, want waiting PodInitializing", name, p.Status.ContainerStatuses[0].State)
		}
		if p.Status.Conditions[1].Type == corev1.PodInitialized && p.Status.Conditions[1].Status == corev1.ConditionTrue {
			t.Errorf("%s: Initialized", name)
		}
	}
	if term := m["never"].Status.InitContainerStatuses[1].State.Terminated; term == nil || term.ExitCode != 1 {
		t.Errorf("never: second init %+v", m["never"].Status.InitContainerStatuses[1].State)
	}
	for _, tk := range c.running() {
		if tk.pod != "ok" && tk.pod != "retry" {
			t.Errorf("container of %s runs", tk.pod)
		}
	}
}

// TestCrashLoopBackOffTimings runs a container that always fails on an
// agent with a shortened back-off (--backoff-initial 1s --backoff-max
// 2s): the first restart is at once, the next ones wait 1 s, then 2 s,
// then 2 s, as the kubelet's 10 s doubling to 5 min does on its scale.
func TestCrashLoopBackOffTimings(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--backoff-initial", "1s", "--backoff-max", "2s")
	c.commit("crasher", map[string]string{"crasher.yaml": exitingPod("crasher", "Always", 1)})
	var at []time.Time
	sawBackOff := false
	testutil.WaitFor(t, 60*time.Second, "4 restarts", func() bool {
		p, ok := c.podsByName()["crasher"]
		if !ok || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			sawBackOff = true
		}
		for len(at) <= int(cs.RestartCount) {
			at = append(at, time.Now())
		}
		return cs.RestartCount >= 4
	})
	gaps := []time.Duration{at[2].Sub(at[1]), at[3].Sub(at[2]), at[4].Sub(at[3])}
	want := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second}
	for i := range gaps {
		if gaps[i] < want[i]-300*time.Millisecond || gaps[i] > want[i]+3*time.Second {
			t.Errorf("restart %d came %v after the one before, want about %v (gaps %v)", i+2, gaps[i], want[i], gaps)
		}
	}
	if !sawBackOff {
		t.Error("never saw the waiting reason CrashLoopBackOff")
	}
}
