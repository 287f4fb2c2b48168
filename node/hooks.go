package node

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// runHook runs a lifecycle handler (exec in the container, or an HTTP GET
// from the agent to the pod's address host, as the kubelet does) within
// timeout; nil means success.
func runHook(ctx context.Context, rt Runtime, id, host string, c *corev1.Container, h *corev1.LifecycleHandler, timeout time.Duration) error {
	switch {
	case h.Exec != nil:
		code, err := rt.Exec(ctx, id, h.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", h.Exec.Command, code)
		}
		return nil
	case h.HTTPGet != nil:
		port, err := resolvePort(c, h.HTTPGet.Port)
		if err != nil {
			return err
		}
		return probeHTTP(ctx, cmp.Or(h.HTTPGet.Host, host), h.HTTPGet, port, timeout)
	}
	return fmt.Errorf("lifecycle hook has no handler")
}

// stopContainer ends a running container as the kubelet does: the preStop
// hook, then SIGTERM, then SIGKILL once the grace period (which the hook's
// time counts against) runs out.
func (w *podWorker) stopContainer(ctx context.Context, c *corev1.Container, id string, grace time.Duration) error {
	start := time.Now()
	if c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && !w.a.cfg.Hollow {
		if err := runHook(ctx, w.a.rt, id, w.probeHost(), c, c.Lifecycle.PreStop, grace); err != nil {
			w.a.log.Warn("preStop hook failed", "pod", w.key, "container", c.Name, "err", err)
		}
	}
	return w.a.rt.Stop(ctx, id, max(grace-time.Since(start), 0))
}

// gracePeriod is the pod's termination grace period.
func gracePeriod(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}
