package master

import (
	"context"
	"sync"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
)

// pass is one of the leader's reconcile passes: the view it read, its
// input and plan, when it ran and how long it took.
type pass struct {
	view raftstore.View
	in   reconciler.Input
	plan api.Plan
	now  time.Time
	took time.Duration

	once        sync.Once
	isConverged bool
	statusOnce  sync.Once
	summary     api.Status
}

// status returns the pass's status summary, made by compute the first
// time it is asked for: every status request the pass answers shares it.
func (p *pass) status(compute func() api.Status) api.Status {
	p.statusOnce.Do(func() { p.summary = compute() })
	return p.summary
}

// converged tells whether the state the pass read had converged; it is
// computed once, by the first that asks.
func (p *pass) converged() bool {
	p.once.Do(func() { p.isConverged = reconciler.ConvergedWith(p.in, p.plan, p.now) })
	return p.isConverged
}

// passes publishes the leader's reconcile passes, so that status can take
// a pass's verdict instead of running a pass of its own: on a large
// cluster a pass costs seconds, and `berth wait` and every client asking
// for status would otherwise each add one.
type passes struct {
	mu   sync.Mutex
	last *pass
	next chan struct{} // closed by the next publish
}

// publish records a pass and wakes those waiting for it.
func (ps *passes) publish(p *pass) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.last = p
	if ps.next != nil {
		close(ps.next)
		ps.next = nil
	}
}

// latest returns the last pass published, or nil.
func (ps *passes) latest() *pass {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.last
}

// await returns the first pass that read index or a later one, waiting
// for it until ctx ends (then nil).
func (ps *passes) await(ctx context.Context, index uint64) *pass {
	for {
		ps.mu.Lock()
		if ps.last != nil && ps.last.view.Index >= index {
			p := ps.last
			ps.mu.Unlock()
			return p
		}
		if ps.next == nil {
			ps.next = make(chan struct{})
		}
		next := ps.next
		ps.mu.Unlock()
		select {
		case <-next:
		case <-ctx.Done():
			return nil
		}
	}
}
