package gitsource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fileAt(t *testing.T, dir, rev, name string) string {
	t.Helper()
	return gitRun(t, dir, "show", rev+":"+name)
}

func TestRollback(t *testing.T) {
	dir := initRepo(t)
	a := commitFile(t, dir, "app.yaml", "v: 1\n")
	b := commitFile(t, dir, "app.yaml", "v: 2\n")
	c := commitFile(t, dir, "extra.yaml", "x: 1\n")
	w := &Writer{Repo: dir, Author: "Ops <ops@example.com>"}
	sha, err := w.Rollback(a[:8])
	if err != nil {
		t.Fatal(err)
	}
	if gitRun(t, dir, "rev-parse", sha+"^{tree}") != gitRun(t, dir, "rev-parse", a+"^{tree}") {
		t.Fatal("the rollback's tree is not the tree of the target")
	}
	msg := gitRun(t, dir, "log", "-1", "--format=%B", sha)
	if !strings.HasPrefix(msg, "Roll back to "+a[:12]) || !strings.Contains(msg, b) || !strings.Contains(msg, c) {
		t.Errorf("message does not name the target and the undone commits:\n%s", msg)
	}
	if gitRun(t, dir, "log", "-1", "--format=%an", sha) != "Ops" || gitRun(t, dir, "rev-parse", "HEAD^") != c {
		t.Error("author or parent wrong")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "app.yaml")); string(data) != "v: 1\n" {
		t.Errorf("work tree not updated: %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "extra.yaml")); !os.IsNotExist(err) {
		t.Error("extra.yaml still in the work tree")
	}
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("dirty\n"), 0o644)
	if _, err := w.Rollback(b); err == nil || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Fatalf("rollback over a dirty work tree: %v", err)
	}
}

func TestRevert(t *testing.T) {
	dir := initRepo(t)
	commitFile(t, dir, "app.yaml", "a: 1\nb: 1\nc: 1\n")
	b := commitFile(t, dir, "app.yaml", "a: 2\nb: 1\nc: 1\n")
	commitFile(t, dir, "app.yaml", "a: 2\nb: 1\nc: 2\n")
	w := &Writer{Repo: dir}
	sha, err := w.Revert(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileAt(t, dir, sha, "app.yaml"); got != "a: 1\nb: 1\nc: 2" {
		t.Errorf("three-way revert gave %q", got)
	}
	if !strings.Contains(gitRun(t, dir, "log", "-1", "--format=%B"), "This reverts commit "+b) {
		t.Error("not a git revert message")
	}
	d := commitFile(t, dir, "app.yaml", "a: 3\nb: 1\nc: 2\n")
	commitFile(t, dir, "app.yaml", "a: 4\nb: 1\nc: 2\n")
	head := gitRun(t, dir, "rev-parse", "HEAD")
	_, err = w.Revert(d)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "app.yaml") {
		t.Fatalf("conflicting revert: %v", err)
	}
	if gitRun(t, dir, "rev-parse", "HEAD") != head || gitRun(t, dir, "status", "--porcelain") != "" {
		t.Error("a refused revert left changes behind")
	}
}

func TestWriteToBareAndRemote(t *testing.T) {
	src := initRepo(t)
	a := commitFile(t, src, "app.yaml", "v: 1\n")
	commitFile(t, src, "app.yaml", "v: 2\n")
	bare := filepath.Join(t.TempDir(), "origin.git")
	gitRun(t, src, "clone", "-q", "--bare", src, bare)

	// A bare repository: the commit is made in a temporary work tree.
	sha, err := (&Writer{Repo: bare, Author: "Ops <ops@x>"}).Rollback(a)
	if err != nil {
		t.Fatal(err)
	}
	if fileAt(t, bare, "main", "app.yaml") != "v: 1" || gitRun(t, bare, "rev-parse", "main") != sha {
		t.Fatal("bare repository not rolled back")
	}
	if wt := gitRun(t, bare, "worktree", "list"); strings.Count(wt, "\n") != 0 {
		t.Errorf("temporary work tree left behind:\n%s", wt)
	}

	// A URL: cloned, written, pushed.
	w, err := Clone("file://"+bare, "main")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(w.Repo)
	w.Author = "Ops <ops@x>"
	if _, err := w.Revert(sha); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(); err != nil {
		t.Fatal(err)
	}
	if fileAt(t, bare, "main", "app.yaml") != "v: 2" {
		t.Fatal("the pushed revert is not on the remote")
	}
}
