//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// quickCommits writes each step's files and makes one commit per step with
// git plumbing, then moves the branch once: berth sees only the last.
func (c *cluster) quickCommits(steps ...map[string]string) []string {
	c.t.Helper()
	var shas []string
	parent := c.git("rev-parse", "HEAD")
	for i, files := range steps {
		for name, data := range files {
			os.WriteFile(filepath.Join(c.repo, name), []byte(data), 0o644)
		}
		c.git("add", "-A")
		tree := c.git("write-tree")
		parent = c.git("commit-tree", tree, "-p", parent, "-m", "quick "+string(rune('1'+i)))
		shas = append(shas, parent)
	}
	c.git("update-ref", "refs/heads/main", parent)
	return shas
}

func (c *cluster) history() []api.LogEntry {
	c.t.Helper()
	out, code := c.berth("history", "-o", "json")
	if code != 0 {
		c.t.Fatalf("berth history: exit %d\n%s", code, out)
	}
	var log []api.LogEntry
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		c.t.Fatalf("berth history -o json: %v\n%s", err, out)
	}
	return log
}

func entry(log []api.LogEntry, sha string) *api.LogEntry {
	for i := range log {
		if log[i].Commit == sha {
			return &log[i]
		}
	}
	return nil
}

func TestRevisionLog(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	first := c.commit("web x1", map[string]string{"web.yaml": deployment("web", 1, "v1")})
	c.waitCommit(first, 0)

	var quick []string
	t.Run("three quick commits: one applied, two superseded, in order", func(t *testing.T) {
		quick = c.quickCommits(
			map[string]string{"web.yaml": deployment("web", 2, "v1")},
			map[string]string{"web.yaml": deployment("web", 3, "v1")},
			map[string]string{"web.yaml": deployment("web", 2, "v2")},
		)
		c.waitCommit(quick[2], 0)
		log := c.history() // newest first
		if len(log) < 4 || log[0].Commit != quick[2] || log[1].Commit != quick[1] || log[2].Commit != quick[0] || log[3].Commit != first {
			t.Fatalf("log order: %+v", log)
		}
		if log[0].Outcome != api.OutcomeApplied || log[1].Outcome != api.OutcomeSuperseded || log[2].Outcome != api.OutcomeSuperseded {
			t.Errorf("outcomes %s %s %s", log[0].Outcome, log[1].Outcome, log[2].Outcome)
		}
		if s := log[0].Summary; s == nil || len(s.Changed) != 1 || s.Changed[0] != "Deployment/default/web" {
			t.Errorf("summary %+v", log[0].Summary)
		}
		if r := log[3].Rollout; r == nil || r.State != api.RolloutConverged {
			t.Errorf("rollout of the first commit, waited for: %+v", r)
		}
		testutil.WaitFor(t, 10*time.Second, "rollout of the live commit to converge", func() bool {
			e := entry(c.history(), quick[2])
			return e.Rollout != nil && e.Rollout.State == api.RolloutConverged
		})
	})
	t.Run("a commit replaced before it converges", func(t *testing.T) {
		stuck := c.commit("needs a node that is not there", map[string]string{"web.yaml": strings.Replace(deployment("web", 2, "v1"),
			"      containers:", "      nodeSelector: {disk: none}\n      containers:", 1)})
		testutil.WaitFor(t, 10*time.Second, "the stuck commit to be live", func() bool { return c.status().LiveCommit == stuck })
		fix := c.commit("fix", map[string]string{"web.yaml": deployment("web", 2, "v2")})
		c.waitCommit(fix, 0)
		if e := entry(c.history(), stuck); e == nil || e.Rollout == nil || e.Rollout.State != api.RolloutReplaced || e.Rollout.By != fix {
			t.Fatalf("entry %+v", e)
		}
	})
	t.Run("a rejected commit is in the log with its errors", func(t *testing.T) {
		bad := c.commit("bad", map[string]string{"bad.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c, image: i, tty: true}]}\n"})
		c.waitCommit(bad, 1)
		e := entry(c.history(), bad)
		if e == nil || e.Outcome != api.OutcomeRejected || len(e.Errors) != 1 || !strings.Contains(e.Errors[0], "spec.containers[0].tty: not supported by berth") {
			t.Fatalf("entry %+v", e)
		}
		c.waitCommit(c.commit("drop bad", map[string]string{"bad.yaml": ""}), 0)
	})
	t.Run("git revert rolls the containers back and shows as a revert", func(t *testing.T) {
		v3 := c.commit("web v3", map[string]string{"web.yaml": deployment("web", 3, "v3")})
		c.waitCommit(v3, 0)
		c.git("revert", "--no-edit", v3)
		sha := c.git("rev-parse", "HEAD")
		c.waitCommit(sha, 0)
		c.expectRunning(2)
		for _, p := range c.pods() {
			if v := p.Spec.Containers[0].Env[0].Value; v != "v2" {
				t.Errorf("pod %s runs %s after the revert", p.Name, v)
			}
		}
		if e := entry(c.history(), sha); e == nil || e.RevertOf != v3 {
			t.Fatalf("revert entry %+v", e)
		}
		out, _ := c.berth("history", "--limit", "1")
		if !strings.Contains(out, "[revert of "+v3[:12]+"]") {
			t.Errorf("berth history does not show the revert:\n%s", out)
		}
	})
	var live string
	t.Run("a force push is refused", func(t *testing.T) {
		live = c.status().LiveCommit
		c.git("reset", "-q", "--hard", quick[0])
		forced := c.commit("rewritten", map[string]string{"web.yaml": deployment("web", 1, "forced")})
		out := c.waitCommit(forced, 1)
		if !strings.Contains(out, "history rewrite: "+forced+" does not descend from the live commit "+live) {
			t.Fatalf("berth wait:\n%s", out)
		}
		if e := entry(c.history(), forced); e == nil || !e.Rewrite || e.Outcome != api.OutcomeRejected {
			t.Fatalf("entry %+v", e)
		}
		if s := c.status(); s.LiveCommit != live {
			t.Fatalf("live commit moved to %s", s.LiveCommit)
		}
		// A commit on top of the refused one is still a rewrite.
		c.waitCommit(c.commit("on top", map[string]string{"other.txt": "x"}), 1)
	})
	t.Run("the log is intact after a master restart; --allow-rewrites applies", func(t *testing.T) {
		before := c.history()
		c.master.stop(syscall.SIGTERM)
		c.startMaster("--allow-rewrites")
		testutil.WaitFor(t, 30*time.Second, "master answers", func() bool {
			_, err := c.client.Status(context.Background(), 0, 0)
			return err == nil
		})
		after := c.history()
		if len(after) != len(before) {
			t.Fatalf("%d entries after restart, %d before", len(after), len(before))
		}
		for i := range before {
			if before[i].Commit != after[i].Commit || before[i].Outcome != after[i].Outcome {
				t.Fatalf("entry %d: %+v -> %+v", i, before[i], after[i])
			}
		}
		sha := c.commit("allowed", map[string]string{"web.yaml": deployment("web", 1, "forced")})
		c.waitCommit(sha, 0)
		if e := entry(c.history(), sha); e == nil || !e.Rewrite || e.Outcome != api.OutcomeApplied {
			t.Fatalf("entry %+v", e)
		}
		out, code := c.berth("diff", quick[2], sha, "--repo", c.repo)
		if code != 0 || !strings.Contains(out, `~ Deployment/default/web spec.template.spec.containers[0].env[0].value: "v2" -> "forced"`) {
			t.Errorf("berth diff exited %d:\n%s", code, out)
		}
		out, code = c.berth("show", sha[:10])
		if code != 0 || !strings.Contains(out, "outcome    applied (history rewrite)") || !strings.Contains(out, "~ Deployment/default/web") {
			t.Errorf("berth show:\n%s", out)
		}
	})
	t.Run("berth rollback and berth revert on a local repository", func(t *testing.T) {
		out, code := c.berth("rollback", quick[0], "--repo", c.repo, "--author", "Ops <ops@example.com>")
		if code != 0 {
			t.Fatalf("berth rollback: exit %d\n%s", code, out)
		}
		rollback := c.git("rev-parse", "HEAD")
		if !strings.Contains(out, "wrote "+rollback) {
			t.Errorf("berth rollback did not name its commit:\n%s", out)
		}
		c.waitCommit(rollback, 0)
		c.expectRunning(2)
		for _, p := range c.pods() {
			if v := p.Spec.Containers[0].Env[0].Value; v != "v1" {
				t.Errorf("pod %s runs %s after the rollback", p.Name, v)
			}
		}
		if e := entry(c.history(), rollback); e == nil || !strings.HasPrefix(e.Message, "Roll back to "+quick[0][:12]) || e.Author != "Ops" {
			t.Fatalf("rollback entry %+v", e)
		}
		out, code = c.berth("revert", rollback, "--repo", c.repo)
		if code != 0 {
			t.Fatalf("berth revert: exit %d\n%s", code, out)
		}
		revert := c.git("rev-parse", "HEAD")
		c.waitCommit(revert, 0)
		c.expectRunning(1)
		if e := entry(c.history(), revert); e == nil || e.RevertOf != rollback {
			t.Fatalf("revert entry %+v", e)
		}
	})
}
