package raftstore

import (
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/internal/testutil"
)

// BenchmarkApplyDuringSnapshot measures how long Raft applies take while
// the FSM takes a snapshot of 30,000 pods on 1,000 nodes: four writers
// apply heartbeat batches back to back, and the latencies of those that
// start while a snapshot runs are compared with those just before it.
// (It uses only what every release's raftstore has, so that it can run
// on an older release's tree for a before-and-after figure.)
func BenchmarkApplyDuringSnapshot(b *testing.B) {
	const nodes, pods = 1000, 30000
	s := benchStore(b)
	defer s.Close()
	names := fillStore(b, s, nodes, pods)
	b.ResetTimer()
	var during, before []time.Duration
	var snapshots time.Duration
	for range b.N {
		quiet, busy, took := applyWhile(b, s, names[:10], func() {
			if err := s.Snapshot(); err != nil {
				b.Fatal(err)
			}
		})
		before, during, snapshots = append(before, quiet...), append(during, busy...), snapshots+took
	}
	b.StopTimer()
	work := fmt.Sprintf("%d pods on %d nodes, 4 writers of 10-node heartbeat batches, %d snapshots", pods, nodes, b.N)
	benchrow.Record(b, benchrow.Row{ID: "B7", Name: "raft apply p99 while a snapshot is taken", Value: quantile(during, 0.99).Seconds() * 1000,
		Unit: "ms", Better: "lower", Work: fmt.Sprintf("%s; %d applies; p50 %v, max %v; snapshot %v; p99 without a snapshot %v", work, len(during),
			quantile(during, 0.5).Round(time.Microsecond), quantile(during, 1).Round(time.Microsecond), (snapshots / time.Duration(b.N)).Round(time.Millisecond),
			quantile(before, 0.99).Round(time.Microsecond))})
}

// applyWhile runs four writers of heartbeat batches, first alone for as
// long as run will take (guessed from a first run, 200 ms at least), then
// during run; it returns the apply latencies of both windows and how long
// run took.
func applyWhile(b *testing.B, s *Store, names []string, run func()) (quiet, busy []time.Duration, took time.Duration) {
	var mu sync.Mutex
	type sample struct {
		start time.Time
		d     time.Duration
	}
	var samples []sample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				if _, err := s.Heartbeats(names); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				samples = append(samples, sample{start, time.Since(start)})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second) // the quiet window
	begin := time.Now()
	run()
	end := time.Now()
	close(stop)
	wg.Wait()
	for _, sm := range samples {
		switch {
		case !sm.start.Before(begin) && sm.start.Before(end):
			busy = append(busy, sm.d)
		case sm.start.Before(begin) && sm.start.After(begin.Add(-time.Second)):
			quiet = append(quiet, sm.d)
		}
	}
	return quiet, busy, end.Sub(begin)
}

// quantile is the q-quantile of ds (q = 1: the largest).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func benchStore(b *testing.B) *Store {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := New(Config{Name: "m0", DataDir: b.TempDir(), RaftAddr: addr, Bootstrap: true, MaxLog: 100, LogOutput: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	testutil.WaitFor(b, 10*time.Second, "m0 leading", s.IsLeader)
	return s
}

// fillStore registers nodes and creates pods spread over them, each
// with a running status, in batches of 1,000; it returns the nodes'
// names.
func fillStore(b *testing.B, s *Store, nodes, pods int) []string {
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("node-%04d", i)
		if _, err := s.RegisterNode(&api.Registration{Name: names[i], CPU: resource.MustParse("16"), Memory: resource.MustParse("64Gi")}); err != nil {
			b.Fatal(err)
		}
	}
	for first := 0; first < pods; first += 1000 {
		var plan api.Plan
		var reports []*api.StatusBatch
		for i := first; i < min(first+1000, pods); i++ {
			p := benchPod(i, names[i%nodes])
			plan.Create = append(plan.Create, p)
			reports = append(reports, &api.StatusBatch{Node: p.Spec.NodeName, Reports: []api.PodReport{{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID),
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", StartTime: &metav1.Time{Time: time.Now()},
					Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, Image: "kubia:v1", ContainerID: "containerd://" + string(p.UID)}}}}}})
		}
		if _, err := s.ApplyPlan(&plan, time.Now()); err != nil {
			b.Fatal(err)
		}
		if err := s.ReportStatuses(reports); err != nil {
			b.Fatal(err)
		}
	}
	return names
}

func benchPod(i int, node string) corev1.Pod {
	name := fmt.Sprintf("web-%05d", i)
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(fmt.Sprintf("uid-%05d", i)),
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"berth.dev/owner": "ReplicaSet/web-5d8f", "berth.dev/commit": "c1c1c1c1c1c1"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "kubia:v1",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}}, Env: []corev1.EnvVar{{Name: "VERSION", Value: "v1"}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}}},
	}
}
