package master

import (
	"context"
	"time"

	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
)

// reconcileDebounce lets a burst of state changes settle into one pass.
const reconcileDebounce = 20 * time.Millisecond

// gitLoop turns each new head of the branch into one revision entry.
func (m *Master) gitLoop(ctx context.Context) {
	seen := m.store.View(false).SeenCommit
	m.src.Watch(ctx, seen, m.log, func(sha string) {
		seenAt := time.Now().UTC()
		rev, err := m.src.Load(sha)
		if err != nil {
			m.log.Error("cannot read commit", "commit", sha, "err", err)
			return
		}
		rev.SeenAt = seenAt
		if _, err := m.store.ApplyRevision(rev); err != nil {
			m.log.Error("cannot record revision", "commit", sha, "err", err)
			return
		}
		if len(rev.Errors) > 0 {
			m.log.Warn("commit rejected", "commit", sha, "errors", len(rev.Errors), "first", rev.Errors[0])
		} else {
			m.log.Info("commit applied", "commit", sha, "objects", rev.Objects.Count(), "decode", time.Since(seenAt))
		}
	})
}

// reconcileLoop runs the reconciler whenever the state changes (debounced)
// and at least every second (node readiness depends on time), and commits a
// non-empty plan as one entry.
func (m *Master) reconcileLoop(ctx context.Context) {
	var last uint64
	for ctx.Err() == nil {
		wait, cancel := context.WithTimeout(ctx, time.Second)
		idx := m.store.WaitChange(wait, last)
		cancel()
		if idx > last {
			select {
			case <-ctx.Done():
				return
			case <-time.After(reconcileDebounce):
			}
		}
		last = m.store.Index()
		m.reconcileOnce()
	}
}

func (m *Master) reconcileOnce() {
	v := m.store.View(false)
	plan := reconciler.Reconcile(input(v), time.Now())
	if plan.Empty() {
		return
	}
	if _, err := m.store.ApplyPlan(&plan); err != nil {
		m.log.Warn("cannot commit plan", "err", err)
		return
	}
	m.log.Debug("plan committed", "create", len(plan.Create), "bind", len(plan.Bind), "delete", len(plan.Delete))
}

func input(v raftstore.View) reconciler.Input {
	return reconciler.Input{Commit: v.LiveCommit, Desired: v.Desired, Nodes: v.Nodes, Pods: v.Pods}
}
