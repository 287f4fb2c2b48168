package raftstore

import (
	"time"

	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// TestViewsWhileApplying takes views and node assignments (which copy the
// pods after releasing the lock) while entries bind, report on, delete and
// remove the same pods. Run with -race: a stored pod changed in place,
// instead of replaced by an edited copy, is a data race here. The views
// taken before an entry must also keep what they saw.
func TestViewsWhileApplying(t *testing.T) {
	s := mustStore(t, t.TempDir(), freeAddr(t))
	defer s.Close()
	must := func(_ uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RegisterNode(&api.Registration{Name: "n1"}))
	var create []corev1.Pod
	for i := range 50 {
		create = append(create, pod(fmt.Sprintf("p%02d", i), ""))
	}
	must(s.ApplyPlan(&api.Plan{Create: create}, time.Now()))
	before := s.View(false)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				v := s.View(false)
				for i := range v.Pods {
					_ = v.Pods[i].Status.Phase
				}
				s.NodePods(ctx, "n1", 0)
			}
		}()
	}
	for i := range create {
		key := api.PodKey(&create[i])
		must(s.ApplyPlan(&api.Plan{Bind: []api.Binding{{Pod: key, Node: "n1"}}}, time.Now()))
		must(s.ReportStatus(&api.StatusBatch{Node: "n1", Reports: []api.PodReport{{Namespace: "default", Name: create[i].Name,
			UID: string(create[i].UID), Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}}}))
		must(s.ApplyPlan(&api.Plan{Delete: []string{key}}, time.Now()))
	}
	cancel()
	wg.Wait()
	for _, p := range before.Pods {
		if p.Spec.NodeName != "" || p.Status.Phase != "" || p.DeletionTimestamp != nil {
			t.Fatalf("a view taken before the entries changed: pod %s node %q phase %q deleted %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp)
		}
	}
	after := s.View(false)
	for _, p := range after.Pods {
		if p.Spec.NodeName != "n1" || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp == nil {
			t.Fatalf("pod %s after the entries: node %q phase %q deleted %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp)
		}
	}
}
