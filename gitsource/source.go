// Package gitsource follows one branch of a Git repository with go-git and
// turns commits into revisions. Manifests are read from the commit's tree,
// never from a work tree.
package gitsource

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manifest"
)

// Config says which repository and branch to follow.
type Config struct {
	// Repo is a local path or a URL; file:// URLs count as remote.
	Repo string
	// Branch is the branch to follow; empty means the branch HEAD points to.
	Branch string
	// Path is the folder of the manifests inside the repository.
	Path string
	// DataDir is where a remote repository is cloned.
	DataDir string
	// Poll is the fallback poll interval (and the fetch interval of a remote).
	Poll time.Duration
}

// DefaultConfig returns a Config with a 5 s poll.
func DefaultConfig() Config { return Config{Poll: 5 * time.Second} }

// Validate checks the config.
func (c Config) Validate() error {
	if c.Repo == "" {
		return errors.New("gitsource: --repo is required")
	}
	if c.Poll <= 0 {
		return fmt.Errorf("gitsource: poll interval %v must be positive", c.Poll)
	}
	if IsRemote(c.Repo) && c.DataDir == "" {
		return errors.New("gitsource: a remote repository needs a data directory to clone into")
	}
	return nil
}

// IsRemote reports whether repo is a URL rather than a local path.
func IsRemote(repo string) bool {
	return strings.Contains(repo, "://") || (strings.Contains(repo, "@") && strings.Contains(repo, ":"))
}

// Source is one followed branch.
type Source struct {
	cfg    Config
	repo   *git.Repository
	gitDir string // the local repository's git directory; empty for a remote
	branch string
	mu     sync.Mutex // serialises fetches
}

// New opens a local repository or clones a remote one into cfg.DataDir.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg}
	var err error
	if IsRemote(cfg.Repo) {
		err = s.openRemote()
	} else {
		err = s.openLocal()
	}
	if err != nil {
		return nil, err
	}
	if err := s.resolveBranch(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Source) openLocal() error {
	repo, err := git.PlainOpenWithOptions(s.cfg.Repo, &git.PlainOpenOptions{DetectDotGit: false})
	if err != nil {
		return fmt.Errorf("opening repository %s: %w (is it a Git repository?)", s.cfg.Repo, err)
	}
	s.repo = repo
	s.gitDir = s.cfg.Repo
	if fi, err := os.Stat(filepath.Join(s.cfg.Repo, ".git")); err == nil && fi.IsDir() {
		s.gitDir = filepath.Join(s.cfg.Repo, ".git")
	}
	return nil
}

func (s *Source) openRemote() error {
	dir := filepath.Join(s.cfg.DataDir, "repo.git")
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainClone(dir, true, &git.CloneOptions{URL: s.cfg.Repo, Mirror: true})
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("cloning %s into %s: %w", s.cfg.Repo, dir, err)
		}
	}
	if err != nil {
		return fmt.Errorf("opening clone %s of %s: %w", dir, s.cfg.Repo, err)
	}
	s.repo = repo
	return s.Fetch()
}

// resolveBranch picks the branch HEAD points to when none was given and
// checks that the branch exists.
func (s *Source) resolveBranch() error {
	s.branch = s.cfg.Branch
	if s.branch == "" {
		ref, err := s.repo.Reference(plumbing.HEAD, false)
		if err != nil {
			return fmt.Errorf("reading HEAD of %s: %w", s.cfg.Repo, err)
		}
		if ref.Type() != plumbing.SymbolicReference {
			return fmt.Errorf("HEAD of %s is detached: give --branch", s.cfg.Repo)
		}
		s.branch = ref.Target().Short()
	}
	if _, err := s.Head(); err != nil {
		return err
	}
	return nil
}

// Branch returns the followed branch.
func (s *Source) Branch() string { return s.branch }

// Remote reports whether the source is a clone of a remote repository.
func (s *Source) Remote() bool { return s.gitDir == "" }

// Fetch updates a remote clone; it does nothing for a local repository.
func (s *Source) Fetch() error {
	if !s.Remote() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.repo.Fetch(&git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{"+refs/heads/*:refs/heads/*"},
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetching %s: %w", s.cfg.Repo, err)
	}
	return nil
}

// Head returns the commit the followed branch points to.
func (s *Source) Head() (string, error) {
	ref, err := s.repo.Reference(plumbing.NewBranchReferenceName(s.branch), true)
	if err != nil {
		return "", fmt.Errorf("branch %q of %s: %w (does it exist and have a commit?)", s.branch, s.cfg.Repo, err)
	}
	return ref.Hash().String(), nil
}

// Load reads the commit and decodes every manifest of its tree. A commit
// whose manifests do not decode comes back as a revision with errors; the
// error return is for a commit that cannot be read at all.
func (s *Source) Load(sha string) (*api.Revision, error) {
	c, err := s.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", sha, err)
	}
	rev := &api.Revision{CommitInfo: api.CommitInfo{
		Commit:      c.Hash.String(),
		Author:      c.Author.Name,
		AuthorEmail: c.Author.Email,
		AuthorTime:  c.Author.When.UTC(),
		Message:     strings.TrimSpace(c.Message),
	}}
	for _, p := range c.ParentHashes {
		rev.Parents = append(rev.Parents, p.String())
	}
	files, err := s.treeFiles(c)
	if err != nil {
		rev.Errors = []string{err.Error()}
		return rev, nil
	}
	set, errs := manifest.Decode(files)
	for _, e := range errs {
		rev.Errors = append(rev.Errors, e.Error())
	}
	rev.Objects = set
	return rev, nil
}

// treeFiles reads every manifest file under the configured path of a
// commit's tree.
func (s *Source) treeFiles(c *object.Commit) ([]manifest.File, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", c.Hash, err)
	}
	root := strings.Trim(path.Clean("/"+s.cfg.Path), "/")
	if root != "" {
		tree, err = tree.Tree(root)
		if err != nil {
			return nil, fmt.Errorf("path %q in commit %s: %w", s.cfg.Path, c.Hash, err)
		}
	}
	var files []manifest.File
	err = tree.Files().ForEach(func(f *object.File) error {
		if !manifest.IsManifest(f.Name) {
			return nil
		}
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
		files = append(files, manifest.File{Name: path.Join(root, f.Name), Data: data})
		return nil
	})
	return files, err
}
