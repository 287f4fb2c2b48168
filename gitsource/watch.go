package gitsource

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce lets a burst of file events (lock files, reflogs) settle before
// the branch is read again.
const debounce = 15 * time.Millisecond

// Watch calls onHead with the branch's commit whenever it differs from the
// last one passed (starting with last). A local repository is watched with
// fsnotify on the files a commit writes, with a poll as fallback; a remote
// one is fetched on every poll. Watch returns when ctx ends.
func (s *Source) Watch(ctx context.Context, last string, log *slog.Logger, onHead func(sha string)) {
	events := make(chan struct{}, 1)
	if !s.Remote() {
		w, err := s.watchFiles(events)
		if err != nil {
			log.Warn("fsnotify unavailable; polling only", "repo", s.cfg.Repo, "err", err)
		} else {
			defer w.Close()
		}
	}
	poll := time.NewTicker(s.cfg.Poll)
	defer poll.Stop()
	check := func() {
		if err := s.Fetch(); err != nil {
			log.Warn("fetch failed", "err", err)
			return
		}
		head, err := s.Head()
		if err != nil {
			log.Warn("reading branch failed", "err", err)
			return
		}
		if head != last {
			last = head
			onHead(head)
		}
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			check()
		case <-s.poke:
			check()
		case <-events:
			timer := time.NewTimer(debounce)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			check()
		}
	}
}

// watchFiles watches the git directory (HEAD, packed-refs) and the folder
// holding the branch's ref file, and signals events on any write there.
func (s *Source) watchFiles(events chan<- struct{}) (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	refDir := filepath.Dir(filepath.Join(s.gitDir, "refs", "heads", filepath.FromSlash(s.branch)))
	for _, dir := range []string{s.gitDir, filepath.Join(s.gitDir, "refs", "heads"), refDir} {
		if err := w.Add(dir); err != nil {
			w.Close()
			return nil, err
		}
	}
	go func() {
		for {
			select {
			case _, ok := <-w.Events:
				if !ok {
					return
				}
				select {
				case events <- struct{}{}:
				default:
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return w, nil
}
