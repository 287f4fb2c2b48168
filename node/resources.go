package node

import (
	"context"
	"sync"
	"time"

	"github.com/containerd/containerd"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/typeurl/v2"
	corev1 "k8s.io/api/core/v1"
)

// cfsPeriod is the CPU quota period, in microseconds, as the kubelet uses.
const cfsPeriod = 100000

// resourceOpts turns a container's resources into cgroup limits as the
// kubelet does: the memory limit, a CPU quota from the CPU limit, and CPU
// shares from the CPU request (2 when there is none).
func resourceOpts(r corev1.ResourceRequirements) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if q, ok := r.Limits[corev1.ResourceMemory]; ok && q.Value() > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(q.Value())))
	}
	if q, ok := r.Limits[corev1.ResourceCPU]; ok && q.MilliValue() > 0 {
		opts = append(opts, oci.WithCPUCFS(q.MilliValue()*cfsPeriod/1000, cfsPeriod))
	}
	request, ok := r.Requests[corev1.ResourceCPU]
	if !ok {
		request, ok = r.Limits[corev1.ResourceCPU]
	}
	shares := uint64(2)
	if ok {
		shares = max(2, uint64(request.MilliValue()*1024/1000))
	}
	return append(opts, oci.WithCPUShares(shares))
}

// QOSClass is the pod's quality of service class, as Kubernetes computes it.
func QOSClass(p *corev1.Pod) corev1.PodQOSClass {
	any, guaranteed := false, true
	for _, c := range p.Spec.Containers {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			any = any || hasReq || hasLim
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// oomWatch records the containers the kernel's OOM killer hit, from
// containerd's /tasks/oom events.
type oomWatch struct {
	mu      sync.Mutex
	killed  map[string]bool
	changed chan struct{} // closed and replaced when a kill is recorded
}

func newOOMWatch() *oomWatch {
	return &oomWatch{killed: map[string]bool{}, changed: make(chan struct{})}
}

// run records OOM kills until ctx ends, subscribing again when
// containerd's event stream breaks (containerd restarted).
func (w *oomWatch) run(ctx context.Context, client *containerd.Client) {
	for ctx.Err() == nil {
		w.watch(ctx, client)
		sleep(ctx, time.Second) // containerd restarts: subscribe again
	}
}

// watch records the OOM kills containerd reports until ctx ends or the
// subscription fails.
func (w *oomWatch) watch(ctx context.Context, client *containerd.Client) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	envelopes, errs := client.EventService().Subscribe(nsCtx(ctx), `topic=="/tasks/oom"`)
	for {
		select {
		case <-ctx.Done():
			return
		case <-errs:
			return
		case e := <-envelopes:
			v, err := typeurl.UnmarshalAny(e.Event)
			if oom, ok := v.(*apievents.TaskOOM); err == nil && ok {
				w.mu.Lock()
				w.killed[oom.ContainerID] = true
				close(w.changed)
				w.changed = make(chan struct{})
				w.mu.Unlock()
			}
		}
	}
}

// wasKilled reports (and forgets) whether the container was OOM-killed.
// A SIGKILL exit (137) waits up to grace for the OOM event, which
// containerd may deliver after the exit.
func (w *oomWatch) wasKilled(id string, code int, grace time.Duration) bool {
	deadline := time.After(grace)
	for {
		w.mu.Lock()
		k, changed := w.killed[id], w.changed
		delete(w.killed, id)
		w.mu.Unlock()
		if k || code != 137 {
			return k
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}
