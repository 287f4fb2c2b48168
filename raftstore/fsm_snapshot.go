package raftstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// snapshotHeader opens every snapshot: the format of what follows and the
// release that wrote it.
type snapshotHeader struct {
	Format int    `json:"format"`
	Berth  string `json:"berth"`
}

// snapshotFile is a snapshot as written: one JSON object whose first key
// is the header and whose other keys are the state's. Berth before v0.1.0
// wrote the state alone and reads this too (it ignores the header), so a
// master of that release can still take a snapshot from a newer leader
// while the cluster runs format 0.
type snapshotFile struct {
	Snapshot *snapshotHeader `json:"snapshot,omitempty"`
	state
}

// Snapshot copies the state under the read lock; Persist encodes the
// copy outside it, while entries go on being applied. A halted FSM takes
// no snapshot: its state is behind the log.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.halt.err(); err != nil {
		return nil, err
	}
	f.mu.RLock()
	st := f.state.clone()
	f.mu.RUnlock()
	// The header names the cluster's format, not this release's: every
	// master reads what the cluster has turned on, and nothing newer is
	// in the state before it is on.
	return &snapshot{header: snapshotHeader{Format: st.Format, Berth: f.release.Version}, state: st}, nil
}

type snapshot struct {
	header snapshotHeader
	state  *state
}

// Persist writes the snapshot, cancelling the sink on failure.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 256<<10)
	err := json.NewEncoder(w).Encode(snapshotFile{Snapshot: &s.header, state: *s.state})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return sink.Close()
}

// Release has nothing to free: the copy is garbage-collected.
func (s *snapshot) Release() {}

// Restore replaces the whole state with the snapshot's and wakes every
// blocked query. A snapshot this release cannot read halts the FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := readSnapshot(rc, f.release)
	if err != nil {
		err = fmt.Errorf("%w: restoring a snapshot: %w", ErrHalted, err)
		(*Store)(f).stop(err)
		return err
	}
	st.reindex()
	st.podsIndex = st.Index
	for node := range st.Nodes {
		st.touched[node] = true // every agent's long poll looks again
	}
	f.mu.Lock()
	f.state = st
	(*Store)(f).notifyLocked()
	f.mu.Unlock()
	return nil
}

// readSnapshot decodes a snapshot: its header first, refusing a format
// newer than r reads, then the state, strictly.
func readSnapshot(rd io.Reader, r Release) (*state, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	h, err := peekHeader(data)
	if err != nil {
		return nil, err
	}
	if err := r.canRead(h); err != nil {
		return nil, err
	}
	file := snapshotFile{state: *newState()}
	if err := decodeStrict(data, &file); err != nil {
		return nil, fmt.Errorf("decoding snapshot (format %d, written by berth %s): %w", h.Format, h.Berth, err)
	}
	return &file.state, nil
}

// canRead refuses a snapshot of a format newer than the release reads.
func (r Release) canRead(h snapshotHeader) error {
	if h.Format > r.Format {
		return fmt.Errorf("%w: its format is %d, written by berth %s, and %s reads up to format %d: run %s or newer on this data directory",
			ErrNewerSnapshot, h.Format, h.Berth, r, r.Format, h.Berth)
	}
	return nil
}

// peekHeader reads the header from the start of a snapshot; one without
// a header (berth before v0.1.0) is format 0.
func peekHeader(data []byte) (snapshotHeader, error) {
	old := snapshotHeader{Format: 0, Berth: "before v0.1.0"}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return old, errors.New("decoding snapshot: not a JSON object")
	}
	key, err := dec.Token()
	if err != nil || key != "snapshot" {
		return old, nil
	}
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return old, fmt.Errorf("decoding the snapshot's header: %w", err)
	}
	return h, nil
}

// checkNewestSnapshot refuses to start on a data directory whose newest
// snapshot is of a newer format: Raft would otherwise fall back to an
// older snapshot and replay a log that may be compacted past it.
func checkNewestSnapshot(snaps *raft.FileSnapshotStore, r Release) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return nil // Raft reports a store it cannot list
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return nil
	}
	defer rc.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(rc, head)
	h, err := peekHeader(head[:n])
	if err != nil {
		return nil
	}
	if err := r.canRead(h); err != nil {
		return fmt.Errorf("snapshot %s: %w", list[0].ID, err)
	}
	return nil
}
