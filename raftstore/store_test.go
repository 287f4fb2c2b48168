package raftstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mustStore(t *testing.T, dir, addr string) *Store {
	t.Helper()
	s, err := New(Config{Name: "m0", DataDir: dir, RaftAddr: addr, Bootstrap: true, MaxLog: 100, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "m0 leading", s.IsLeader)
	return s
}

func pod(name, node string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// fill applies one of every command.
func fill(t *testing.T, s *Store) {
	t.Helper()
	must := func(_ uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RegisterNode(&api.Registration{Name: "n1", Labels: map[string]string{"disk": "ssd"}}))
	must(s.Heartbeat("n1"))
	must(s.ApplyRevision(&api.Revision{CommitInfo: api.CommitInfo{Commit: "aaa"}, Objects: &api.ObjectSet{Pods: []corev1.Pod{pod("p", "")}}}))
	must(s.ApplyRevision(&api.Revision{CommitInfo: api.CommitInfo{Commit: "bbb"}, Errors: []string{"x.yaml: document 0: kind: required"}}))
	must(s.ApplyPlan(&api.Plan{Create: []corev1.Pod{pod("p1", "n1"), pod("p2", ""), pod("p3", "n1")}}, time.Now()))
	must(s.ApplyPlan(&api.Plan{Bind: []api.Binding{{Pod: "default/p2", Node: "n1"}}, Delete: []string{"default/p3"}}, time.Now()))
	must(s.ReportStatus(&api.StatusBatch{Node: "n1", Reports: []api.PodReport{
		{Namespace: "default", Name: "p1", UID: "uid-p1", Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		{Namespace: "default", Name: "p3", UID: "uid-p3", Removed: true},
		{Namespace: "default", Name: "p2", UID: "stale-uid", Status: corev1.PodStatus{Phase: corev1.PodFailed}},
	}}))
}

func digest(t *testing.T, s *Store) [32]byte {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	data, err := json.Marshal(s.state)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func TestCommands(t *testing.T) {
	s := mustStore(t, t.TempDir(), freeAddr(t))
	defer s.Close()
	fill(t, s)
	v := s.View(true)
	if v.LiveCommit != "aaa" || v.SeenCommit != "bbb" {
		t.Errorf("live %q seen %q; want aaa, bbb", v.LiveCommit, v.SeenCommit)
	}
	if len(v.Log) != 2 || v.Log[0].Outcome != api.OutcomeApplied || v.Log[1].Outcome != api.OutcomeRejected {
		t.Errorf("log %+v", v.Log)
	}
	got := map[string]corev1.Pod{}
	for _, p := range v.Pods {
		got[p.Name] = p
	}
	if len(got) != 2 {
		t.Fatalf("pods %v; want p1 and p2 (p3 removed by its agent)", got)
	}
	if got["p1"].Status.Phase != corev1.PodRunning || got["p2"].Status.Phase == corev1.PodFailed {
		t.Errorf("status: p1 %q, p2 %q (a stale UID must be ignored)", got["p1"].Status.Phase, got["p2"].Status.Phase)
	}
	if got["p2"].Spec.NodeName != "n1" {
		t.Errorf("p2 not bound")
	}
	if _, err := s.Heartbeat("ghost"); err == nil {
		t.Error("heartbeat of an unknown node accepted")
	}
}

func TestRestartKeepsState(t *testing.T) {
	for _, snap := range []bool{false, true} {
		name := "log replay"
		if snap {
			name = "snapshot"
		}
		t.Run(name, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			s := mustStore(t, dir, addr)
			fill(t, s)
			if snap {
				if err := s.Snapshot(); err != nil {
					t.Fatal(err)
				}
			}
			want := digest(t, s)
			s.Close()
			s2 := mustStore(t, dir, addr)
			defer s2.Close()
			if err := s2.Barrier(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			if digest(t, s2) != want {
				t.Fatal("restarted store has a different state")
			}
			// The index of pods by node is rebuilt too.
			if a := s2.NodePods(context.Background(), "n1", 0); len(a.Pods) != 2 || a.Pods[0].Name != "p1" || a.Pods[1].Name != "p2" {
				t.Fatalf("pods of n1 after the restart: %+v", a.Pods)
			}
		})
	}
}

func TestNodePodsBlocksUntilChange(t *testing.T) {
	s := mustStore(t, t.TempDir(), freeAddr(t))
	defer s.Close()
	fill(t, s)
	first := s.NodePods(context.Background(), "n1", 0)
	if len(first.Pods) != 2 {
		t.Fatalf("got %d pods", len(first.Pods))
	}
	done := make(chan api.Assignments, 1)
	go func() { done <- s.NodePods(context.Background(), "n1", first.Index) }()
	// A status report is not a change of assignments: the query keeps waiting.
	s.ReportStatus(&api.StatusBatch{Node: "n1", Reports: []api.PodReport{{Namespace: "default", Name: "p1", UID: "uid-p1"}}})
	s.ApplyPlan(&api.Plan{Create: []corev1.Pod{pod("p4", "n1")}}, time.Now())
	select {
	case a := <-done:
		if len(a.Pods) != 3 || a.Index <= first.Index {
			t.Fatalf("after create: %d pods at index %d", len(a.Pods), a.Index)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking query did not return after a change")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if a := s.NodePods(ctx, "n1", s.Index()+100); len(a.Pods) != 3 {
		t.Fatalf("timed-out query returned %d pods", len(a.Pods))
	}
}

func TestWaitReadyAfterRestart(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	s := mustStore(t, dir, addr)
	fill(t, s)
	want := s.Index()
	s.Close()
	s2, err := New(Config{Name: "m0", DataDir: dir, RaftAddr: addr, Bootstrap: true, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s2.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s2.Index(); got < want {
		t.Fatalf("ready at index %d, before the last command %d", got, want)
	}
}

// A single master may come back on another Raft port (berth up picks a free
// one each start): it must still lead and keep its state.
func TestRestartOnAnotherAddress(t *testing.T) {
	dir := t.TempDir()
	s := mustStore(t, dir, "127.0.0.1:0")
	fill(t, s)
	want := digest(t, s)
	s.Close()
	s2 := mustStore(t, dir, "127.0.0.1:0")
	defer s2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s2.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if digest(t, s2) != want {
		t.Fatal("state differs after a restart on another address")
	}
	if _, err := s2.Heartbeat("n1"); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}

func TestRevisionLogOutcomesAndRollouts(t *testing.T) {
	s := mustStore(t, t.TempDir(), freeAddr(t))
	defer s.Close()
	info := func(sha string) api.CommitInfo { return api.CommitInfo{Commit: sha} }
	steps := []func() (uint64, error){
		func() (uint64, error) {
			return s.ApplyRevision(&api.Revision{CommitInfo: info("a"), Objects: &api.ObjectSet{}})
		},
		func() (uint64, error) { return s.EndRollout("a", api.Rollout{State: api.RolloutConverged}) },
		func() (uint64, error) {
			return s.ApplyRevision(&api.Revision{CommitInfo: info("d"), Objects: &api.ObjectSet{}, Superseded: []api.CommitInfo{info("b"), info("c")}})
		},
		func() (uint64, error) {
			return s.ApplyRevision(&api.Revision{CommitInfo: info("e"), Objects: &api.ObjectSet{}})
		},
		func() (uint64, error) { return s.EndRollout("d", api.Rollout{State: api.RolloutConverged}) }, // not live: ignored
	}
	for _, step := range steps {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	v := s.View(true)
	var got []string
	for _, e := range v.Log {
		r := "-"
		if e.Rollout != nil {
			r = string(e.Rollout.State) + e.Rollout.By
		}
		got = append(got, e.Commit+":"+string(e.Outcome)+":"+r)
	}
	want := "a:applied:converged b:superseded:- c:superseded:- d:applied:replacede e:applied:-"
	if strings.Join(got, " ") != want {
		t.Fatalf("log %q\nwant %q", strings.Join(got, " "), want)
	}
	if v.LiveEntry == nil || v.LiveEntry.Commit != "e" {
		t.Fatalf("live entry %+v", v.LiveEntry)
	}
}
