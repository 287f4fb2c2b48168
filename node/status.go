package node

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func terminated(st *ctrState) *corev1.ContainerStateTerminated {
	reason := "Completed"
	switch {
	case st.exit.OOMKilled:
		reason = "OOMKilled"
	case st.exit.Code != 0:
		reason = "Error"
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: int32(st.exit.Code), Reason: reason, Message: st.probeKill, ContainerID: "containerd://" + st.id,
		StartedAt: metav1.NewTime(st.startedAt), FinishedAt: metav1.NewTime(st.exit.At),
	}
}

// status renders the pod's status the way the kubelet reports it.
func (w *podWorker) status(pod *corev1.Pod) corev1.PodStatus {
	s := corev1.PodStatus{StartTime: &metav1.Time{Time: w.started}, QOSClass: QOSClass(pod)}
	// A pod in the node's network has the node's address, as a
	// hostNetwork pod in Kubernetes; one in its own namespace its own.
	if w.a != nil {
		ips := w.info().ips()
		s.HostIP, s.PodIP = ips.host, ips.pod
		s.HostIPs, s.PodIPs = []corev1.HostIP{{IP: ips.host}}, []corev1.PodIP{{IP: ips.pod}}
	}
	sidecarsReady := true
	for _, c := range pod.Spec.InitContainers {
		policy := initPolicy(pod.Spec.RestartPolicy)
		if isSidecar(&c) {
			policy = corev1.RestartPolicyAlways
		}
		cs, _ := w.containerStatus(&c, policy, "PodInitializing")
		if isSidecar(&c) && !cs.Ready {
			sidecarsReady = false
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	var n counts
	waiting := "ContainerCreating"
	if !w.initDone {
		waiting = "PodInitializing"
	}
	for _, c := range pod.Spec.Containers {
		cs, cn := w.containerStatus(&c, pod.Spec.RestartPolicy, waiting)
		n.add(cn)
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	total := len(pod.Spec.Containers)
	switch {
	case w.evicted != "":
		s.Phase, s.Reason, s.Message = corev1.PodFailed, "Evicted", w.evicted
	case w.initFailed:
		s.Phase = corev1.PodFailed
	case !w.initDone:
		s.Phase = corev1.PodPending
	default:
		s.Phase = phase(n.running, n.done, n.failed, total, w.restartedAny())
	}
	s.Conditions = []corev1.PodCondition{
		condition(corev1.PodInitialized, w.initDone),
		condition(corev1.ContainersReady, n.ready == total && sidecarsReady),
		condition(corev1.PodReady, n.ready == total && sidecarsReady),
	}
	return s
}

// initPolicy is how an init container restarts: never after success, and
// after a failure unless the pod's policy is Never.
func initPolicy(p corev1.RestartPolicy) corev1.RestartPolicy {
	if p == corev1.RestartPolicyNever {
		return p
	}
	return corev1.RestartPolicyOnFailure
}

// counts tally the containers' states for the pod's phase and conditions.
type counts struct{ running, ready, done, failed int }

func (c *counts) add(o counts) {
	c.running, c.ready, c.done, c.failed = c.running+o.running, c.ready+o.ready, c.done+o.done, c.failed+o.failed
}

// containerStatus renders one container; waiting is the reason shown
// before it was ever started.
func (w *podWorker) containerStatus(c *corev1.Container, policy corev1.RestartPolicy, waiting string) (corev1.ContainerStatus, counts) {
	var n counts
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
	st := w.ctrs[c.Name]
	if st == nil {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
		return cs, n
	}
	cs.RestartCount = int32(st.restarts)
	if st.last != nil {
		cs.LastTerminationState.Terminated = st.last
	}
	if st.id != "" {
		cs.ContainerID = "containerd://" + st.id
	}
	switch {
	case st.running:
		n.running++
		started := st.started
		cs.Started = &started
		cs.Ready = started && (c.ReadinessProbe == nil || st.ready)
		if cs.Ready {
			n.ready++
		}
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(st.startedAt)}
	case st.exit != nil && !shouldRestart(policy, st.exit.Code):
		n.done++
		if st.exit.Code != 0 {
			n.failed++
		}
		cs.State.Terminated = terminated(st)
	case st.exit != nil && st.waiting == "":
		cs.State.Terminated = terminated(st)
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: st.waiting, Message: st.message}
		if st.exit != nil {
			cs.LastTerminationState.Terminated = terminated(st)
		}
	}
	return cs, n
}

func (w *podWorker) restartedAny() bool {
	for _, st := range w.ctrs {
		if st.exit != nil || st.restarts > 0 {
			return true
		}
	}
	return false
}

func phase(running, done, failed, total int, restarted bool) corev1.PodPhase {
	switch {
	case done == total && failed > 0:
		return corev1.PodFailed
	case done == total:
		return corev1.PodSucceeded
	case running > 0 || restarted:
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func condition(t corev1.PodConditionType, ok bool) corev1.PodCondition {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: metav1.Time{Time: time.Time{}}}
}
