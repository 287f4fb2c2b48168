package raftstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// inmem is a cluster of stores on Raft's in-memory transport.
type inmem struct {
	t      *testing.T
	dirs   map[string]string
	trans  map[string]*raft.InmemTransport
	stores map[string]*Store
	names  []string
}

func newInmem(t *testing.T) *inmem {
	c := &inmem{t: t, dirs: map[string]string{}, trans: map[string]*raft.InmemTransport{}, stores: map[string]*Store{}}
	t.Cleanup(func() {
		for _, s := range c.stores {
			s.Close()
		}
	})
	return c
}

// start opens (or reopens, on its data) the store of one master playing
// release r; the first bootstraps the cluster, the others are added by
// the leader as voters.
func (c *inmem) start(name string, r Release) *Store {
	c.t.Helper()
	if c.dirs[name] == "" {
		c.dirs[name] = c.t.TempDir()
		c.names = append(c.names, name)
	}
	addr, tr := raft.NewInmemTransport(raft.ServerAddress(name))
	for other, o := range c.trans {
		if other != name {
			tr.Connect(raft.ServerAddress(other), o)
			o.Connect(addr, tr)
		}
	}
	c.trans[name] = tr
	s, err := New(Config{Name: name, DataDir: c.dirs[name], RaftAddr: string(addr), Transport: tr, Bootstrap: len(c.names) == 1,
		MaxLog: 100, LogOutput: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Release: r})
	if err != nil {
		c.t.Fatal(err)
	}
	c.stores[name] = s
	if len(c.names) == 1 {
		testutil.WaitFor(c.t, 10*time.Second, name+" leading", s.IsLeader)
	} else if !s.HadState() {
		if err := c.leader().AddVoter(c.member(name)); err != nil {
			c.t.Fatalf("adding %s: %v", name, err)
		}
	}
	return s
}

// member is the record of a master as its leader would find it.
func (c *inmem) member(name string) api.Member {
	r := c.stores[name].Release()
	return api.Member{Name: name, RaftAddr: name, APIAddr: "api-" + name, Version: r.Version, Format: r.Format}
}

func (c *inmem) members() []api.Member {
	var out []api.Member
	for _, name := range c.names {
		out = append(out, c.member(name))
	}
	return out
}

// restart closes a master's store and opens it again on its data,
// playing release r: a master whose binary was replaced.
func (c *inmem) restart(name string, r Release) *Store {
	c.t.Helper()
	if err := c.stores[name].Close(); err != nil {
		c.t.Fatal(err)
	}
	return c.start(name, r)
}

func (c *inmem) leader() *Store {
	c.t.Helper()
	var l *Store
	testutil.WaitFor(c.t, 10*time.Second, "a leader", func() bool {
		for _, name := range c.names {
			if s := c.stores[name]; s.IsLeader() {
				l = s
				return true
			}
		}
		return false
	})
	return l
}

// agree waits until every store has applied the leader's index and
// checks that their state digests are equal.
func (c *inmem) agree() {
	c.t.Helper()
	want := c.leader().Index()
	testutil.WaitFor(c.t, 10*time.Second, fmt.Sprintf("every master at index %d", want), func() bool {
		for _, s := range c.stores {
			if s.Index() < want {
				return false
			}
		}
		return true
	})
	digests := map[string]string{}
	for name, s := range c.stores {
		digests[name] = s.Self(name).Digest
	}
	for name, d := range digests {
		if d != digests[c.names[0]] {
			c.t.Errorf("state digests differ at index %d: %v", want, digests)
			return
		}
		if err := c.stores[name].HaltError(); err != nil {
			c.t.Errorf("%s halted: %v", name, err)
		}
	}
}

// testFormat2Type is an entry type of a format newer than any release's,
// registered only by the test that needs one.
const testFormat2Type MessageType = 100

// TestOldMasterIsNotSentWhatItCannotRead: three masters, one of them on
// the release before format 1. While it votes, the cluster stays at
// format 0 and the leader writes nothing it cannot read: no entry of a
// newer type, no master's release in a member record. Once it runs the
// new release, the leader turns format 1 on, and the entries that need it
// are written; a master of the old release can no longer join.
func TestOldMasterIsNotSentWhatItCannotRead(t *testing.T) {
	entryKinds[testFormat2Type] = entryKind{"test", 1, func() any { return &HeartbeatsCommand{} }}
	t.Cleanup(func() { delete(entryKinds, testFormat2Type) })
	c := newInmem(t)
	c.start("m1", Release{})
	c.start("m2", Release{})
	old := c.start("m3", v00)
	leader := c.leader()

	if on, err := leader.EnableFormat(c.members()); err != nil || on != 0 {
		t.Fatalf("EnableFormat with m3 on v0.0.0: format %d, %v; want 0", on, err)
	}
	_, err := leader.apply(testFormat2Type, HeartbeatsCommand{})
	if !errors.Is(err, ErrFormatOff) || !strings.Contains(err.Error(), "needs format 1, and the cluster runs format 0 until every master runs v0.1.0 or newer") {
		t.Fatalf("a format-1 entry while m3 votes: %v; want ErrFormatOff", err)
	}
	if _, err := leader.RecordMember(c.member("m1")); err != nil {
		t.Fatal(err)
	}
	c.agree()
	if m, _ := old.Member("m1"); m.Version != "" || m.Format != 0 {
		t.Errorf("m3 (v0.0.0) was sent a member's release it would drop: %+v", m)
	}

	c.restart("m3", Release{})
	leader = c.leader()
	if on, err := leader.EnableFormat(c.members()); err != nil || on != Format {
		t.Fatalf("EnableFormat with every master on %s: format %d, %v; want %d", api.Version, on, err, Format)
	}
	if _, err := leader.apply(testFormat2Type, HeartbeatsCommand{}); err != nil {
		t.Fatalf("a format-1 entry once every master reads it: %v", err)
	}
	c.agree()
	for _, name := range c.names {
		if s := c.stores[name]; s.ClusterFormat() != Format {
			t.Errorf("%s: cluster format %d; want %d", name, s.ClusterFormat(), Format)
		}
		if m, _ := c.stores["m3"].Member(name); m.Version != api.Version || m.Format != Format {
			t.Errorf("recorded release of %s: %+v", name, m)
		}
	}
	err = leader.AddVoter(api.Member{Name: "m4", RaftAddr: "m4", APIAddr: "api-m4"})
	if !errors.Is(err, ErrFormatOff) || !strings.Contains(err.Error(), fmt.Sprintf("master m4 runs berth older than v0.1.0, which reads format 0, and the cluster runs format %d", Format)) {
		t.Errorf("a v0.0.0 master joining a format-1 cluster: %v", err)
	}
}

