package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/node/network"
)

// Back-off between restarts, as the kubelet does it: the first restart is
// at once, then 10 s doubling to 5 min, reset after 10 min of running.
// The agent's --backoff-initial and --backoff-max change the first two.
const (
	DefaultBackoffInitial = 10 * time.Second
	DefaultBackoffMax     = 5 * time.Minute
	backoffReset          = 10 * time.Minute
)

// resyncInterval is how often a pod worker looks at its pod unprompted:
// for emptyDir volumes over their sizeLimit, as the kubelet's eviction
// manager does every 10 s. Exits, probes, back-offs and new assignments
// wake it at once. At 5 s, 150,000 pods cost 30,000 syncs a second.
const resyncInterval = 10 * time.Second

// podWorker owns one pod on this node. Only its own goroutine touches ctrs;
// the agent hands it new specs through update and ends it through remove.
type podWorker struct {
	a      *Agent
	key    string
	uid    string
	exits  chan exitEvent
	probes chan probeEvent
	kick   chan struct{}
	quit   chan struct{}

	// fence holds back the worker's first container start until the
	// containers of pods taken from this node are stopped (fencing).
	fence <-chan struct{}
	// done is closed when the worker ends (its containers stopped, after
	// remove) and every goroutine it started has ended.
	done chan struct{}
	// tasks are the goroutines the worker starts (exit forwarders,
	// probers, kills); run waits for them before it returns.
	tasks sync.WaitGroup
	// state is where the pod is on its one way to termination; only the
	// worker's goroutine reads and changes it.
	state podState

	mu       sync.Mutex
	pod      *corev1.Pod
	logPaths map[string]string // current log of each container
	ctrIDs   map[string]string // current runtime ID of each container
	// netns is the pod's network namespace: its path, nodeNetwork, or ""
	// until networkReady has found it.
	netns string

	ctrs map[string]*ctrState
	// podNet is the pod's network namespace and address; hostNet marks a
	// pod in the node's network (see networkReady). adopted: the worker
	// took over containers from the agent before it.
	podNet           *network.Pod
	hostNet, adopted bool
	podFiles         []Mount           // the pod's /etc files, once written
	volumes          map[string]string // host folder of each volume, once prepared
	stale            []Container       // adopted older attempts, removed on start
	started          time.Time
	// startMeasured is set once the pod's start latency was observed (or
	// it started before this agent did).
	startMeasured bool
	// evicted is the reason the pod was evicted (an emptyDir over its
	// sizeLimit); an evicted pod runs nothing more.
	evicted string
	// initDone is set once every init container succeeded (or when the
	// agent adopts a pod whose regular containers exist); initFailed when
	// one failed under restartPolicy Never.
	initDone, initFailed bool
}

type ctrState struct {
	id        string
	attempt   int
	running   bool
	startedAt time.Time
	exit      *Exit
	restarts  int
	last      *corev1.ContainerStateTerminated
	waiting   string // waiting reason when not running
	message   string
	backoff   time.Duration // the delay before the restart after the next exit
	delay     time.Duration // the delay before the pending restart
	nextStart time.Time

	// Probes: started is the startup probe passed, ready the readiness
	// probe's verdict; probeKill says why a probe had the container killed.
	started, ready bool
	probeKill      string
	stopProbes     context.CancelFunc
}

type exitEvent struct {
	name    string
	attempt int
	exit    Exit
}

func newPodWorker(a *Agent, p *corev1.Pod, adopted []Container) *podWorker {
	w := &podWorker{a: a, key: api.PodKey(p), uid: string(p.UID), pod: p,
		exits: make(chan exitEvent, 8), probes: make(chan probeEvent, 8), kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		logPaths: map[string]string{}, ctrIDs: map[string]string{}, ctrs: map[string]*ctrState{}, started: a.now()}
	w.initDone = len(p.Spec.InitContainers) == 0
	w.startMeasured = len(adopted) > 0
	if p.Status.Reason == "Evicted" && len(adopted) == 0 {
		w.evicted = p.Status.Message // evicted before this agent started: it stays so
	}
	for _, c := range adopted {
		for _, rc := range p.Spec.Containers {
			if c.Name == rc.Name {
				w.initDone = true // regular containers only start after init
			}
		}
	}
	w.adopted = len(adopted) > 0
	sort.Slice(adopted, func(i, j int) bool { return adopted[i].Attempt > adopted[j].Attempt })
	for _, c := range adopted {
		if _, seen := w.ctrs[c.Name]; seen {
			w.stale = append(w.stale, c)
			continue
		}
		st := &ctrState{id: c.ID, attempt: c.Attempt, running: c.Running, startedAt: c.StartedAt, exit: c.Exit, restarts: c.Attempt}
		w.ctrs[c.Name] = st
		w.logPaths[c.Name] = c.LogPath
		w.ctrIDs[c.Name] = c.ID
		if c.StartedAt.Before(w.started) {
			w.started = c.StartedAt
		}
	}
	return w
}

