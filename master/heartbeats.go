package master

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/raftstore"
)

// heartbeatWindow is how long the leader gathers heartbeats into one Raft
// entry: on a large cluster they are most of the entries (5,000 nodes
// every 2 s are 2,500 a second), and each entry wakes every reader.
const heartbeatWindow = 20 * time.Millisecond

// heartbeats gathers the agents' heartbeats that arrive within
// heartbeatWindow; each waits for the entry that records it.
type heartbeats struct {
	mu        sync.Mutex
	pending   map[string][]chan error
	scheduled bool
}

// heartbeat records that a node is alive, batched with the others.
func (m *Master) heartbeat(ctx context.Context, name string) error {
	b := &m.heartbeats
	done := make(chan error, 1)
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[string][]chan error{}
	}
	b.pending[name] = append(b.pending[name], done)
	if !b.scheduled {
		b.scheduled = true
		time.AfterFunc(heartbeatWindow, m.flushHeartbeats)
	}
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushHeartbeats writes the gathered heartbeats as one entry and answers
// each: an unknown node gets ErrUnknownNode (its agent registers again).
func (m *Master) flushHeartbeats() {
	b := &m.heartbeats
	b.mu.Lock()
	pending := b.pending
	b.pending, b.scheduled = nil, false
	b.mu.Unlock()
	names := make([]string, 0, len(pending))
	for name := range pending {
		names = append(names, name)
	}
	slices.Sort(names)
	unknown, err := m.store.Heartbeats(names)
	for name, waiters := range pending {
		e := err
		if e == nil && slices.Contains(unknown, name) {
			e = fmt.Errorf("%w: %s", raftstore.ErrUnknownNode, name)
		}
		for _, w := range waiters {
			w <- e
		}
	}
}
