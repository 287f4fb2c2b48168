package master

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/raftstore"
)

// TestNetworkPolicyWaitsForFormat2: while the cluster runs format 1 (a
// master of v0.1.0 votes), a commit with a NetworkPolicy is refused with
// a message that says why; the last good commit stays live.
func TestNetworkPolicyWaitsForFormat2(t *testing.T) {
	c, repo := startMaster(t, func(cfg *Config) { cfg.Release = raftstore.Release{Version: "v0.1.0", Format: 1} })
	policy := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec:\n  podSelector: {}\n"
	sha := testutil.GitCommit(t, repo, "deny.yaml", policy)
	s := waitStatus(t, c, func(s *api.Status) bool { return s.SeenCommit == sha })
	if s.LiveCommit == sha || len(s.Rejected) == 0 || !strings.Contains(strings.Join(s.Rejected[0].Errors, "\n"), "NetworkPolicy/default/deny: refused while a master older than v0.2.0 votes") {
		t.Errorf("a NetworkPolicy on format 1: live %s, rejected %+v; want it refused with the reason", s.LiveCommit, s.Rejected)
	}
}