func (w *podWorker) update(p *corev1.Pod) {
	w.mu.Lock()
	w.pod = p
	w.mu.Unlock()
	w.poke()
}

func (w *podWorker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// remove ends the worker: its containers are stopped and deleted.
func (w *podWorker) remove() { close(w.quit) }

func (w *podWorker) current() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) recordExit(e exitEvent) {
	st := w.ctrs[e.name]
	if st == nil || st.attempt != e.attempt {
		return
	}
	if st.stopProbes != nil {
		st.stopProbes()
	}
	st.running = false
	st.exit = &e.exit
	if e.exit.At.Sub(st.startedAt) > backoffReset {
		st.backoff = 0
	}
	st.delay = st.backoff
	st.nextStart = e.exit.At.Add(st.delay)
	st.backoff = w.a.cfg.Backoff.nextBackoff(st.backoff)
}

// nextBackoff is the delay after d: Initial, then doubling up to Max.
func (b Backoff) nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return b.Initial
	}
	return min(2*d, b.Max)
}

func shouldRestart(policy corev1.RestartPolicy, code int) bool {
	switch policy {
	case corev1.RestartPolicyAlways:
		return true
	case corev1.RestartPolicyOnFailure:
		return code != 0
	}
	return false
}

// syncPod starts what should run and publishes the pod's status. It
// returns when it wants to run again (a back-off ending).
func (w *podWorker) syncPod(ctx context.Context) time.Duration {
	pod := w.current()
	if !w.networkReady(ctx, pod) {
		w.a.publish(api.PodReport{Namespace: pod.Namespace, Name: pod.Name, UID: w.uid, Status: w.status(pod)})
		return time.Second
	}
	next := resyncInterval
	if w.evicted == "" && w.volumes != nil {
		if msg := overLimit(pod, w.volumes); msg != "" {
			w.evicted = msg
			w.a.event(pod, corev1.EventTypeWarning, "Evicted", msg)
			w.stopAll(ctx, w.running(), gracePeriod(pod))
		}
	}
	if w.evicted != "" {
		w.a.publish(api.PodReport{Namespace: pod.Namespace, Name: pod.Name, UID: w.uid, Status: w.status(pod)})
		return resyncInterval
	}
	if !w.initDone {
		next = w.syncInit(ctx, pod)
		if !w.initDone {
			w.a.publish(api.PodReport{Namespace: pod.Namespace, Name: pod.Name, UID: w.uid, Status: w.status(pod)})
			return next
		}
	}
	next = min(next, w.syncContainers(ctx, pod, pod.Spec.Containers, pod.Spec.RestartPolicy))
	if w.mainDone(pod) {
		w.stopSidecars(ctx, pod)
	} else {
		next = min(next, w.syncContainers(ctx, pod, sidecars(pod), corev1.RestartPolicyAlways))
	}
	if w.volumes != nil {
		if err := refreshConfigVolumes(pod, w.volumes, w.a.currentConfig(), w.info().ips()); err != nil {
			w.a.log.Warn("updating ConfigMap and Secret volumes", "pod", w.key, "err", err)
		}
	}
	status := w.status(pod)
	w.measureStart(&status)
	w.a.publish(api.PodReport{Namespace: pod.Namespace, Name: pod.Name, UID: w.uid, Status: status})
	return next
}

// measureStart observes the pod's start latency the first time all its
// containers run: from the pod reaching this agent.
func (w *podWorker) measureStart(s *corev1.PodStatus) {
	if w.startMeasured || w.a.metrics == nil || s.Phase != corev1.PodRunning || len(s.ContainerStatuses) == 0 {
		return
	}
	for _, c := range s.ContainerStatuses {
		if c.State.Running == nil {
			return
		}
	}
	w.startMeasured = true
	w.a.metrics.podStart.Observe(w.a.now().Sub(w.started).Seconds())
}

