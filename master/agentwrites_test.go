package master

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/raftstore"
)

// TestHeartbeatsAreBatched sends 50 heartbeats at once, and one of a node
// that never registered: they become a few Raft entries, not 51, each
// node's heartbeat is recorded, and the unknown node alone gets 404.
func TestHeartbeatsAreBatched(t *testing.T) {
	c, _ := startMaster(t)
	ctx := context.Background()
	for i := range 50 {
		if err := c.Register(ctx, &api.Registration{Name: fmt.Sprintf("n%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := waitStatus(t, c, func(s *api.Status) bool { return s.Nodes == 50 })
	// Node times are shown to the second: let the second of the
	// registrations pass, so that a recorded heartbeat shows.
	registeredBy := time.Now().Truncate(time.Second)
	testutil.WaitFor(t, 2*time.Second, "the clock's next second", func() bool { return time.Now().Truncate(time.Second).After(registeredBy) })
	var wg sync.WaitGroup
	errs := make(chan error, 51)
	for i := range 51 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := c.Heartbeat(ctx, fmt.Sprintf("n%02d", i)); errs <- err }()
	}
	wg.Wait()
	close(errs)
	var unknown int
	for err := range errs {
		var apiErr *client.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && strings.Contains(err.Error(), "n50"):
			unknown++
		case err != nil:
			t.Fatal(err)
		}
	}
	if unknown != 1 {
		t.Errorf("%d heartbeats of the unknown node n50 refused with 404; want 1", unknown)
	}
	if next, err := c.Heartbeat(ctx, "n00"); err != nil || next != 100*time.Millisecond {
		t.Errorf("heartbeat answer: next in %v, %v; want 100 ms (50 nodes at 500 heartbeats/s)", next, err)
	}
	// Heartbeats are answered before they are written: wait for the
	// record of each.
	testutil.Await(t, 5*time.Second, func() error {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes.Items {
			if hb := n.Status.Conditions[0].LastHeartbeatTime; !hb.Time.After(registeredBy) {
				return fmt.Errorf("the heartbeat of %s was not recorded: last %v, registered by %v", n.Name, hb, registeredBy)
			}
		}
		return nil
	})
	after, err := c.Status(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if entries := after.Index - before.Index; entries > 10 {
		t.Errorf("50 heartbeats took %d Raft entries", entries)
	}
}

// TestReportsAreBatched sends 50 nodes' status reports at once: they
// become a few Raft entries, not 50, and every report's event is stored.
func TestReportsAreBatched(t *testing.T) {
	c, _ := startMaster(t)
	ctx := context.Background()
	before := waitStatus(t, c, func(s *api.Status) bool { return s.Index > 0 })
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := fmt.Sprintf("n%02d", i)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p-" + node, UID: types.UID("uid-" + node)}}
			ev := api.NewEvent(api.PodRef(pod), corev1.EventTypeNormal, "Started", "started on "+node, "kubelet", node, time.Now())
			errs <- c.Report(ctx, &api.StatusBatch{Node: node, Events: []corev1.Event{ev}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	after := waitStatus(t, c, func(s *api.Status) bool { return s.Index > before.Index })
	if entries := after.Index - before.Index; entries > 10 {
		t.Errorf("50 status reports took %d Raft entries", entries)
	}
	events, err := c.Events(ctx, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events.Items {
		seen[e.Message] = true
	}
	for i := range 50 {
		if msg := fmt.Sprintf("started on n%02d", i); !seen[msg] {
			t.Errorf("event %q was not stored", msg)
		}
	}
}

// TestBatcherFullBatch gives a batcher a window of an hour: a full batch
// is still written at once, and each request gets its write's answer.
func TestBatcherFullBatch(t *testing.T) {
	var mu sync.Mutex
	var total int
	b := batcher[int]{window: time.Hour, writeItems: func(items []int) error {
		mu.Lock()
		defer mu.Unlock()
		total += len(items)
		return fmt.Errorf("a write of %d items", len(items))
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range fullBatch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.do(ctx, i)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				t.Errorf("item %d: not written within 10 s", i)
			case err == nil || !strings.HasPrefix(err.Error(), "a write of "):
				t.Errorf("item %d got %v; want its write's answer", i, err)
			}
		}()
	}
	wg.Wait()
	if total != fullBatch {
		t.Errorf("%d items written; want %d", total, fullBatch)
	}
}

// TestBatcherGroupCommit holds the first write open while 50 more
// requests arrive: they are not written beside it but wait, and all go
// in the one write that follows.
func TestBatcherGroupCommit(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	b := batcher[int]{writeItems: func(items []int) error {
		mu.Lock()
		first := len(sizes) == 0
		sizes = append(sizes, len(items))
		mu.Unlock()
		if first {
			<-release
		}
		return nil
	}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.do(context.Background(), 0) }()
	testutil.WaitFor(t, 5*time.Second, "the first write to start", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sizes) == 1
	})
	for i := range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); b.do(context.Background(), i+1) }()
	}
	testutil.Await(t, 5*time.Second, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if waiting := len(b.items); waiting != 50 {
			return fmt.Errorf("%d requests waiting; want 50", waiting)
		}
		return nil
	})
	close(release)
	wg.Wait()
	if len(sizes) != 2 || sizes[1] != 50 {
		t.Errorf("writes of %v items; want [1 50]", sizes)
	}
}

