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
	running, ready, done, failed, total := 0, 0, 0, 0, len(pod.Spec.Containers)
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
		st := w.ctrs[c.Name]
		if st == nil {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			s.ContainerStatuses = append(s.ContainerStatuses, cs)
			continue
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
			running++
			started := st.started
			cs.Started = &started
			cs.Ready = started && (c.ReadinessProbe == nil || st.ready)
			if cs.Ready {
				ready++
			}
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(st.startedAt)}
		case st.exit != nil && !shouldRestart(pod.Spec.RestartPolicy, st.exit.Code):
			done++
			if st.exit.Code != 0 {
				failed++
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
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	s.Phase = phase(running, done, failed, total, w.restartedAny())
	s.Conditions = []corev1.PodCondition{
		condition(corev1.PodInitialized, true),
		condition(corev1.ContainersReady, ready == total),
		condition(corev1.PodReady, ready == total),
	}
	return s
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
