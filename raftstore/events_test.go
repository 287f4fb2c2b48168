package raftstore

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

func TestEventsAggregateAndExpire(t *testing.T) {
	st := newState()
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1"}}
	backoff := func(at time.Time) corev1.Event {
		return api.NewEvent(api.PodRef(&pod), corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container", "kubelet", "n1", at)
	}
	st.addEvent(backoff(t0), t0)
	st.addEvent(backoff(t0.Add(time.Minute)), t0.Add(time.Minute))
	st.addEvent(api.NewEvent(api.PodRef(&pod), corev1.EventTypeNormal, "Started", "Started container app", "kubelet", "n1", t0), t0.Add(time.Minute))
	if len(st.Events) != 2 || st.Events[0].Count != 2 || !st.Events[0].LastTimestamp.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("events %+v", st.Events)
	}
	// An hour after the last of them, both are gone.
	st.addEvent(backoff(t0.Add(2*time.Hour)), t0.Add(2*time.Hour))
	if len(st.Events) != 1 || st.Events[0].Count != 1 {
		t.Fatalf("after the TTL: %+v", st.Events)
	}
}

func TestPlanEvents(t *testing.T) {
	st := newState()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	yes := true
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-abc-x", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", Controller: &yes}}},
		Spec: corev1.PodSpec{NodeName: "n1"}}
	st.planEvents(&api.Plan{Create: []corev1.Pod{pod}}, now)
	if len(st.Events) != 2 || st.Events[0].Reason != "SuccessfulCreate" || st.Events[0].InvolvedObject.Name != "web-abc" ||
		st.Events[0].Source.Component != "replicaset-controller" || st.Events[1].Message != "Successfully assigned default/web-abc-x to n1" {
		t.Fatalf("events %+v", st.Events)
	}
}