// syncInit runs the init containers in order: a regular one to success
// (a failed one is retried with back-off, unless the pod's policy is
// Never: then the pod has failed); a sidecar (restartPolicy Always) until
// it has started, and it keeps running beside the main containers.
func (w *podWorker) syncInit(ctx context.Context, pod *corev1.Pod) time.Duration {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st := w.ctrs[c.Name]
		if isSidecar(c) {
			if st != nil && st.running && st.started {
				continue
			}
			return w.syncContainers(ctx, pod, pod.Spec.InitContainers[i:i+1], corev1.RestartPolicyAlways)
		}
		if st != nil && st.exit != nil && st.exit.Code == 0 {
			continue // done; never run again
		}
		if st != nil && st.exit != nil && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			w.initFailed = true
			return resyncInterval
		}
		return w.syncContainers(ctx, pod, pod.Spec.InitContainers[i:i+1], initPolicy(pod.Spec.RestartPolicy))
	}
	w.initDone = true
	return resyncInterval
}

// isSidecar reports whether an init container is a native sidecar: one
// with restartPolicy Always.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// sidecars returns the pod's sidecar containers, in order.
func sidecars(pod *corev1.Pod) []corev1.Container {
	var out []corev1.Container
	for _, c := range pod.Spec.InitContainers {
		if isSidecar(&c) {
			out = append(out, c)
		}
	}
	return out
}

// mainDone reports whether every main container has ended for good
// under the pod's restart policy: a Job's pod is complete then, and its
// sidecars are stopped instead of holding it open.
func (w *podWorker) mainDone(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		st := w.ctrs[c.Name]
		if st == nil || st.running || st.exit == nil || shouldRestart(pod.Spec.RestartPolicy, st.exit.Code) {
			return false
		}
	}
	return true
}

// stopSidecars stops the running sidecars, the last started first, once
// the main containers are done.
func (w *podWorker) stopSidecars(ctx context.Context, pod *corev1.Pod) {
	side := sidecars(pod)
	for i := len(side) - 1; i >= 0; i-- {
		st := w.ctrs[side[i].Name]
		if st == nil || !st.running || st.probeKill != "" {
			continue
		}
		st.probeKill = "the main containers are done"
		w.kill(ctx, side[i].Name, st)
	}
}

// syncContainers starts the containers that should run under the policy,
// and returns when it wants to look again (a back-off ending).
func (w *podWorker) syncContainers(ctx context.Context, pod *corev1.Pod, containers []corev1.Container, policy corev1.RestartPolicy) time.Duration {
	next := resyncInterval
	now := w.a.now()
	for i := range containers {
		c := &containers[i]
		st := w.ctrs[c.Name]
		switch {
		case st == nil:
			w.start(ctx, pod, c, 0, nil)
		case st.running:
		case st.exit != nil && !shouldRestart(policy, st.exit.Code):
		case now.Before(st.nextStart):
			if st.exit != nil && st.waiting != "CrashLoopBackOff" {
				st.waiting, st.message = "CrashLoopBackOff", fmt.Sprintf("back-off %v restarting failed container=%s pod=%s", st.delay, c.Name, pod.Name)
				w.a.event(pod, corev1.EventTypeWarning, "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)", c.Name, pod.Name, pod.Namespace, pod.UID))
			}
			next = min(next, st.nextStart.Sub(now))
		default:
			w.start(ctx, pod, c, st.attempt+1, st)
		}
		if st := w.ctrs[c.Name]; st != nil && !st.running && st.exit == nil {
			next = min(next, max(st.nextStart.Sub(now), 10*time.Millisecond))
		}
	}
	return next
}

