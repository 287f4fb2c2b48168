package api

import (
	"fmt"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// HashUID is a UID derived from its parts, the same on every master
// and agent: the UIDs of objects from Git and of the pods berth makes.
func HashUID(parts ...string) string {
	h := fnv.New128a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NodeRef refers to a node, with the UID the Kubernetes API shows it with.
func NodeRef(name string) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: types.UID(HashUID("Node", "", name))}
}

// PodRef is the reference of a pod, for its events.
func PodRef(p *corev1.Pod) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}
