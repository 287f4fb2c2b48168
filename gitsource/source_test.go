package gitsource

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: one
spec:
  containers:
  - name: c
    image: busybox:1
`

// initRepo makes a real repository with the git CLI.
func initRepo(t *testing.T) string { return initRepoTB(t) }

func initRepoTB(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	// A local identity: tests must not depend on the machine's global one.
	gitRun(t, dir, "config", "user.name", "Ann")
	gitRun(t, dir, "config", "user.email", "ann@example.com")
	return dir
}

func gitRun(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitFile writes a file and commits it, returning the commit's SHA.
func commitFile(t *testing.T, dir, name, data string) string { return commitFileTB(t, dir, name, data) }

func commitFileTB(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", "change "+name)
	return gitRun(t, dir, "rev-parse", "HEAD")
}

func TestLoadReadsTreeNotWorkTree(t *testing.T) {
	dir := initRepo(t)
	sha := commitFile(t, dir, "apps/pod.yaml", podYAML)
	os.WriteFile(filepath.Join(dir, "apps", "junk.yaml"), []byte("kind: [\n"), 0o644) // uncommitted
	commitFile(t, dir, "README.md", "not a manifest")
	s, err := New(Config{Repo: dir, Path: "apps", Poll: time.Second, Limits: DefaultConfig().Limits})
	if err != nil {
		t.Fatal(err)
	}
	if s.Branch() != "main" {
		t.Errorf("branch %q, want main", s.Branch())
	}
	rev, err := s.Load(sha)
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Errors) > 0 || rev.Objects.Count() != 1 || rev.Author != "Ann" {
		t.Fatalf("revision: errors %v objects %d author %q", rev.Errors, rev.Objects.Count(), rev.Author)
	}
}

func TestLoadRejectsBadCommit(t *testing.T) {
	dir := initRepo(t)
	sha := commitFile(t, dir, "pod.yaml", podYAML+"---\nkind: [\n")
	s, err := New(Config{Repo: dir, Poll: time.Second, Limits: DefaultConfig().Limits})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Load(sha)
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Errors) != 1 || rev.Errors[0] != "pod.yaml:10: invalid YAML: did not find expected node content (document 1)" {
		t.Fatalf("errors %q", rev.Errors)
	}
}

func TestNewBadInput(t *testing.T) {
	dir := initRepo(t)
	commitFile(t, dir, "pod.yaml", podYAML)
	cases := map[string]Config{
		"not a repository": {Repo: t.TempDir(), Poll: time.Second},
		"no such branch":   {Repo: dir, Branch: "nope", Poll: time.Second},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New accepted bad input")
			}
			if !strings.Contains(err.Error(), cfg.Repo) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q does not name %s on one line", err, cfg.Repo)
			}
		})
	}
}

func watchHeads(t testing.TB, s *Source, last string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	heads := make(chan string, 16)
	go s.Watch(ctx, last, slog.New(slog.NewTextHandler(io.Discard, nil)), func(sha string) { heads <- sha })
	return heads
}

func expectHead(t *testing.T, heads <-chan string, want string, within time.Duration) {
	t.Helper()
	select {
	case got := <-heads:
		if got != want {
			t.Fatalf("watch saw %s, want %s", got, want)
		}
	case <-time.After(within):
		t.Fatalf("commit %s not seen within %v", want, within)
	}
}

func TestWatchLocalSeesCommitByFsnotify(t *testing.T) {
	dir := initRepo(t)
	first := commitFile(t, dir, "pod.yaml", podYAML)
	// A poll interval far beyond the deadline: only fsnotify can see it.
	s, err := New(Config{Repo: dir, Poll: time.Hour, Limits: DefaultConfig().Limits})
	if err != nil {
		t.Fatal(err)
	}
	heads := watchHeads(t, s, first)
	for i := 0; i < 3; i++ {
		sha := commitFile(t, dir, "pod.yaml", strings.Replace(podYAML, "busybox:1", "busybox:"+string(rune('2'+i)), 1))
		expectHead(t, heads, sha, 5*time.Second)
	}
}

func TestWatchRemoteFetchesOnPoll(t *testing.T) {
	origin := initRepo(t)
	first := commitFile(t, origin, "pod.yaml", podYAML)
	s, err := New(Config{Repo: "file://" + origin, DataDir: t.TempDir(), Poll: 50 * time.Millisecond, Limits: DefaultConfig().Limits})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Remote() {
		t.Fatal("file:// URL not treated as remote")
	}
	heads := watchHeads(t, s, first)
	sha := commitFile(t, origin, "pod.yaml", strings.Replace(podYAML, "busybox:1", "busybox:2", 1))
	expectHead(t, heads, sha, 10*time.Second)
	rev, err := s.Load(sha)
	if err != nil || len(rev.Errors) > 0 || rev.Objects.Pods[0].Spec.Containers[0].Image != "busybox:2" {
		t.Fatalf("load after fetch: %v %v", err, rev)
	}
}

func TestTreeFilesSkipsDotFoldersAndChecksSymlinks(t *testing.T) {
	dir := initRepo(t)
	commitFile(t, dir, "apps/pod.yaml", podYAML)
	commitFile(t, dir, ".github/ci.yaml", "kind: [\n")
	if err := os.Symlink("pod.yaml", filepath.Join(dir, "apps", "same.yaml")); err != nil {
		t.Fatal(err)
	}
	sha := commitFile(t, dir, "apps/other.txt", "x")
	s, err := New(Config{Repo: dir, Poll: time.Second, Limits: DefaultConfig().Limits})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Load(sha)
	if err != nil {
		t.Fatal(err)
	}
	// apps/same.yaml is a second copy of the same pod: the only error.
	if len(rev.Errors) != 1 || !strings.Contains(rev.Errors[0], "apps/same.yaml:4: Pod/default/one: metadata.name: defined twice: also at apps/pod.yaml:4 (document 0)") {
		t.Fatalf("errors %q", rev.Errors)
	}
	if err := os.Symlink("../../../etc/passwd.yaml", filepath.Join(dir, "apps", "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "apps", "same.yaml"))
	sha = commitFile(t, dir, "apps/other.txt", "y")
	rev, _ = s.Load(sha)
	if len(rev.Errors) != 1 || rev.Errors[0] != `apps/escape.yaml: symlink to "../../../etc/passwd.yaml" leaves the repository` {
		t.Fatalf("errors %q", rev.Errors)
	}
}
