package raftstore

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

// FuzzApply feeds arbitrary bytes to the FSM as log entries, on top of
// the golden log of the current release: whatever an entry holds, Apply
// never panics (a master that cannot read an entry stops its FSM with an
// error), and the state it leaves survives a snapshot and a restore
// unchanged. Seeds: every golden entry of every release.
func FuzzApply(f *testing.F) {
	golden := goldenLog(f, newestGolden(f))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*", "entries", "*.entry"))
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fm := bareFSM(Release{})
		next := uint64(1)
		for _, l := range golden {
			fm.Apply(l)
			next = l.Index + 1
		}
		fm.Apply(&raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: data})
		if (*Store)(fm).HaltError() != nil {
			if _, ok := fm.Apply(&raft.Log{Index: next + 1, Term: 1, Type: raft.LogCommand, Data: golden[0].Data}).(error); !ok {
				t.Fatal("a halted FSM applied the next entry without an error")
			}
			return
		}
		want := fm.state.clone().digest()
		snap, err := fm.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var sink memorySink
		if err := snap.Persist(&sink); err != nil {
			t.Fatal(err)
		}
		restored := bareFSM(Release{})
		if err := restored.Restore(io.NopCloser(&sink)); err != nil {
			t.Fatalf("restoring the snapshot of a state Apply left: %v", err)
		}
		if got := restored.state.clone().digest(); got != want {
			t.Fatalf("the state changed through a snapshot and a restore: digest %.12s, was %.12s", got, want)
		}
	})
}
