package master

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestStatusTakesTheLeadersPass runs status the way a large cluster does,
// from the verdict of the leader's reconcile passes instead of a pass of
// its own: status is not converged while the pods wait for a node or for
// readiness, and is once the node's agent reports them ready.
func TestStatusTakesTheLeadersPass(t *testing.T) {
	old := statusOwnPassBelow
	statusOwnPassBelow = 0
	t.Cleanup(func() { statusOwnPassBelow = old })
	c, repo := startMaster(t)
	ctx := context.Background()
	sha := testutil.GitCommit(t, repo, "web.yaml", deployYAML)
	s := waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit == sha && s.Pods == 2 })
	if s.Converged {
		t.Fatal("converged with no node to run the pods")
	}
	a := registerAndAssign(t, c, "n1", 2)
	bound := waitStatus(t, c, func(s *api.Status) bool { return s.Index >= a.Index })
	if bound.Converged {
		t.Fatal("converged before the pods ran")
	}
	batch := &api.StatusBatch{Node: "n1"}
	for _, p := range a.Pods {
		batch.Reports = append(batch.Reports, api.PodReport{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID),
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}}}})
	}
	if err := c.Report(ctx, batch); err != nil {
		t.Fatal(err)
	}
	s = waitStatus(t, c, func(s *api.Status) bool { return s.Converged })
	if s.ReadyPods != 2 || s.Index <= bound.Index {
		t.Errorf("converged status %+v after one at index %d", s, bound.Index)
	}
}
