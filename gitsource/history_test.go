package gitsource

import (
	"testing"
)

func TestChain(t *testing.T) {
	dir := initRepo(t)
	a := commitFile(t, dir, "a.yaml", podYAML)
	b := commitFile(t, dir, "b.txt", "b")
	c := commitFile(t, dir, "c.txt", "c")
	gitRun(t, dir, "revert", "--no-edit", c)
	d := gitRun(t, dir, "rev-parse", "HEAD")
	s, err := New(Config{Repo: dir, Poll: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	chain, rewrite, err := s.Chain(a, d)
	if err != nil || rewrite {
		t.Fatalf("chain: %v rewrite %v", err, rewrite)
	}
	var got []string
	for _, ci := range chain {
		got = append(got, ci.Commit)
	}
	if len(got) != 3 || got[0] != b || got[1] != c || got[2] != d {
		t.Fatalf("chain %v, want %v", got, []string{b, c, d})
	}
	if chain[2].RevertOf != c || chain[2].Committer != "Ann" {
		t.Errorf("revert commit info %+v", chain[2])
	}

	// A side branch merged in: the merge counts, not the side's commits.
	gitRun(t, dir, "checkout", "-q", "-b", "side")
	commitFile(t, dir, "side.txt", "s")
	gitRun(t, dir, "checkout", "-q", "main")
	e := commitFile(t, dir, "e.txt", "e")
	gitRun(t, dir, "merge", "-q", "--no-edit", "side")
	m := gitRun(t, dir, "rev-parse", "HEAD")
	chain, rewrite, err = s.Chain(d, m)
	if err != nil || rewrite || len(chain) != 2 || chain[0].Commit != e || chain[1].Commit != m {
		t.Fatalf("after a merge: %v %v %+v", err, rewrite, chain)
	}

	// A force push: the new head does not descend from the old one.
	gitRun(t, dir, "reset", "-q", "--hard", b)
	f := commitFile(t, dir, "f.txt", "f")
	chain, rewrite, err = s.Chain(m, f)
	if err != nil || !rewrite || len(chain) != 1 || chain[0].Commit != f {
		t.Fatalf("force push: %v %v %+v", err, rewrite, chain)
	}
}
