package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Writes (rollback, revert) go through the git CLI: go-git has no
// three-way merge, and `git revert` itself is the definition of a true
// revert. Reads stay on go-git.

// Writer makes commits on a branch of a local repository.
type Writer struct {
	Repo   string // a local repository (work tree or bare)
	Branch string // empty: the branch HEAD points to
	// Author is "Name <email>" for the commits berth writes; empty uses
	// the repository's own Git identity.
	Author string
}

// ErrConflict is returned when a revert does not apply cleanly.
var ErrConflict = errors.New("revert conflicts")

// git runs the git CLI in dir and returns its trimmed output.
func (w *Writer) git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if w.Author != "" {
		name, email, _ := strings.Cut(strings.TrimSuffix(w.Author, ">"), " <")
		cmd.Env = append(cmd.Env, "GIT_AUTHOR_NAME="+name, "GIT_AUTHOR_EMAIL="+email,
			"GIT_COMMITTER_NAME="+name, "GIT_COMMITTER_EMAIL="+email)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return strings.TrimSpace(out.String()), fmt.Errorf("git %s: %s", strings.Join(args, " "), firstLines(msg, 3))
	}
	return strings.TrimSpace(out.String()), nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "; ")
}

// branch resolves the branch to write to.
func (w *Writer) branch() (string, error) {
	if w.Branch != "" {
		return w.Branch, nil
	}
	b, err := w.git(w.Repo, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", fmt.Errorf("%s: HEAD names no branch: give --branch", w.Repo)
	}
	return b, nil
}

// workdir returns a clean work tree with the branch checked out, and a
// function that publishes the new head of the branch and cleans up. The
// repository's own work tree is used when it has the branch checked out
// (it must then be clean); otherwise a temporary one is added.
func (w *Writer) workdir(branch string) (dir string, publish func() error, err error) {
	head, err := w.git(w.Repo, "rev-parse", "--verify", "refs/heads/"+branch)
	if err != nil {
		return "", nil, fmt.Errorf("branch %q of %s: %w", branch, w.Repo, err)
	}
	bare, _ := w.git(w.Repo, "rev-parse", "--is-bare-repository")
	current, _ := w.git(w.Repo, "symbolic-ref", "--short", "-q", "HEAD")
	if bare != "true" && current == branch {
		top, err := w.git(w.Repo, "rev-parse", "--show-toplevel")
		if err != nil {
			return "", nil, err
		}
		if dirty, _ := w.git(top, "status", "--porcelain", "--untracked-files=no"); dirty != "" {
			return "", nil, fmt.Errorf("the work tree of %s has uncommitted changes: commit or stash them first", top)
		}
		return top, func() error { return nil }, nil
	}
	tmp, err := os.MkdirTemp("", "berth-write")
	if err != nil {
		return "", nil, err
	}
	if _, err := w.git(w.Repo, "worktree", "add", "-q", "--detach", tmp, head); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	cleanup := func() {
		w.git(w.Repo, "worktree", "remove", "--force", tmp)
		os.RemoveAll(tmp)
	}
	return tmp, func() error {
		defer cleanup()
		next, err := w.git(tmp, "rev-parse", "HEAD")
		if err != nil {
			return err
		}
		// Compare-and-swap: refuse if the branch moved meanwhile.
		_, err = w.git(w.Repo, "update-ref", "refs/heads/"+branch, next, head)
		return err
	}, nil
}

// Rollback writes a commit on the branch whose tree equals rev's tree,
// naming the commits it undoes, and returns its SHA.
func (w *Writer) Rollback(rev string) (string, error) {
	branch, err := w.branch()
	if err != nil {
		return "", err
	}
	target, err := w.git(w.Repo, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("commit %q in %s: %w", rev, w.Repo, err)
	}
	dir, publish, err := w.workdir(branch)
	if err != nil {
		return "", err
	}
	undone, err := w.git(dir, "log", "--first-parent", "--format=%H %s", target+"..HEAD")
	if err != nil {
		publish()
		return "", err
	}
	if undone == "" {
		publish()
		return "", fmt.Errorf("%s is the head of %s or not an ancestor of it: nothing to roll back", short(target), branch)
	}
	msg := fmt.Sprintf("Roll back to %s\n\nThis undoes:\n", short(target))
	for _, line := range strings.Split(undone, "\n") {
		msg += "  " + line + "\n"
	}
	tree, err := w.git(dir, "rev-parse", target+"^{tree}")
	if err == nil {
		var commit string
		if commit, err = w.git(dir, "commit-tree", tree, "-p", "HEAD", "-m", msg); err == nil {
			_, err = w.git(dir, "merge", "-q", "--ff-only", commit)
		}
	}
	if perr := publish(); err == nil {
		err = perr
	}
	if err != nil {
		return "", err
	}
	return w.git(w.Repo, "rev-parse", "refs/heads/"+branch)
}

// Revert writes `git revert` of one commit on the branch (three-way); a
// conflict is refused with the files that conflict.
func (w *Writer) Revert(sha string) (string, error) {
	branch, err := w.branch()
	if err != nil {
		return "", err
	}
	dir, publish, err := w.workdir(branch)
	if err != nil {
		return "", err
	}
	if _, err := w.git(dir, "revert", "--no-edit", sha); err != nil {
		files, _ := w.git(dir, "diff", "--name-only", "--diff-filter=U")
		w.git(dir, "revert", "--abort")
		publish()
		if files != "" {
			return "", fmt.Errorf("%w: reverting %s touches lines changed since in %s: revert it by hand with git revert %s",
				ErrConflict, short(sha), strings.ReplaceAll(files, "\n", ", "), short(sha))
		}
		return "", err
	}
	if err := publish(); err != nil {
		return "", err
	}
	return w.git(w.Repo, "rev-parse", "refs/heads/"+branch)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Clone makes a working clone of a remote repository for writing; Push
// publishes the branch back.
func Clone(url, branch string) (*Writer, error) {
	dir, err := os.MkdirTemp("", "berth-clone")
	if err != nil {
		return nil, err
	}
	w := &Writer{Repo: dir, Branch: branch}
	args := []string{"clone", "-q"}
	if branch != "" {
		args = append(args, "--branch", branch)
	}
	if _, err := w.git("", append(args, url, dir)...); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cloning %s: %w", url, err)
	}
	return w, nil
}

// Push publishes the branch of a clone to its origin.
func (w *Writer) Push() error {
	branch, err := w.branch()
	if err != nil {
		return err
	}
	_, err = w.git(w.Repo, "push", "-q", "origin", "refs/heads/"+branch+":refs/heads/"+branch)
	return err
}
