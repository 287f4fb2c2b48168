package master

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
)

// reconcileDebounce lets a burst of state changes settle into one pass.
const reconcileDebounce = 20 * time.Millisecond

// gitLoop turns each new head of the branch into one revision entry, with
// the commits in between recorded as superseded.
func (m *Master) gitLoop(ctx context.Context, firstPass <-chan struct{}) {
	seen := m.store.View(false).SeenCommit
	m.src.Watch(ctx, seen, m.log, func(sha string) {
		seenAt := time.Now().UTC()
		m.prom.commitSeen(sha, seenAt)
		rev, err := m.revision(sha, seenAt)
		if err != nil {
			m.log.Error("cannot read commit", "commit", sha, "err", err)
			return
		}
		m.prom.gitRead.Observe(time.Since(seenAt).Seconds())
		if rev.Objects != nil && len(rev.Objects.Secrets) > 0 {
			select { // the cluster's first data key, on a new cluster
			case <-firstPass:
			case <-ctx.Done():
				return
			}
		}
		if err := m.sealSecrets(rev.Objects); err != nil {
			m.log.Error("cannot seal the commit's Secrets", "commit", sha, "err", err)
			return
		}
		if _, err := m.store.ApplyRevision(rev); err != nil {
			m.log.Error("cannot record revision", "commit", sha, "err", err)
			return
		}
		m.prom.revisions.WithLabelValues(string(api.OutcomeSuperseded)).Add(float64(len(rev.Superseded)))
		switch {
		case len(rev.Errors) > 0:
			m.prom.revisions.WithLabelValues(string(api.OutcomeRejected)).Inc()
			m.log.Warn("commit rejected", "commit", sha, "errors", len(rev.Errors), "first", rev.Errors[0])
		default:
			m.prom.revisions.WithLabelValues(string(api.OutcomeApplied)).Inc()
			m.log.Info("commit applied", "commit", sha, "objects", rev.Objects.Count(),
				"superseded", len(rev.Superseded), "rewrite", rev.Rewrite, "decode", time.Since(seenAt))
		}
	})
}

// revision loads a new head: its objects or errors, the commits between
// the last one seen and it, whether it rewrites history, and what it
// changes against the live revision.
func (m *Master) revision(sha string, seenAt time.Time) (*api.Revision, error) {
	v := m.store.View(false)
	chain, rewrite, err := m.src.Chain(v.SeenCommit, sha)
	if err != nil {
		return nil, err
	}
	if v.LiveCommit != "" && v.LiveCommit != v.SeenCommit && !rewrite {
		descends, err := m.src.Descends(v.LiveCommit, sha)
		if err != nil {
			return nil, err
		}
		rewrite = !descends
	}
	rev, err := m.src.Load(sha)
	if err != nil {
		return nil, err
	}
	rev.SeenAt = seenAt
	rev.Rewrite = rewrite
	for i := range chain[:len(chain)-1] {
		chain[i].SeenAt = seenAt
		rev.Superseded = append(rev.Superseded, chain[i])
	}
	if rewrite && !m.cfg.AllowRewrites {
		rev.Objects = nil
		rev.Errors = append([]string{fmt.Sprintf("history rewrite: %s does not descend from the live commit %s (a force push?); "+
			"refused: start the master with --allow-rewrites to apply it", sha, v.LiveCommit)}, rev.Errors...)
	}
	if msg := m.signatureError(v, sha, chain, rewrite); msg != "" {
		rev.Objects = nil
		rev.Errors = append([]string{msg}, rev.Errors...)
	}
	if len(rev.Errors) == 0 && rev.Objects != nil {
		if msg := m.store.RefusedKind(rev.Objects); msg != "" {
			rev.Objects, rev.Errors = nil, []string{msg}
		}
	}
	if len(rev.Errors) == 0 {
		if errs := reconciler.AssignServiceAddresses(v.Desired, rev.Objects, m.cfg.Services); len(errs) > 0 {
			rev.Objects, rev.Errors = nil, errs
		}
	}
	if len(rev.Errors) == 0 {
		rev.Summary = api.Summarize(v.Desired, rev.Objects)
	}
	return rev, nil
}