// start runs one attempt of a container; prev is the state of the attempt
// before it (nil for the first).
func (w *podWorker) start(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int, prev *ctrState) {
	st := &ctrState{attempt: attempt}
	if prev != nil {
		st.restarts, st.backoff, st.last = prev.restarts, prev.backoff, prev.last
		if prev.exit != nil {
			st.restarts = prev.restarts + 1
			st.last = terminated(prev)
		}
		if prev.id != "" {
			if err := w.a.rt.Remove(ctx, prev.id); err != nil {
				w.a.log.Warn("removing exited container", "id", prev.id, "err", err)
			}
		}
	}
	st.id = containerID(w.uid, c.Name, attempt)
	logPath := filepath.Join(w.a.logDir(pod), c.Name, fmt.Sprintf("%d.log", attempt))
	removeLogsBefore(logPath, attempt-1) // the kubelet keeps the current and the previous
	w.ctrs[c.Name] = st
	env, mounts, expanded, err := w.containerConfig(pod, c)
	if err != nil {
		var me *mountError
		if errors.As(err, &me) {
			w.a.event(pod, corev1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed: "+me.err.Error())
		} else {
			w.a.event(pod, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		}
		st.id = ""
		st.waiting, st.message = "CreateContainerConfigError", err.Error()
		st.backoff = w.a.cfg.Backoff.nextBackoff(st.backoff)
		st.nextStart = w.a.now().Add(st.backoff)
		return
	}
	ct, exits, err := w.a.rt.Start(ctx, StartSpec{ID: st.id, Pod: pod, Container: expanded, Attempt: attempt, LogPath: logPath, Env: env,
		Mounts: append(mounts, w.networkMounts(pod)...), Sandbox: w.sandbox()})
	if err != nil {
		w.a.rt.Remove(ctx, st.id)
		st.id = ""
		st.waiting, st.message = "CreateContainerError", err.Error()
		var ie *ImageError
		var se *securityError
		if errors.As(err, &se) {
			st.waiting = "CreateContainerConfigError"
		}
		if errors.As(err, &ie) {
			st.waiting = ie.Reason
			if prev != nil && prev.exit == nil && (prev.waiting == ie.Reason || prev.waiting == "ImagePullBackOff") {
				st.waiting = "ImagePullBackOff"
			}
		}
		st.backoff = w.a.cfg.Backoff.nextBackoff(st.backoff)
		st.nextStart = w.a.now().Add(st.backoff)
		w.a.log.Warn("container failed to start", "pod", w.key, "container", c.Name, "reason", st.waiting, "err", err)
		w.a.event(pod, corev1.EventTypeWarning, "Failed", "Error: "+st.waiting+": "+err.Error())
		return
	}
	if ct.Pulled != "" {
		w.a.event(pod, corev1.EventTypeNormal, "Pulled", ct.Pulled)
	}
	w.a.event(pod, corev1.EventTypeNormal, "Created", "Created container "+c.Name)
	w.a.event(pod, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	st.running, st.startedAt = true, ct.StartedAt
	w.mu.Lock()
	w.logPaths[c.Name] = logPath
	w.ctrIDs[c.Name] = ct.ID
	w.mu.Unlock()
	w.goTask(func() { w.forward(ctx, c.Name, attempt, exits) })
	// postStart runs before the container counts as running; its failure
	// kills the container.
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil && !w.a.cfg.Hollow {
		if err := runHook(ctx, w.a.rt, st.id, w.probeHost(), c, c.Lifecycle.PostStart, gracePeriod(pod)); err != nil {
			st.probeKill = "PostStartHookError: " + err.Error()
			w.a.event(pod, corev1.EventTypeWarning, "FailedPostStartHook", st.probeKill)
			w.kill(ctx, c.Name, st)
			return
		}
	}
	w.startProbes(ctx, c.Name, st, c)
}

// kill stops a running container in the background (a failed probe or
// postStart hook); its exit comes back as usual and the restart policy
// takes over.
func (w *podWorker) kill(ctx context.Context, name string, st *ctrState) {
	w.a.log.Info("killing container", "pod", w.key, "container", name, "why", st.probeKill)
	w.a.event(w.current(), corev1.EventTypeNormal, "Killing", fmt.Sprintf("Stopping container %s: %s", name, st.probeKill))
	c, grace := w.container(name), gracePeriod(w.current())
	id := st.id
	w.goTask(func() {
		if err := w.stopContainer(ctx, c, id, grace); err != nil && ctx.Err() == nil {
			w.a.log.Warn("stopping container", "id", id, "err", err)
		}
	})
}

// container returns the spec of a container (init or regular) of the
// current pod.
func (w *podWorker) container(name string) *corev1.Container {
	pod := w.current()
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// startProbes runs the container's probes until it exits. Without a
// startup probe the container counts as started at once.
func (w *podWorker) startProbes(ctx context.Context, name string, st *ctrState, c *corev1.Container) {
	st.started = c.StartupProbe == nil
	if w.a.cfg.Hollow {
		st.started, st.ready = true, true // a hollow container passes its probes
		return
	}
	if c.StartupProbe == nil && c.LivenessProbe == nil && c.ReadinessProbe == nil {
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	st.stopProbes = cancel
	p := &prober{rt: w.a.rt, id: st.id, name: name, attempt: st.attempt, c: c.DeepCopy(), events: w.probes, host: w.probeHost()}
	w.goTask(func() { p.run(pctx) })
}

// recordProbe applies a probe's verdict: readiness and startup change the
// container's state; a failed startup or liveness probe kills it, and the
// restart policy takes it from there.
func (w *podWorker) recordProbe(ctx context.Context, e probeEvent) {
	st := w.ctrs[e.name]
	if st == nil || st.attempt != e.attempt || !st.running {
		return
	}
	if !e.ok {
		w.a.event(w.current(), corev1.EventTypeWarning, "Unhealthy", e.message)
	}
	switch {
	case e.kind == probeReadiness:
		st.ready = e.ok
	case e.kind == probeStartup && e.ok:
		st.started = true
	default:
		st.probeKill = e.message
		w.kill(ctx, e.name, st)
	}
}

// containerConfig resolves a container's environment, expands $(NAME) in
// its command and args (on a copy), and prepares the pod's volumes (once
// per pod) for its mounts.
func (w *podWorker) containerConfig(pod *corev1.Pod, c *corev1.Container) ([]string, []Mount, *corev1.Container, error) {
	cfg := w.a.currentConfig()
	env, err := resolveEnv(pod, c, cfg, w.info())
	if err != nil {
		return nil, nil, nil, err
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	expanded := c.DeepCopy()
	expanded.Command, expanded.Args = expandAll(c.Command, vars), expandAll(c.Args, vars)
	if w.volumes == nil && w.a.cfg.Hollow {
		w.volumes = map[string]string{} // a hollow node prepares no volumes
	}
	if w.volumes == nil {
		if w.volumes, err = prepareVolumes(w.a.logDir(pod), pod, cfg, w.info()); err != nil {
			w.volumes = nil
			return nil, nil, nil, &mountError{err}
		}
	}
	if w.a.cfg.Hollow {
		return env, nil, expanded, nil
	}
	mounts, err := mountsFor(c, w.volumes)
	if err != nil {
		return nil, nil, nil, err
	}
	for i, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name == m.Name && (v.ConfigMap != nil || v.Secret != nil) {
				mounts[i].ReadOnly = true // as Kubernetes mounts them
			}
		}
	}
	return env, mounts, expanded, nil
}

func containerID(uid, name string, attempt int) string {
	if len(uid) > 13 {
		uid = uid[:13]
	}
	if len(name) > 50 {
		name = name[:50]
	}
	return fmt.Sprintf("%s-%s-%d", uid, name, attempt)
}

// mountError is a failure to prepare a pod's volumes (FailedMount).
type mountError struct{ err error }

func (e *mountError) Error() string { return e.err.Error() }
func (e *mountError) Unwrap() error { return e.err }

// running lists the containers that run.
func (w *podWorker) running() []string {
	var out []string
	for name, st := range w.ctrs {
		if st.running {
			out = append(out, name)
		}
	}
	return out
}

// stopAll stops (when running) and removes the named containers in
// parallel.
func (w *podWorker) stopAll(ctx context.Context, names []string, grace time.Duration) {
	var wg sync.WaitGroup
	for _, name := range names {
		st := w.ctrs[name]
		if st == nil || st.id == "" {
			continue
		}
		wg.Add(1)
		go func(name, id string, running bool) {
			defer wg.Done()
			if running {
				w.a.event(w.current(), corev1.EventTypeNormal, "Killing", "Stopping container "+name)
				if err := w.stopContainer(ctx, w.container(name), id, grace); err != nil {
					w.a.log.Warn("stopping container", "pod", w.key, "container", name, "err", err)
				}
			}
			if err := w.a.rt.Remove(ctx, id); err != nil {
				w.a.log.Warn("removing container", "pod", w.key, "container", name, "err", err)
			}
		}(name, st.id, st.running)
	}
	wg.Wait()
}

// logPath returns the current log file of a container ("" for the first).
func (w *podWorker) logPath(container string) (string, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if container == "" && len(w.pod.Spec.Containers) > 0 {
		container = w.pod.Spec.Containers[0].Name
	}
	return container, w.logPaths[container]
}

// containerIDs maps each started container to its current runtime ID.
func (w *podWorker) containerIDs() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.ctrIDs)
}

// target is a container of the pod (the first when none is named), its
// current runtime ID (empty before it started) and the pod's network
// namespace (see podWorker.netns): what exec and port-forward reach.
func (w *podWorker) target(container string) (name, id, netns string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if container == "" && len(w.pod.Spec.Containers) > 0 {
		container = w.pod.Spec.Containers[0].Name
	}
	return container, w.ctrIDs[container], w.netns
}

// nodeNetwork is the netns of a pod in the node's network.
const nodeNetwork = "node"

// setNetns records where the pod's network is (see podWorker.netns).
func (w *podWorker) setNetns(netns string) {
	w.mu.Lock()
	w.netns = netns
	w.mu.Unlock()
}
