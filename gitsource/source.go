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
	"github.com/go-git/go-git/v5/plumbing/filemode"
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
	// Limits bound the manifests of one commit.
	Limits manifest.Limits
	// TrustedKeys is an armored OpenPGP key ring; when set, every commit
	// from the live one to a new head must be signed by one of its keys.
	TrustedKeys string
	// Decrypt, when set, turns each file read into what is decoded (the
	// master opens SOPS-encrypted files with it); an error refuses the
	// commit, naming the file.
	Decrypt func(name string, data []byte) ([]byte, error)
}

// DefaultConfig returns a Config with a 5 s poll.
func DefaultConfig() Config { return Config{Poll: 5 * time.Second, Limits: manifest.DefaultLimits()} }

// Validate checks the config.
func (c Config) Validate() error {
	if c.Repo == "" {
		return errors.New("gitsource: --repo is required")
	}
	if l := c.Limits; l != (manifest.Limits{}) && (l.MaxFileBytes <= 0 || l.MaxCommitBytes <= 0 || l.MaxObjects <= 0) {
		return fmt.Errorf("manifest limits must be positive: --max-file-bytes %d, --max-commit-bytes %d, --max-objects %d",
			l.MaxFileBytes, l.MaxCommitBytes, l.MaxObjects)
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
	mu     sync.Mutex    // serialises fetches
	poke   chan struct{} // Trigger asks the watch to look now
	// decoder keeps the decoding of the last loaded commit's files, so a
	// commit that changes a few files decodes only those.
	decoder *manifest.Decoder
}

// New opens a local repository or clones a remote one into cfg.DataDir.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Limits == (manifest.Limits{}) {
		cfg.Limits = manifest.DefaultLimits()
	}
	s := &Source{cfg: cfg, poke: make(chan struct{}, 1), decoder: manifest.NewDecoder(cfg.Limits)}
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

// Trigger makes a running Watch fetch (for a remote) and read the branch
// at once, as a webhook asks.
func (s *Source) Trigger() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
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
	rev := &api.Revision{CommitInfo: commitInfo(c)}
	rev.Signature = signature(c, s.cfg.TrustedKeys)
	files, errs := treeFiles(c, s.cfg.Path, s.decoder.Known)
	if len(errs) == 0 {
		errs = DecryptFiles(files, s.cfg.Decrypt)
	}
	if len(errs) == 0 {
		rev.Objects, errs = s.decoder.Decode(files)
	}
	for _, e := range errs {
		rev.Errors = append(rev.Errors, e.Error())
	}
	return rev, nil
}

// DecryptFiles passes the contents of each file read through decrypt (if
// set), in place; each file that does not decrypt is an error naming it.
func DecryptFiles(files []manifest.File, decrypt func(name string, data []byte) ([]byte, error)) []error {
	if decrypt == nil {
		return nil
	}
	var errs []error
	for i := range files {
		if files[i].Data == nil {
			continue // known to the decoder: decrypted when it was read
		}
		data, err := decrypt(files[i].Name, files[i].Data)
		if err != nil {
			errs = append(errs, &manifest.Error{File: files[i].Name, Message: err.Error()})
			continue
		}
		files[i].Data = data
	}
	return errs
}

// TreeFiles reads every manifest file under dir in a commit's tree,
// skipping dot folders. A symlink is followed inside the repository and
// refused when it leaves it.
func TreeFiles(c *object.Commit, dir string) ([]manifest.File, []error) {
	return treeFiles(c, dir, func(string, string) bool { return false })
}

// treeFiles is TreeFiles that leaves the contents of the files known
// (by name and blob hash) unread.
func treeFiles(c *object.Commit, dir string, known func(name, hash string) bool) ([]manifest.File, []error) {
	root, err := c.Tree()
	if err != nil {
		return nil, []error{fmt.Errorf("reading tree of %s: %w", c.Hash, err)}
	}
	prefix := strings.Trim(path.Clean("/"+dir), "/")
	tree := root
	if prefix != "" {
		if tree, err = root.Tree(prefix); err != nil {
			return nil, []error{fmt.Errorf("path %q in commit %s: %w", dir, c.Hash, err)}
		}
	}
	var files []manifest.File
	var errs []error
	// The walker yields names and blob hashes without loading the blobs:
	// a known file costs no object read at all.
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		rel, entry, err := w.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("walking the tree of %s: %w", c.Hash, err))
			break
		}
		if !entry.Mode.IsFile() || !manifest.IsManifest(rel) || manifest.InDotDir(rel) {
			continue
		}
		name := path.Join(prefix, rel)
		hash := entry.Hash.String()
		if entry.Mode != filemode.Symlink && known(name, hash) {
			files = append(files, manifest.File{Name: name, Hash: hash})
			continue
		}
		f, err := tree.TreeEntryFile(&entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if f.Mode == filemode.Symlink {
			if f, err = symlinkTarget(root, f, name); err != nil {
				errs = append(errs, err)
				continue
			}
			hash = f.Hash.String()
		}
		data, err := readBlob(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		files = append(files, manifest.File{Name: name, Data: data, Hash: hash, Size: f.Size})
	}
	return files, errs
}

// symlinkTarget resolves a symlinked manifest to the file it points to,
// which must lie inside the repository.
func symlinkTarget(root *object.Tree, link *object.File, name string) (*object.File, error) {
	data, err := readBlob(link)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dest := string(data)
	target := path.Clean(path.Join(path.Dir(name), dest))
	if path.IsAbs(dest) || target == ".." || strings.HasPrefix(target, "../") {
		return nil, fmt.Errorf("%s: symlink to %q leaves the repository", name, dest)
	}
	f, err := root.File(target)
	if err != nil {
		return nil, fmt.Errorf("%s: symlink to %q: %w", name, dest, err)
	}
	if f.Mode == filemode.Symlink {
		return nil, fmt.Errorf("%s: symlink to %q is a symlink to a symlink", name, dest)
	}
	return f, nil
}

func readBlob(f *object.File) ([]byte, error) {
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
