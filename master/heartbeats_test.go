package master

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/berth-dev/berth/api"
)

// TestHeartbeatsAreBatched sends 50 heartbeats at once: they become a few
// Raft entries, not 50, and each node's heartbeat is recorded.
func TestHeartbeatsAreBatched(t *testing.T) {
	c, _ := startMaster(t)
	ctx := context.Background()
	for i := range 50 {
		if err := c.Register(ctx, &api.Registration{Name: fmt.Sprintf("n%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := waitStatus(t, c, func(s *api.Status) bool { return s.Nodes == 50 })
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]string{}
	for _, n := range nodes.Items {
		registered[n.Name] = n.Status.Conditions[0].LastHeartbeatTime.String()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- c.Heartbeat(ctx, fmt.Sprintf("n%02d", i)) }()
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
		t.Errorf("50 heartbeats took %d Raft entries", entries)
	}
	nodes, _ = c.Nodes(ctx)
	for _, n := range nodes.Items {
		if n.Status.Conditions[0].LastHeartbeatTime.String() == registered[n.Name] {
			t.Errorf("the heartbeat of %s was not recorded", n.Name)
		}
	}
}
