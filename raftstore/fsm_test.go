package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// bareFSM is a store's state machine without Raft: the tests feed it
// log entries as Raft would.
func bareFSM(r Release) *fsm {
	return (*fsm)(newStore(Config{MaxLog: 100, Release: r, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
}

// entry encodes a command as the log entry at index.
func entry(t *testing.T, index uint64, typ MessageType, body any) *raft.Log {
	t.Helper()
	data, err := encode(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}
}

var (
	t0  = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	v00 = Release{Version: "v0.0.0", Format: 0}
)

// feed applies entries in order and fails on any error answer.
func feed(t *testing.T, f *fsm, logs ...*raft.Log) {
	t.Helper()
	for _, l := range logs {
		if err, ok := f.Apply(l).(error); ok && err != nil {
			t.Fatalf("entry %d: %v", l.Index, err)
		}
	}
}

func TestApplyLogBytes(t *testing.T) {
	f := bareFSM(Release{})
	feed(t, f,
		entry(t, 3, RegisterNodeType, api.Registration{Name: "n1", Time: t0}),
		entry(t, 4, ApplyRevisionType, RevisionCommand{Revision: api.Revision{CommitInfo: api.CommitInfo{Commit: "c1"},
			Objects: &api.ObjectSet{Pods: []corev1.Pod{pod("web", "")}}}, Time: t0}),
		entry(t, 5, ApplyPlanType, PlanCommand{Plan: api.Plan{Create: []corev1.Pod{pod("web", "n1")}}, Time: t0}),
		entry(t, 6, StatusBatchesType, StatusBatchesCommand{Time: t0, Batches: []api.StatusBatch{{Node: "n1",
			Reports: []api.PodReport{{Namespace: "default", Name: "web", UID: "uid-web", Status: corev1.PodStatus{Phase: corev1.PodRunning}}}}}}),
		entry(t, 7, HeartbeatsType, HeartbeatsCommand{Names: []string{"n1"}, Time: t0.Add(time.Second)}),
	)
	st := f.state
	if st.Index != 7 || st.LiveCommit != "c1" || st.NodeIndex["n1"] != 5 {
		t.Errorf("index %d, live %q, node index %d; want 7, c1, 5", st.Index, st.LiveCommit, st.NodeIndex["n1"])
	}
	if p := st.Pods["default/web"]; p == nil || p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != "n1" {
		t.Errorf("pod %+v; want web running on n1", p)
	}
	if !st.Nodes["n1"].LastHeartbeat.Equal(t0.Add(time.Second)) {
		t.Errorf("last heartbeat %v", st.Nodes["n1"].LastHeartbeat)
	}
	if unknown, _ := f.Apply(entry(t, 8, HeartbeatsType, HeartbeatsCommand{Names: []string{"ghost"}, Time: t0})).([]string); len(unknown) != 1 {
		t.Errorf("a heartbeat of an unknown node answered %v; want [ghost]", unknown)
	}
}

// TestUnknownEntryTypes: an ignorable type this release does not know
// is skipped; any other stops the FSM with an error that names what to
// run, and nothing more is applied (no panic).
func TestUnknownEntryTypes(t *testing.T) {
	f := bareFSM(Release{})
	feed(t, f, entry(t, 3, MemberType, MemberCommand{Member: api.Member{Name: "m1", Version: "v0.3.0", Format: 3}}))
	ignorable := &raft.Log{Index: 4, Type: raft.LogCommand, Data: []byte{byte(IgnoreUnknownTypeFlag | 77), '{', '}'}}
	if resp := f.Apply(ignorable); resp != nil {
		t.Fatalf("ignorable unknown entry answered %v", resp)
	}
	if f.state.Index != 4 || (*Store)(f).HaltError() != nil {
		t.Fatalf("after an ignorable entry: index %d, halted %v", f.state.Index, (*Store)(f).HaltError())
	}
	unknown := &raft.Log{Index: 5, Type: raft.LogCommand, Data: []byte{77, '{', '}'}}
	err, _ := f.Apply(unknown).(error)
	if !errors.Is(err, ErrHalted) {
		t.Fatalf("unknown entry type answered %v; want ErrHalted", err)
	}
	for _, want := range []string{"log entry 5 has type 77", current().String(), "v0.3.0, run by [m1]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	select {
	case <-(*Store)(f).Halted():
	default:
		t.Error("Halted() not closed")
	}
	if resp := f.Apply(entry(t, 6, RegisterNodeType, api.Registration{Name: "n1", Time: t0})); resp != err {
		t.Errorf("a halted FSM answered %v; want its halt error", resp)
	}
	if f.state.Index != 4 || len(f.state.Nodes) != 0 {
		t.Errorf("a halted FSM applied more: index %d, nodes %d", f.state.Index, len(f.state.Nodes))
	}
	if _, err := f.Snapshot(); err == nil {
		t.Error("a halted FSM took a snapshot: its state is behind the log")
	}
}

// TestNewerEntriesHaltOlderReleases: what a newer release writes (a new
// type, a field, a format) stops a master of an older release.
func TestNewerEntriesHaltOlderReleases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release Release
		log     *raft.Log
		want    string
	}{
		{"a type of format 1 on v0.0.0", v00, entry(t, 3, FormatType, FormatCommand{Format: 1, Version: "v0.1.0"}),
			"type 10, which berth v0.0.0 (format 0) does not know"},
		{"a field this release does not have", Release{}, &raft.Log{Index: 3, Type: raft.LogCommand,
			Data: append([]byte{byte(HeartbeatsType)}, `{"names":["n1"],"time":"2026-12-07T10:00:00Z","zone":"eu"}`...)},
			`log entry 3 (heartbeats) cannot be decoded by ` + current().String() + `: json: unknown field "zone"`},
		{"a format newer than this release", Release{}, entry(t, 3, FormatType, FormatCommand{Format: Format + 1, Version: "v9.0.0"}),
			fmt.Sprintf("turned on format %d (its leader ran berth v9.0.0), which %s does not read; upgrade this master to v9.0.0 or newer", Format+1, current())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := bareFSM(tc.release)
			err, _ := f.Apply(tc.log).(error)
			if !errors.Is(err, ErrHalted) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("answer %v; want ErrHalted saying %q", err, tc.want)
			}
		})
	}
}

