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

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
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
	for deadline := time.Now().Add(2 * time.Second); !time.Now().Truncate(time.Second).After(registeredBy); {
		if time.Now().After(deadline) {
			t.Fatal("the clock did not move")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 51)
	for i := range 51 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- c.Heartbeat(ctx, fmt.Sprintf("n%02d", i)) }()
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
	after := waitStatus(t, c, func(s *api.Status) bool { return s.Index > before.Index })
	if entries := after.Index - before.Index; entries > 10 {
		t.Errorf("50 heartbeats took %d Raft entries", entries)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if !n.Status.Conditions[0].LastHeartbeatTime.Time.After(registeredBy) {
			t.Errorf("the heartbeat of %s was not recorded: last %v, registered by %v", n.Name, n.Status.Conditions[0].LastHeartbeatTime, registeredBy)
		}
	}
}
