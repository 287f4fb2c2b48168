package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/gitsource"
)

type writeFlags struct {
	repo, branch, author string
	push                 bool
}

func addWriteFlags(c *cobra.Command, f *writeFlags) {
	c.Flags().StringVar(&f.repo, "repo", ".", "the repository berth follows: a local path or a URL")
	c.Flags().StringVar(&f.branch, "branch", "", "the branch berth follows (default: the branch HEAD points to)")
	c.Flags().StringVar(&f.author, "author", "", `author of the commit, "Name <email>" (default: the repository's Git identity)`)
	c.Flags().BoolVar(&f.push, "push", false, "for a URL: push the commit (credentials come from git: the URL, a credential helper)")
}

// writeCommit runs a write on the repository: in place for a local one, in
// a clone for a URL (pushed with --push, otherwise left for the user).
func writeCommit(out io.Writer, f *writeFlags, write func(*gitsource.Writer) (string, error)) error {
	if !gitsource.IsRemote(f.repo) {
		sha, err := write(&gitsource.Writer{Repo: f.repo, Branch: f.branch, Author: f.author})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s on %s; berth applies it like any other commit (berth wait --commit %s)\n", sha, f.repo, sha)
		return nil
	}
	w, err := gitsource.Clone(f.repo, f.branch)
	if err != nil {
		return err
	}
	w.Author = f.author
	sha, err := write(w)
	if err != nil {
		os.RemoveAll(w.Repo)
		return err
	}
	if !f.push {
		fmt.Fprintf(out, "wrote %s in a clone at %s; to publish it:\n  git -C %s push origin HEAD\n", sha, w.Repo, w.Repo)
		return nil
	}
	defer os.RemoveAll(w.Repo)
	if err := w.Push(); err != nil {
		return err
	}
	fmt.Fprintf(out, "pushed %s to %s\n", sha, f.repo)
	return nil
}

func newRollbackCmd() *cobra.Command {
	f := &writeFlags{}
	c := &cobra.Command{
		Use:   "rollback REV",
		Short: "write a commit whose tree is REV's tree (\"Roll back to REV\", naming the commits it undoes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCommit(cmd.OutOrStdout(), f, func(w *gitsource.Writer) (string, error) { return w.Rollback(args[0]) })
		},
	}
	addWriteFlags(c, f)
	return c
}

func newRevertCmd() *cobra.Command {
	f := &writeFlags{}
	c := &cobra.Command{
		Use:   "revert SHA",
		Short: "write a git revert of one commit (three-way; refused on conflict)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCommit(cmd.OutOrStdout(), f, func(w *gitsource.Writer) (string, error) { return w.Revert(args[0]) })
		},
	}
	addWriteFlags(c, f)
	return c
}
