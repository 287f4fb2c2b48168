package master

import (
	"context"
	"sync"
	"time"
)

// batchWindow is how long the leader gathers agents' heartbeats, or their
// status reports, into one Raft entry: on a large cluster they are most of
// the entries (5,000 nodes every 2 s are 2,500 heartbeats a second), and
// each entry is a disk write and wakes every reader.
const batchWindow = 20 * time.Millisecond

// maxBatch bounds the requests in one entry; a full batch is written at
// once, without waiting out the window.
const maxBatch = 1000

// batcher gathers the requests that arrive within its window into one
// write; each request waits for the write that records it.
type batcher[T any] struct {
	// writeItems records the items in one entry and returns one error
	// per item, or a single error for all of them.
	writeItems func(items []T) (each []error, all error)

	mu        sync.Mutex
	items     []T
	waiters   []chan error
	scheduled bool
}

// do adds an item to the current batch and waits until it is written.
func (b *batcher[T]) do(ctx context.Context, item T) error {
	done := make(chan error, 1)
	b.mu.Lock()
	b.items = append(b.items, item)
	b.waiters = append(b.waiters, done)
	switch {
	case len(b.items) >= maxBatch:
		items, waiters := b.takeLocked()
		go b.write(items, waiters)
	case !b.scheduled:
		b.scheduled = true
		time.AfterFunc(batchWindow, b.flush)
	}
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes the items gathered in the window.
func (b *batcher[T]) flush() {
	b.mu.Lock()
	items, waiters := b.takeLocked()
	b.scheduled = false
	b.mu.Unlock()
	if len(items) > 0 {
		b.write(items, waiters)
	}
}

// takeLocked empties the batch; the caller holds mu.
func (b *batcher[T]) takeLocked() ([]T, []chan error) {
	items, waiters := b.items, b.waiters
	b.items, b.waiters = nil, nil
	return items, waiters
}

// write records the items and answers each request.
func (b *batcher[T]) write(items []T, waiters []chan error) {
	each, all := b.writeItems(items)
	for i, w := range waiters {
		err := all
		if err == nil && i < len(each) {
			err = each[i]
		}
		w <- err
	}
}
