package raftstore

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

func TestTaintsKeepTheTimeTheyWereAdded(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	nodes := func(taints ...corev1.Taint) *api.ObjectSet {
		return &api.ObjectSet{Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Taints: taints}}}}
	}
	drain := corev1.Taint{Key: "drain", Effect: corev1.TaintEffectNoExecute}
	first := nodes(drain)
	dateTaints(&api.ObjectSet{}, first, t0)
	second := nodes(drain, corev1.Taint{Key: "gpu", Value: "no", Effect: corev1.TaintEffectNoSchedule})
	dateTaints(first, second, t0.Add(time.Hour))
	got := second.Nodes[0].Spec.Taints
	if !got[0].TimeAdded.Time.Equal(t0) || !got[1].TimeAdded.Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("times added: %v, %v", got[0].TimeAdded, got[1].TimeAdded)
	}
	if s := api.Summarize(first, nodes(drain)); len(s.Changed) != 0 {
		t.Errorf("the same Node manifest shows as changed: %+v", s)
	}
}
