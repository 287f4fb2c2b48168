package master

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

func TestPlanSaysWhichPodsCannotBePlaced(t *testing.T) {
	c, repo := startMaster(t)
	ctx := context.Background()
	if err := c.Register(ctx, &api.Registration{Name: "n1", CPU: mustQ("1"), Memory: mustQ("1Gi")}); err != nil {
		t.Fatal(err)
	}
	sha := testutil.GitCommit(t, repo, "web.yaml", deployYAML)
	waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit == sha && s.Pods == 2 })

	big := strings.Replace(deployYAML, "replicas: 2", "replicas: 3\n  strategy: {type: Recreate}", 1) +
		"        resources:\n          requests: {cpu: 600m}\n"
	d, err := c.Plan(ctx, &api.PlanRequest{Files: []api.PlanFile{{Name: "web.yaml", Data: []byte(big)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Errors) > 0 || len(d.Summary.Changed) != 1 || len(d.Delete) != 2 || len(d.Create) != 3 {
		t.Fatalf("dry run %+v", d)
	}
	// The two old pods go, so one new pod of 600m fits on the 1-CPU node.
	if d.Unplaceable() != 2 {
		t.Fatalf("%d pods cannot be placed, want 2: %+v", d.Unplaceable(), d.Create)
	}
	for _, p := range d.Create {
		if p.Node == "" && p.Reason != "0/1 nodes are available: 1 Insufficient cpu." {
			t.Errorf("pod %s: reason %q", p.Pod, p.Reason)
		}
	}
	if s := waitStatus(t, c, func(*api.Status) bool { return true }); s.LiveCommit != sha || s.Pods != 2 {
		t.Fatalf("a dry run changed the cluster: %+v", s)
	}

	// With the default RollingUpdate (maxSurge 1, maxUnavailable 0 of 3)
	// the rollout would stall: one new pod fits beside the two old ones,
	// the second does not, and no old pod may go before it is available.
	rolling := strings.Replace(big, "\n  strategy: {type: Recreate}", "", 1)
	d, err = c.Plan(ctx, &api.PlanRequest{Files: []api.PlanFile{{Name: "web.yaml", Data: []byte(rolling)}}})
	if err != nil || len(d.Delete) != 0 || len(d.Create) != 2 || d.Unplaceable() != 1 {
		t.Fatalf("dry run of a rolling update: %+v, %v", d, err)
	}

	d, err = c.Plan(ctx, &api.PlanRequest{Files: []api.PlanFile{{Name: "bad.yaml", Data: []byte("kind: [\n")}}})
	if err != nil || len(d.Errors) != 1 || !strings.HasPrefix(d.Errors[0], "bad.yaml:1: invalid YAML") {
		t.Fatalf("plan of a bad manifest: %+v, %v", d, err)
	}
}
