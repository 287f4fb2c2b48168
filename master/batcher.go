package master

import (
	"context"
	"sync"
	"time"
)

// batchWindow is how long the leader gathers agents' heartbeats, or their
// status reports, into one Raft entry: on a large cluster they are most of
// the entries (5,000 nodes every 2 s are 2,500 heartbeats a second), and
// each entry is a disk write, takes the state's write lock and wakes every
// reader.
const batchWindow = 20 * time.Millisecond

// fullBatch is a batch large enough to be written without waiting out the
// window. A write takes every item gathered, however many: capping it
// would let a backlog grow without end while writes are slow (at 2,500
// nodes, heartbeats waited for their turn until the nodes looked dead).
const fullBatch = 1000

// batcher gathers requests into one write (group commit): the requests
// that arrive within its window, and all that arrive while its previous
// write is under way, since it has at most one write out at a time. So
// when the state is slow to take entries (a large cluster, a busy
// machine), the batches grow instead of the queue of entries. Each
// request waits for the write that records it.
type batcher[T any] struct {
	// writeItems records the items in one entry.
	writeItems func(items []T) error
	// window is how long a batch gathers (batchWindow when zero).
	window time.Duration

	mu        sync.Mutex
	items     []T
	waiters   []chan error
	scheduled bool // a flush is due at the end of the window
	writing   bool // a write is under way
}

// do adds an item to the current batch and waits until it is written.
func (b *batcher[T]) do(ctx context.Context, item T) error {
	done := make(chan error, 1)
	b.mu.Lock()
	b.items = append(b.items, item)
	b.waiters = append(b.waiters, done)
	b.scheduleLocked(b.windowOrDefault())
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post adds an item to the current batch without waiting for its write.
func (b *batcher[T]) post(item T) {
	b.mu.Lock()
	b.items = append(b.items, item)
	b.waiters = append(b.waiters, nil) // nobody waits
	b.scheduleLocked(b.windowOrDefault())
	b.mu.Unlock()
}

// scheduleLocked arranges the next flush: none while a write is under way
// (it flushes when done) or one is already due; at once for a full batch;
// else after wait. The caller holds mu.
func (b *batcher[T]) scheduleLocked(wait time.Duration) {
	if b.writing || len(b.items) == 0 {
		return
	}
	if len(b.items) >= fullBatch {
		wait = 0
	} else if b.scheduled {
		return
	}
	b.scheduled = true
	time.AfterFunc(wait, b.flush)
}

// flush writes the gathered items, answers their requests, and schedules
// the next batch.
func (b *batcher[T]) flush() {
	b.mu.Lock()
	b.scheduled = false
	if b.writing || len(b.items) == 0 {
		b.mu.Unlock()
		return
	}
	items, waiters := b.items, b.waiters
	b.items, b.waiters = nil, nil
	b.writing = true
	b.mu.Unlock()

	start := time.Now()
	b.write(items, waiters)

	b.mu.Lock()
	b.writing = false
	// What gathered during the write has waited that long already; keep
	// at least a window between the starts of two writes.
	b.scheduleLocked(max(0, b.windowOrDefault()-time.Since(start)))
	b.mu.Unlock()
}

func (b *batcher[T]) windowOrDefault() time.Duration {
	if b.window > 0 {
		return b.window
	}
	return batchWindow
}

// write records the items and answers each request that waits.
func (b *batcher[T]) write(items []T, waiters []chan error) {
	err := b.writeItems(items)
	for _, w := range waiters {
		if w != nil {
			w <- err
		}
	}
}
