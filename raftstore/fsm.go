package raftstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// fsm is the Store seen by Raft; keeping Apply, Snapshot and Restore on this
// type keeps them off the Store's public face.
type fsm Store

// Apply applies one log entry. An entry of a type this release does not
// know, or that it cannot decode, halts the FSM (see ErrHalted) unless
// its type is marked ignorable; a halted FSM applies nothing more.
// The entry is decoded before the write lock is taken (a plan of
// thousands of pods takes a second to decode), so readers wait only for
// the change.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return nil
	}
	if err := f.halt.err(); err != nil {
		return err
	}
	cmd, err := f.decode(l)
	if err != nil {
		(*Store)(f).stop(err)
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state
	st.Index = l.Index
	var resp any
	if cmd != nil { // nil: an ignorable entry this release does not know
		resp = st.apply(cmd, l.Index, f.maxLog)
	}
	(*Store)(f).notifyLocked()
	return resp
}

// decode decodes an entry's body by its type byte, strictly: a field this
// release does not know means the entry was written by a newer one, and
// applying it without the field would fork the state. It returns nil for
// an ignorable entry of an unknown type.
func (f *fsm) decode(l *raft.Log) (any, error) {
	t := MessageType(l.Data[0])
	kind, ok := f.release.kind(t)
	if !ok {
		if t&IgnoreUnknownTypeFlag != 0 {
			f.log.Warn("skipping a log entry of a type this release does not know (it is marked ignorable)",
				"index", l.Index, "type", int(t), "release", f.release.String())
			return nil, nil
		}
		return nil, fmt.Errorf("%w: log entry %d has type %d, which %s does not know: it was written by a newer berth%s",
			ErrHalted, l.Index, t, f.release, f.upgradeHint())
	}
	cmd := kind.body()
	if err := decodeStrict(l.Data[1:], cmd); err != nil {
		return nil, fmt.Errorf("%w: log entry %d (%s) cannot be decoded by %s: %v; if a newer berth wrote it%s",
			ErrHalted, l.Index, kind.name, f.release, err, f.upgradeHint())
	}
	if c, ok := cmd.(*FormatCommand); ok && c.Format > f.release.Format {
		return nil, fmt.Errorf("%w: at log entry %d the cluster turned on format %d (its leader ran berth %s), which %s does not read; upgrade this master to %s or newer",
			ErrHalted, l.Index, c.Format, c.Version, f.release, c.Version)
	}
	return cmd, nil
}

// upgradeHint says which release to upgrade to: the newest that the
// recorded masters run.
func (f *fsm) upgradeHint() string {
	f.mu.RLock()
	newest := f.state.newestRelease()
	f.mu.RUnlock()
	if newest == "" {
		return "; upgrade this master to the release the other masters run"
	}
	return fmt.Sprintf("; upgrade this master to %s", newest)
}

// decodeStrict decodes JSON into v, refusing fields v does not have.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// halt holds why the FSM stopped, once it has.
type halt struct {
	once    sync.Once
	mu      sync.Mutex
	reason  error
	stopped chan struct{} // closed when it halts
}

func newHalt() *halt { return &halt{stopped: make(chan struct{})} }

// set records the first reason and closes stopped; it reports whether
// this call halted the FSM.
func (h *halt) set(err error) (first bool) {
	h.once.Do(func() {
		h.mu.Lock()
		h.reason = err
		h.mu.Unlock()
		close(h.stopped)
		first = true
	})
	return first
}

func (h *halt) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reason
}

// stop halts the FSM with err and logs it once.
func (s *Store) stop(err error) {
	if s.halt.set(err) {
		s.log.Error("the state machine stopped: this master applies nothing more and will exit", "err", err)
	}
}

// Halted is closed when the FSM halts: the master must stop, with
// HaltError as its reason.
func (s *Store) Halted() <-chan struct{} { return s.halt.stopped }

// HaltError is why the FSM halted, or nil while it runs.
func (s *Store) HaltError() error { return s.halt.err() }

// commandTime is the time a leader stamps on a command; the FSM never reads
// the clock.
func commandTime() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
