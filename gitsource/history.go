package gitsource

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/berth-dev/berth/api"
)

// MaxChain bounds how many commits one look at the branch walks back.
const MaxChain = 10000

// revertLine is the line `git revert` writes into a commit message.
var revertLine = regexp.MustCompile(`This reverts commit ([0-9a-f]{7,64})`)

// commitInfo is what Git says about a commit.
func commitInfo(c *object.Commit) api.CommitInfo {
	info := api.CommitInfo{
		Commit:         c.Hash.String(),
		Author:         c.Author.Name,
		AuthorEmail:    c.Author.Email,
		AuthorTime:     c.Author.When.UTC(),
		Committer:      c.Committer.Name,
		CommitterEmail: c.Committer.Email,
		CommitTime:     c.Committer.When.UTC(),
		Message:        strings.TrimSpace(c.Message),
	}
	for _, p := range c.ParentHashes {
		info.Parents = append(info.Parents, p.String())
	}
	if m := revertLine.FindStringSubmatch(c.Message); m != nil {
		info.RevertOf = m[1]
	}
	return info
}

// Chain returns the commits after from up to and including to, oldest
// first, along the first-parent chain (what a merge brought in counts as
// the merge). rewrite is set when to does not descend from from (a force
// push); the chain is then just to. An empty from gives just to.
func (s *Source) Chain(from, to string) (chain []api.CommitInfo, rewrite bool, err error) {
	head, err := s.repo.CommitObject(plumbing.NewHash(to))
	if err != nil {
		return nil, false, fmt.Errorf("reading commit %s: %w", to, err)
	}
	only := func(rewrite bool) ([]api.CommitInfo, bool, error) {
		info := commitInfo(head)
		info.Signature = signature(head, s.cfg.TrustedKeys)
		return []api.CommitInfo{info}, rewrite, nil
	}
	if from == "" || from == to {
		return only(false)
	}
	base, err := s.repo.CommitObject(plumbing.NewHash(from))
	if err != nil { // the old commit is gone from the repository: rewritten
		return only(true)
	}
	if ok, err := base.IsAncestor(head); err != nil {
		return nil, false, fmt.Errorf("is %s an ancestor of %s: %w", from, to, err)
	} else if !ok {
		return only(true)
	}
	// Invariant: base is an ancestor of c. A commit with one parent keeps it
	// for that parent; at a merge, the first parent may not descend from
	// base (base came in through another parent): the walk ends there.
	for c := head; c.Hash != base.Hash; {
		chain = append(chain, commitInfo(c))
		if len(chain) > MaxChain {
			return nil, false, fmt.Errorf("more than %d commits between %s and %s", MaxChain, from, to)
		}
		parent, err := c.Parent(0)
		if err != nil {
			return nil, false, fmt.Errorf("reading the first parent of %s: %w", c.Hash, err)
		}
		if c.NumParents() > 1 && parent.Hash != base.Hash {
			if ok, err := base.IsAncestor(parent); err != nil || !ok {
				break
			}
		}
		c = parent
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	for i := range chain {
		chain[i].Signature = s.commitSignature(chain[i].Commit)
	}
	return chain, false, nil
}

// Descends reports whether commit descends from (or is) ancestor.
func (s *Source) Descends(ancestor, commit string) (bool, error) {
	if ancestor == commit {
		return true, nil
	}
	a, err := s.repo.CommitObject(plumbing.NewHash(ancestor))
	if err != nil {
		return false, nil // the old commit is gone: history was rewritten
	}
	c, err := s.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return false, fmt.Errorf("reading commit %s: %w", commit, err)
	}
	return a.IsAncestor(c)
}
