package node

import (
	"context"
	"os"
	"time"

	"github.com/berth-dev/berth/api"
)

// podState is where a pod worker is on its one way to termination, as in
// the kubelet's pod workers: syncing, then terminating, then terminated;
// never back.
type podState int

const (
	// podSyncing runs the pod's containers: starts, restarts, probes.
	podSyncing podState = iota
	// podTerminating stops and removes them: the pod is deleted, or no
	// longer bound to this node. Nothing starts any more.
	podTerminating
	// podTerminated has nothing left on the node: the worker reports the
	// pod removed until the master forgets it, and ends when the agent
	// removes it.
	podTerminated
)

func (s podState) String() string {
	return [...]string{"syncing", "terminating", "terminated"}[s]
}

// goTask runs f on a goroutine of the worker's: run does not return
// before it has ended, so f must end with the worker's context.
func (w *podWorker) goTask(f func()) {
	w.tasks.Add(1)
	go func() {
		defer w.tasks.Done()
		f()
	}()
}

// run is the worker's goroutine. It ends when ctx ends (the agent stops;
// containers keep running for the next agent to adopt) or once the pod is
// terminated after remove; either way its own goroutines have ended
// first.
func (w *podWorker) run(ctx context.Context) {
	defer close(w.done)
	defer w.tasks.Wait()
	ctx, cancel := context.WithCancel(ctx) // ends the worker's goroutines with it
	defer cancel()
	quit, removed := w.quit, false
	if w.fence != nil {
		select {
		case <-w.fence:
		case <-ctx.Done():
			return
		case <-quit:
			quit, removed = nil, true
		}
	}
	for w.adopted && !w.networkReady(ctx, w.current()) { // probes need the pod's address
		if !sleep(ctx, time.Second) {
			return
		}
	}
	w.adopt(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-quit:
			quit, removed = nil, true
		case e := <-w.exits:
			w.recordExit(e)
		case e := <-w.probes:
			w.recordProbe(ctx, e)
		case <-w.kick:
		case <-timer.C:
		}
		next := w.step(ctx, removed)
		if w.state == podTerminated && removed {
			return
		}
		timer.Reset(next)
	}
}

// step moves the worker on: a syncing pod that is deleted, or removed
// from the node, starts terminating; a terminating one is stopped (the
// one path to termination); a syncing one is synced. It returns when it
// wants to step again.
func (w *podWorker) step(ctx context.Context, removed bool) time.Duration {
	pod := w.current()
	if w.state == podSyncing && (removed || pod.DeletionTimestamp != nil) {
		w.state = podTerminating
	}
	switch w.state {
	case podSyncing:
		return w.syncPod(ctx)
	case podTerminating:
		w.terminate(ctx)
		if ctx.Err() != nil {
			return resyncInterval // the agent stops: the next one finishes the job
		}
		w.state = podTerminated
	}
	if !removed { // deleted: the master forgets the pod once told
		w.a.publish(api.PodReport{Namespace: pod.Namespace, Name: pod.Name, UID: w.uid, Removed: true})
	}
	return resyncInterval
}

// adopt watches the containers the worker took over from the agent
// before it, and removes their older attempts.
func (w *podWorker) adopt(ctx context.Context) {
	for name, st := range w.ctrs {
		if st.running {
			w.watchAdopted(ctx, name, st)
			if c := w.container(name); c != nil {
				w.startProbes(ctx, name, st, c)
			}
		}
	}
	for _, c := range w.stale {
		w.a.rt.Remove(ctx, c.ID)
	}
}

func (w *podWorker) watchAdopted(ctx context.Context, name string, st *ctrState) {
	exits, err := w.a.rt.Wait(ctx, st.id)
	if err != nil {
		w.a.log.Warn("cannot watch adopted container", "id", st.id, "err", err)
		st.running = false
		st.exit = &Exit{Code: -1, At: w.a.now()}
		return
	}
	w.goTask(func() { w.forward(ctx, name, st.attempt, exits) })
}

// forward hands a container's exit to the worker's loop.
func (w *podWorker) forward(ctx context.Context, name string, attempt int, exits <-chan Exit) {
	select {
	case <-ctx.Done():
	case e, ok := <-exits:
		if !ok {
			return // the runtime stopped watching: no exit
		}
		select {
		case w.exits <- exitEvent{name: name, attempt: attempt, exit: e}:
		case <-ctx.Done():
		}
	}
}

// terminate stops every container of the pod with its grace period, the
// main ones in parallel and then the sidecars, the last started first;
// it deletes them and the pod's folder.
func (w *podWorker) terminate(ctx context.Context) {
	pod := w.current()
	grace := gracePeriod(pod)
	var main, side []string
	for name := range w.ctrs {
		if c := w.container(name); c != nil && isSidecar(c) {
			continue
		}
		main = append(main, name)
	}
	for _, c := range sidecars(pod) {
		side = append([]string{c.Name}, side...) // the last started goes first
	}
	w.stopAll(ctx, main, grace)
	for _, name := range side {
		w.stopAll(ctx, []string{name}, grace)
	}
	if ctx.Err() != nil {
		return
	}
	w.removeNetwork(ctx)
	unmountVolumes(w.a.logDir(pod))
	if err := os.RemoveAll(w.a.logDir(pod)); err != nil {
		w.a.log.Warn("removing the pod's folder", "pod", w.key, "err", err)
	}
}
