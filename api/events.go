package api

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventTTL is how long events are kept, as the Kubernetes API server keeps
// them (--event-ttl, 1 hour).
const EventTTL = time.Hour

// MaxEvents bounds the events kept, whatever their age.
const MaxEvents = 10000

// NewEvent is an event about a pod (or another object), from component
// (kubelet, default-scheduler, …) on host, at t.
func NewEvent(obj corev1.ObjectReference, typ, reason, message, component, host string, t time.Time) corev1.Event {
	at := metav1.NewTime(t)
	return corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", obj.Name, t.UnixNano()), Namespace: obj.Namespace},
		InvolvedObject: obj, Type: typ, Reason: reason, Message: message,
		Source:         corev1.EventSource{Component: component, Host: host},
		FirstTimestamp: at, LastTimestamp: at, Count: 1,
	}
}

// PodRef is the reference of a pod, for its events.
func PodRef(p *corev1.Pod) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}