// TestNodesAreJudgedOnTheHeartbeatClock: a node whose last heartbeat is
// older than the timeout is still Ready while the record of every node's
// heartbeats is as far behind (the master is slow to write them); it is
// NotReady when the others' heartbeats are recorded and its own is not,
// and when none is recorded for long (the lag stops at one timeout).
func TestNodesAreJudgedOnTheHeartbeatClock(t *testing.T) {
	m := &Master{cfg: Config{NodeTimeout: 10 * time.Second}}
	now := time.Now()
	ready := func(stamp, last time.Duration) bool {
		v := raftstore.View{HeartbeatStamp: now.Add(-stamp), Nodes: []api.Node{{Name: "n1", LastHeartbeat: now.Add(-last)}}}
		return m.creditedNodes(v, now)[0].ReadyWithin(now, m.cfg.NodeTimeout)
	}
	for _, c := range []struct {
		stamp, last time.Duration
		want        bool
	}{
		{0, 5 * time.Second, true},
		{0, 11 * time.Second, false},                // the others are recorded, n1 is not
		{5 * time.Second, 12 * time.Second, true},   // every record 5 s behind
		{5 * time.Second, 16 * time.Second, false},  // 11 s older than the newest
		{30 * time.Second, 30 * time.Second, false}, // nothing recorded for 30 s
	} {
		if got := ready(c.stamp, c.last); got != c.want {
			t.Errorf("newest heartbeat %v ago, n1's %v ago: ready %v, want %v", c.stamp, c.last, got, c.want)
		}
	}
	if got := m.creditedNodes(raftstore.View{HeartbeatStamp: now.Add(-5 * time.Second), Nodes: []api.Node{{Name: "n1", LastHeartbeat: now.Add(-7 * time.Second)}}}, now)[0].LastHeartbeat; !got.Equal(now.Add(-2 * time.Second)) {
		t.Errorf("credited heartbeat %v; want 2 s ago", now.Sub(got))
	}
}

// TestLargeClustersWaitLongerForHeartbeats: a node whose last heartbeat
// is 30 s old is NotReady in a cluster of 100 nodes, and Ready in one of
// 5,000, whose agents were asked for a heartbeat every 10 s.
func TestLargeClustersWaitLongerForHeartbeats(t *testing.T) {
	m := &Master{cfg: Config{NodeTimeout: 10 * time.Second}}
	now := time.Now()
	for _, c := range []struct {
		nodes int
		ready bool
	}{{100, false}, {5000, true}} {
		v := raftstore.View{HeartbeatStamp: now, Nodes: make([]api.Node, c.nodes)}
		v.Nodes[0] = api.Node{Name: "n1", LastHeartbeat: now.Add(-30 * time.Second)}
		if got := m.creditedNodes(v, now)[0].ReadyWithin(now, m.nodeTimeout(v)); got != c.ready {
			t.Errorf("%d nodes, n1's heartbeat 30 s old: Ready %v, want %v", c.nodes, got, c.ready)
		}
	}
}