// memorySink is a raft.SnapshotSink into memory.
type memorySink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memorySink) ID() string    { return "memory" }
func (s *memorySink) Close() error  { return nil }
func (s *memorySink) Cancel() error { s.cancelled = true; return nil }

// TestSnapshotIsACopy: Persist writes the state as it was when Snapshot
// returned, while entries go on being applied meanwhile (the copy is
// encoded outside the lock), behind a header; Restore gives back the
// same state.
func TestSnapshotIsACopy(t *testing.T) {
	f := bareFSM(Release{})
	feed(t, f, entry(t, 3, RegisterNodeType, api.Registration{Name: "n1", Time: t0}),
		entry(t, 4, ApplyPlanType, PlanCommand{Plan: api.Plan{Create: []corev1.Pod{pod("a", "n1")}}, Time: t0}),
		entry(t, 5, FormatType, FormatCommand{Format: 1, Version: "v0.1.0", Members: []api.Member{{Name: "m1", Version: "v0.1.0", Format: 1}}}))
	want := f.state.clone().digest()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	feed(t, f, entry(t, 6, ApplyPlanType, PlanCommand{Plan: api.Plan{Create: []corev1.Pod{pod("b", "n1")}, Delete: []string{"default/a"}}, Time: t0}),
		entry(t, 7, HeartbeatsType, HeartbeatsCommand{Names: []string{"n1"}, Time: t0.Add(time.Minute)}))
	var sink memorySink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sink.Bytes(), []byte(`{"snapshot":{"format":1,"berth":"`+api.Version+`"},"index":5,`)) {
		t.Errorf("snapshot starts %.80s; want the header, then the state at index 5", sink.Bytes())
	}
	g := bareFSM(Release{})
	if err := g.Restore(io.NopCloser(&sink)); err != nil {
		t.Fatal(err)
	}
	if got := g.state.clone().digest(); got != want {
		t.Errorf("restored digest %s; want the state at the snapshot, %s", got[:12], want[:12])
	}
	if len(g.state.byNode["n1"]) != 1 {
		t.Errorf("restored node index %v", g.state.byNode)
	}
}

// TestRestoreRefusesNewerSnapshots: a snapshot of a newer format halts
// a master with an error that names the release to run; a snapshot of
// berth before v0.1.0 (no header) restores.
func TestRestoreRefusesNewerSnapshots(t *testing.T) {
	f := bareFSM(Release{})
	err := f.Restore(io.NopCloser(strings.NewReader(fmt.Sprintf(`{"snapshot":{"format":%d,"berth":"v9.0.0"},"index":9}`, Format+1))))
	if !errors.Is(err, ErrNewerSnapshot) || !errors.Is(err, ErrHalted) ||
		!strings.Contains(err.Error(), fmt.Sprintf("its format is %d, written by berth v9.0.0, and %s reads up to format %d: run v9.0.0 or newer", Format+1, current(), Format)) {
		t.Fatalf("restore answered %v", err)
	}
	g := bareFSM(Release{})
	if err := g.Restore(io.NopCloser(strings.NewReader(`{"index":9,"log":null,"liveCommit":"c1","seenCommit":"c1","desired":{},"nodes":{},"pods":{},"nodeIndex":{}}`))); err != nil {
		t.Fatalf("a snapshot without a header: %v", err)
	}
	if g.state.Index != 9 || g.state.LiveCommit != "c1" {
		t.Errorf("restored index %d live %q", g.state.Index, g.state.LiveCommit)
	}
}