// signatureError checks, when trusted keys are configured, that every
// commit from the live one to the new head is signed by a trusted key.
func (m *Master) signatureError(v raftstore.View, sha string, chain []api.CommitInfo, rewrite bool) string {
	if v.LiveCommit != "" && v.LiveCommit != v.SeenCommit && !rewrite {
		fromLive, _, err := m.src.Chain(v.LiveCommit, sha)
		if err != nil {
			return fmt.Sprintf("checking signatures from %s to %s: %v", v.LiveCommit, sha, err)
		}
		chain = fromLive
	}
	return m.src.SignatureError(chain)
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
		start := time.Now()
		m.reconcileOnce()
		// A pass over many pods takes long: rest as long as it took, so
		// that the reconciler leaves half the CPU to Raft and the API.
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Since(start)):
		}
	}
}

func (m *Master) reconcileOnce() {
	v := m.store.View(false)
	now := time.Now()
	ps := &pass{view: v, in: m.input(v, now), now: now}
	ps.plan = reconciler.Reconcile(ps.in, now)
	ps.took = time.Since(now)
	m.prom.reconcile.Observe(ps.took.Seconds())
	m.passes.publish(ps)
	plan := ps.plan
	if plan.Empty() {
		m.endRollout(ps)
		return
	}
	if _, err := m.store.ApplyPlan(&plan, now); err != nil {
		m.log.Warn("cannot commit plan", "err", err)
		return
	}
	m.log.Debug("plan committed", "create", len(plan.Create), "bind", len(plan.Bind), "delete", len(plan.Delete))
}

// input is the reconciler's input from a view, with the nodes' heartbeats
// judged at now: the one clock reading of a pass.
func (m *Master) input(v raftstore.View, now time.Time) reconciler.Input {
	in := reconciler.Input{Commit: v.LiveCommit, Desired: v.Desired, Nodes: m.creditedNodes(v, now), Pods: v.Pods, Jobs: v.Jobs, CronJobs: v.CronJobs,
		Claims: v.Claims, NodeTimeout: m.nodeTimeout(v)}
	if m.store.ClusterFormat() >= raftstore.FormatPodCIDRs {
		in.PodNetwork = &m.cfg.PodNetwork
	}
	if m.store.StorageOn() {
		in.Storage, in.Volumes, in.PVCs = true, v.Volumes, v.PVCs
	}
	return in
}

// endRollout records the moment the live commit's rollout converged, or
// that it failed: not converged within the rollout deadline after it was
// applied (Kubernetes' progressDeadlineSeconds, 600 s, for the whole
// commit).
func (m *Master) endRollout(ps *pass) {
	v, now := ps.view, ps.now
	e := v.LiveEntry
	if e == nil || e.Rollout != nil {
		return
	}
	r := api.Rollout{At: now.UTC().Truncate(time.Millisecond)}
	switch {
	case ps.converged():
		r.State = api.RolloutConverged
	case len(reconciler.Failures(ps.in)) > 0:
		r.State = api.RolloutFailed
		r.Reason = strings.Join(reconciler.Failures(ps.in), "; ")
	case m.cfg.RolloutDeadline > 0 && now.Sub(e.AppliedAt) > m.cfg.RolloutDeadline:
		r.State = api.RolloutFailed
		r.Reason = fmt.Sprintf("ProgressDeadlineExceeded: not converged %v after it was applied: %s",
			m.cfg.RolloutDeadline, reconciler.NotReadyReasons(ps.in, 3))
	default:
		return
	}
	if _, err := m.store.EndRollout(v.LiveCommit, r); err != nil {
		m.log.Warn("cannot record the end of a rollout", "commit", v.LiveCommit, "err", err)
		return
	}
	if r.State == api.RolloutConverged {
		m.prom.rolloutConverged(v.LiveCommit, e.AppliedAt, now)
	}
}