// TestUnreachableMasterHoldsTheFormat: a master the leader could not ask
// (missing from the releases it found) counts as one that reads nothing
// newer.
func TestUnreachableMasterHoldsTheFormat(t *testing.T) {
	c := newInmem(t)
	c.start("m1", Release{})
	c.start("m2", Release{})
	if on, err := c.leader().EnableFormat(c.members()[:1]); err != nil || on != 0 {
		t.Fatalf("format %d, %v with m2 unknown; want 0", on, err)
	}
	if on, err := c.leader().EnableFormat(c.members()); err != nil || on != Format {
		t.Fatalf("format %d, %v with both known; want %d", on, err, Format)
	}
	c.agree()
}

// TestPodCIDRsWaitForFormat2: while a master of v0.1.0 (format 1) votes,
// a plan's pod CIDRs are left out of the entry (that master would halt on
// the field); once every master reads format 2 they are recorded on all.
func TestPodCIDRsWaitForFormat2(t *testing.T) {
	c := newInmem(t)
	c.start("m1", Release{})
	c.start("m2", Release{})
	old := c.start("m3", Release{Version: "v0.1.0", Format: 1})
	leader := c.leader()
	if _, err := leader.RegisterNode(&api.Registration{Name: "n1"}); err != nil {
		t.Fatal(err)
	}
	if on, err := leader.EnableFormat(c.members()); err != nil || on != 1 {
		t.Fatalf("EnableFormat with m3 on v0.1.0: format %d, %v; want 1", on, err)
	}
	plan := &api.Plan{PodCIDRs: []api.PodCIDR{{Node: "n1", CIDR: "10.244.0.0/24"}}}
	if _, err := leader.ApplyPlan(plan, t0); err != nil {
		t.Fatal(err)
	}
	c.agree()
	if err := old.HaltError(); err != nil {
		t.Fatalf("m3 (v0.1.0) halted: %v", err)
	}
	if n := old.View(false).Nodes[0]; n.PodCIDR != "" {
		t.Errorf("a pod CIDR was written while m3 (format 1) votes: %+v", n)
	}

	c.restart("m3", Release{})
	leader = c.leader()
	if on, err := leader.EnableFormat(c.members()); err != nil || on < FormatPodCIDRs {
		t.Fatalf("EnableFormat with every master on %s: format %d, %v", api.Version, on, err)
	}
	if _, err := leader.ApplyPlan(plan, t0); err != nil {
		t.Fatal(err)
	}
	c.agree()
	for _, name := range c.names {
		if n := c.stores[name].View(false).Nodes[0]; n.PodCIDR != "10.244.0.0/24" {
			t.Errorf("%s: node %+v; want its pod CIDR recorded", name, n)
		}
	}
}

// TestRemoveNodeWaitsForFormat2: removing a node is refused while a
// v0.1.0 master votes (it would halt on the entry); once every master
// reads format 2 the node is gone on all, and an unknown name is
// ErrUnknownNode.
func TestRemoveNodeWaitsForFormat2(t *testing.T) {
	c := newInmem(t)
	c.start("m1", Release{})
	c.start("m2", Release{Version: "v0.1.0", Format: 1})
	leader := c.leader()
	if _, err := leader.RegisterNode(&api.Registration{Name: "n1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.EnableFormat(c.members()); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.RemoveNode("n1"); !errors.Is(err, ErrFormatOff) {
		t.Fatalf("removing a node with m2 on v0.1.0: %v; want ErrFormatOff", err)
	}
	c.restart("m2", Release{})
	leader = c.leader()
	if on, err := leader.EnableFormat(c.members()); err != nil || on < 2 {
		t.Fatalf("EnableFormat: format %d, %v", on, err)
	}
	if _, err := leader.RemoveNode("n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.RemoveNode("n1"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("removing it again: %v; want ErrUnknownNode", err)
	}
	c.agree()
	for _, name := range c.names {
		if c.stores[name].HasNode("n1") {
			t.Errorf("%s still has n1", name)
		}
	}
}
