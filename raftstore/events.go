package raftstore

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// aggregateWindow is how many recent events a new one is compared with to
// count a repeat instead of keeping a copy, as Kubernetes' event
// aggregation does.
const aggregateWindow = 256

// addEvent keeps an event: a repeat of a recent one (same object, reason,
// message and source) bumps its count and last time. Events older than
// api.EventTTL at now go, and the oldest beyond api.MaxEvents.
func (st *state) addEvent(e corev1.Event, now time.Time) {
	st.pruneEvents(now)
	for i := len(st.Events) - 1; i >= 0 && i >= len(st.Events)-aggregateWindow; i-- {
		o := &st.Events[i]
		if o.InvolvedObject == e.InvolvedObject && o.Reason == e.Reason && o.Message == e.Message && o.Source == e.Source {
			o.Count += max(e.Count, 1)
			if e.LastTimestamp.After(o.LastTimestamp.Time) {
				o.LastTimestamp = e.LastTimestamp
			}
			return
		}
	}
	st.Events = append(st.Events, e)
	if over := len(st.Events) - api.MaxEvents; over > 0 {
		st.Events = st.Events[over:] // no copy: append moves the live part when it grows
	}
}

func (st *state) pruneEvents(now time.Time) {
	cut := 0
	for cut < len(st.Events) && now.Sub(st.Events[cut].LastTimestamp.Time) > api.EventTTL {
		cut++
	}
	if cut > 0 {
		st.Events = st.Events[cut:]
	}
}

// planEvents records what a plan did, as the scheduler and the
// controllers of Kubernetes report it: Scheduled and FailedScheduling on
// pods, SuccessfulCreate and SuccessfulDelete on their controllers.
func (st *state) planEvents(p *api.Plan, now time.Time) {
	for i := range p.Create {
		pod := &p.Create[i]
		if ref, component := controllerOf(pod); ref != nil {
			st.addEvent(api.NewEvent(*ref, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+pod.Name, component, "", now), now)
		}
		if pod.Spec.NodeName != "" {
			st.scheduledEvent(pod, pod.Spec.NodeName, now)
		}
	}
	for _, b := range p.Bind {
		if pod := st.Pods[b.Pod]; pod != nil {
			st.scheduledEvent(pod, b.Node, now)
		}
	}
	for _, u := range p.Unschedulable {
		if pod := st.Pods[u.Pod]; pod != nil {
			st.addEvent(api.NewEvent(api.PodRef(pod), corev1.EventTypeWarning, "FailedScheduling", u.Message, "default-scheduler", "", now), now)
		}
	}
	for _, key := range p.Delete {
		if pod := st.Pods[key]; pod != nil && pod.DeletionTimestamp == nil {
			if ref, component := controllerOf(pod); ref != nil {
				st.addEvent(api.NewEvent(*ref, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: "+pod.Name, component, "", now), now)
			}
		}
	}
}

func (st *state) scheduledEvent(pod *corev1.Pod, node string, now time.Time) {
	msg := fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
	st.addEvent(api.NewEvent(api.PodRef(pod), corev1.EventTypeNormal, "Scheduled", msg, "default-scheduler", "", now), now)
}

// controllerOf is the object a pod's controller events are about, and the
// component Kubernetes names as their source.
func controllerOf(pod *corev1.Pod) (*corev1.ObjectReference, string) {
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		component := map[string]string{"ReplicaSet": "replicaset-controller", "ReplicationController": "replication-controller",
			"DaemonSet": "daemonset-controller", "StatefulSet": "statefulset-controller", "Job": "job-controller"}[o.Kind]
		return &corev1.ObjectReference{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: pod.Namespace, Name: o.Name, UID: o.UID}, component
	}
	return nil, ""
}
