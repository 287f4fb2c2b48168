// Package raftstore is berth's replicated state machine: hashicorp/raft with
// raft-boltdb for the log and stable store and file snapshots. The FSM
// stores facts (revisions, plans, nodes, pod status); it never decides.
package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// Sentinel errors callers branch on.
var (
	// ErrNotLeader is returned by writes on a master that is not the leader.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrUnknownNode is returned for a heartbeat of a node that never registered.
	ErrUnknownNode = errors.New("unknown node")
	// ErrTimeout is returned when waiting for a leader takes too long.
	ErrTimeout = errors.New("timed out waiting for a raft leader")
)

// Config configures a Store.
type Config struct {
	// Name is this master's Raft server ID.
	Name string
	// DataDir holds raft.db and the snapshots.
	DataDir string
	// RaftAddr is the address Raft listens on.
	RaftAddr string
	// Bootstrap makes this master the first member of a new cluster.
	Bootstrap bool
	// MaxLog is how many revision log entries are kept.
	MaxLog int
	// LogOutput receives Raft's own log lines (warnings and worse).
	LogOutput io.Writer
	// SnapshotThreshold is how many new log entries make a snapshot, and
	// SnapshotInterval how often that is checked (Raft's defaults, 8192
	// and 2 min, when zero). The log is compacted after each snapshot,
	// keeping TrailingLogs (10240 when zero) for followers that lag.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// ObserveApply, when set, gets the time each command this master
	// proposed took to be committed and applied (its metrics).
	ObserveApply func(time.Duration)
	// Logger receives the store's own lines (slog.Default when nil).
	Logger *slog.Logger
	// Transport, when set, carries Raft instead of TCP on RaftAddr
	// (tests use raft's in-memory transport).
	Transport raft.Transport
	// Release is the release this store plays (this build's when zero);
	// tests set an older one to run a master of an earlier release.
	Release Release
}

// DefaultConfig returns a single-master config.
func DefaultConfig() Config {
	return Config{Name: "master-0", RaftAddr: "127.0.0.1:7071", Bootstrap: true, MaxLog: 10000, LogOutput: os.Stderr}
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Name == "" || c.DataDir == "" || c.RaftAddr == "" {
		return errors.New("raftstore: name, data directory and raft address are required")
	}
	return nil
}

// Store is one master's copy of the replicated state.
type Store struct {
	mu      sync.RWMutex
	state   *state
	changed chan struct{} // closed and replaced on every change
	maxLog  int
	chMu    sync.Mutex
	nodeCh  map[string]chan struct{} // closed when a node's pods change

	raft      *raft.Raft
	openIndex uint64 // the last log index when the store opened
	bolt      *raftboltdb.BoltStore
	snaps     *raft.FileSnapshotStore
	transport raft.Transport
	hadState  bool // the data directory held Raft state when it opened

	release Release
	log     *slog.Logger
	halt    *halt
	stats   raftStats
}

// HadState reports whether the store opened existing Raft state (a master
// that restarts), as opposed to a new, empty data directory.
func (s *Store) HadState() bool { return s.hadState }

// RaftAddr is the address Raft listens on.
func (s *Store) RaftAddr() string { return string(s.transport.LocalAddr()) }

// New opens (or bootstraps) the Raft node and its stores.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.LogOutput == nil {
		cfg.LogOutput = os.Stderr
	}
	s := newStore(cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating raft data directory: %w", err)
	}
	if err := s.open(cfg); err != nil {
		s.closeStores()
		return nil, err
	}
	return s, nil
}

// newStore makes a store's state machine, without Raft.
func newStore(cfg Config) *Store {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Release == (Release{}) {
		cfg.Release = current()
	}
	return &Store{state: newState(), changed: make(chan struct{}), maxLog: cfg.MaxLog, nodeCh: map[string]chan struct{}{},
		release: cfg.Release, log: cfg.Logger, halt: newHalt(), stats: raftStats{observeApply: cfg.ObserveApply}}
}

func (s *Store) open(cfg Config) error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.Name)
	rc.HeartbeatTimeout = 500 * time.Millisecond
	rc.ElectionTimeout = 500 * time.Millisecond
	rc.LeaderLeaseTimeout = 250 * time.Millisecond
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Output: cfg.LogOutput, Level: hclog.Warn})

	bolt, err := raftboltdb.NewBoltStore(filepath.Join(cfg.DataDir, "raft.db"))
	if err != nil {
		return fmt.Errorf("opening %s: %w", filepath.Join(cfg.DataDir, "raft.db"), err)
	}
	s.bolt = bolt
	snaps, err := raft.NewFileSnapshotStore(cfg.DataDir, 2, cfg.LogOutput)
	if err != nil {
		return fmt.Errorf("opening snapshot store in %s: %w", cfg.DataDir, err)
	}
	s.snaps = snaps
	if err := checkNewestSnapshot(snaps, s.release); err != nil {
		return err
	}
	if s.transport, err = newTransport(cfg); err != nil {
		return err
	}
	existing, err := raft.HasExistingState(bolt, bolt, snaps)
	if err != nil {
		return fmt.Errorf("reading raft state: %w", err)
	}
	s.hadState = existing
	s.raft, err = raft.NewRaft(rc, (*fsm)(s), bolt, bolt, snaps, s.transport)
	if err != nil {
		if herr := s.HaltError(); herr != nil {
			err = herr // the snapshot it could not restore
		}
		return fmt.Errorf("starting raft: %w", err)
	}
	s.openIndex = lastCommandIndex(bolt)
	s.watchLeader()
	if cfg.Bootstrap && !existing {
		servers := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: s.transport.LocalAddr()}}}
		if err := s.raft.BootstrapCluster(servers).Error(); err != nil {
			return fmt.Errorf("bootstrapping raft: %w", err)
		}
	}
	return nil
}

// newTransport is cfg.Transport, or TCP on cfg.RaftAddr.
func newTransport(cfg Config) (raft.Transport, error) {
	if cfg.Transport != nil {
		return cfg.Transport, nil
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", cfg.RaftAddr, err)
	}
	var advertise net.Addr = addr
	if addr.Port == 0 {
		advertise = nil // a free port: advertise the one the listener got
	}
	t, err := raft.NewTCPTransport(cfg.RaftAddr, advertise, 3, 10*time.Second, cfg.LogOutput)
	if err != nil {
		return nil, fmt.Errorf("listening for raft on %s: %w", cfg.RaftAddr, err)
	}
	return t, nil
}

// Close shuts Raft down and closes the stores.
func (s *Store) Close() error {
	var err error
	if s.raft != nil {
		err = s.raft.Shutdown().Error()
		s.stopWatchingLeader()
	}
	s.closeStores()
	return err
}

func (s *Store) closeStores() {
	if t, ok := s.transport.(raft.WithClose); ok {
		t.Close()
	}
	if s.bolt != nil {
		s.bolt.Close()
	}
}

// IsLeader reports whether this master leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// LeaderCh signals leadership changes (it may drop signals: re-check
// IsLeader).
func (s *Store) LeaderCh() <-chan bool { return s.raft.LeaderCh() }

// Barrier waits until every entry committed before it is applied here.
func (s *Store) Barrier(timeout time.Duration) error { return s.raft.Barrier(timeout).Error() }

// Snapshot takes a snapshot now.
func (s *Store) Snapshot() error { return s.raft.Snapshot().Error() }

// WaitForLeader polls until this master knows a leader.
func (s *Store) WaitForLeader(ctx context.Context) error {
	for {
		if addr, _ := s.raft.LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// WaitReady waits until a leader is known and every entry that was in the
// log when the store opened has been applied, so that reads do not see an
// empty state after a restart.
func (s *Store) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // a log this release cannot read ends the wait
		select {
		case <-s.Halted():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := s.WaitForLeader(ctx)
	if err == nil && s.openIndex > 0 && s.WaitChange(ctx, s.openIndex-1) < s.openIndex {
		err = fmt.Errorf("replaying the raft log up to index %d: %w", s.openIndex, ctx.Err())
	}
	if herr := s.HaltError(); herr != nil {
		return herr
	}
	return err
}

// lastCommandIndex finds the last FSM command in the log (raft's own
// entries, such as no-ops, never reach the FSM).
func lastCommandIndex(logs raft.LogStore) uint64 {
	first, err1 := logs.FirstIndex()
	last, err2 := logs.LastIndex()
	if err1 != nil || err2 != nil {
		return 0
	}
	for i := last; i >= first && i > 0; i-- {
		var l raft.Log
		if logs.GetLog(i, &l) == nil && l.Type == raft.LogCommand {
			return i
		}
	}
	return 0
}

// propose writes one command to the log. A command of a type the
// cluster's format does not have yet is refused (ErrFormatOff): some
// master would not know it.
func (s *Store) propose(t MessageType, body any) (raft.ApplyFuture, error) {
	if err := s.formatAllows(t); err != nil {
		return nil, err
	}
	data, err := encode(t, body)
	if err != nil {
		return nil, err
	}
	f := s.raft.Apply(data, 10*time.Second)
	if err := f.Error(); err != nil {
		if err = leaderError(err); !errors.Is(err, ErrNotLeader) {
			err = fmt.Errorf("raft apply: %w", err)
		}
		return nil, err
	}
	return f, nil
}

// apply commits one command and returns its index or the FSM's error.
func (s *Store) apply(t MessageType, body any) (uint64, error) {
	start := time.Now()
	f, err := s.propose(t, body)
	if err != nil {
		return 0, err
	}
	if s.stats.observeApply != nil {
		s.stats.observeApply(time.Since(start))
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return f.Index(), err
	}
	return f.Index(), nil
}

// ApplyRevision records a commit; it goes live when it has no errors.
func (s *Store) ApplyRevision(r *api.Revision) (uint64, error) {
	return s.apply(ApplyRevisionType, RevisionCommand{Revision: *r, Time: commandTime()})
}

// ApplyPlan commits a reconciler plan made at the given time: pods it
// creates, binds or deletes carry that time, the one the pass that made
// the plan read.
func (s *Store) ApplyPlan(p *api.Plan, at time.Time) (uint64, error) {
	return s.apply(ApplyPlanType, PlanCommand{Plan: s.planForFormat(*p), Time: at.UTC().Truncate(time.Millisecond)})
}

// RegisterNode records a node and its capacity.
func (s *Store) RegisterNode(r *api.Registration) (uint64, error) {
	r.Time = commandTime()
	if s.ClusterFormat() < FormatPodCIDRs {
		r.PodNetwork = false // a master before format 2 would halt on the field
	}
	if s.ClusterFormat() < formatStorage {
		r.StorageDir = ""
	}
	return s.apply(RegisterNodeType, r)
}

// LacksStorageDir reports whether the cluster records volumes and the
// node's record has no storage folder: its agent registered before, and
// is to register again (a v0.4.0 agent ignores the request).
func (s *Store) LacksStorageDir(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.state.Nodes[name]
	return s.state.Format >= formatStorage && n != nil && n.StorageDir == ""
}

// RemoveNode forgets a node (ErrUnknownNode if there is none of that
// name; ErrFormatOff while a master older than v0.2.0 votes).
func (s *Store) RemoveNode(name string) (uint64, error) {
	if !s.HasNode(name) {
		return 0, fmt.Errorf("%w: %s", ErrUnknownNode, name)
	}
	return s.apply(RemoveNodeType, RemoveNodeCommand{Name: name})
}

// Heartbeats records that the named nodes are alive, in one entry, and
// returns the names of the nodes the store does not know.
func (s *Store) Heartbeats(names []string) (unknown []string, err error) {
	f, err := s.propose(HeartbeatsType, HeartbeatsCommand{Names: names, Time: commandTime()})
	if err != nil {
		return nil, err
	}
	unknown, _ = f.Response().([]string)
	return unknown, nil
}

// Heartbeat records that a node is alive.
func (s *Store) Heartbeat(name string) (uint64, error) {
	return s.apply(HeartbeatType, api.Heartbeat{Name: name, Time: commandTime()})
}

// EndRollout records how the rollout of the live commit ended.
func (s *Store) EndRollout(commit string, r api.Rollout) (uint64, error) {
	return s.apply(RolloutType, RolloutCommand{Commit: commit, Rollout: r})
}

// ReportStatus records one node's batch of pod status reports.
func (s *Store) ReportStatus(b *api.StatusBatch) (uint64, error) {
	return s.apply(StatusBatchesType, StatusBatchesCommand{Batches: []api.StatusBatch{s.batchForFormat(*b)}, Time: commandTime()})
}

// ReportStatuses records several nodes' status batches in one entry.
func (s *Store) ReportStatuses(bs []*api.StatusBatch) error {
	c := StatusBatchesCommand{Batches: make([]api.StatusBatch, len(bs)), Time: commandTime()}
	for i, b := range bs {
		c.Batches[i] = s.batchForFormat(*b)
	}
	_, err := s.apply(StatusBatchesType, c)
	return err
}

// notifyLocked wakes every blocked query, and the agents' long polls of
// the nodes the entry touched; the caller holds the write lock.
func (s *Store) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
	s.chMu.Lock()
	for node := range s.state.touched {
		if ch := s.nodeCh[node]; ch != nil {
			close(ch)
			delete(s.nodeCh, node)
		}
	}
	s.chMu.Unlock()
	clear(s.state.touched)
}

// nodeChanged returns the channel closed when the node's pods next
// change; the caller holds the read lock (so no change slips between its
// look at the node's index and this channel).
func (s *Store) nodeChanged(node string) <-chan struct{} {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	ch := s.nodeCh[node]
	if ch == nil {
		ch = make(chan struct{})
		s.nodeCh[node] = ch
	}
	return ch
}

// View returns a copy of the state.
func (s *Store) View(withLog bool) View {
	s.mu.RLock()
	v := s.state.view(withLog)
	s.mu.RUnlock()
	v.copyPods()
	return v
}

// HasNode tells whether the node is registered.
func (s *Store) HasNode(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.Nodes[name] != nil
}

// NodeRoutes lists where each node's pods are (its address and pod
// CIDR), without copying the rest of the state.
func (s *Store) NodeRoutes() []api.NodeRoute {
	s.mu.RLock()
	nodes := make([]api.Node, 0, len(s.state.Nodes))
	for _, n := range s.state.Nodes {
		nodes = append(nodes, api.Node{Name: n.Name, Address: n.Address, PodCIDR: n.PodCIDR})
	}
	s.mu.RUnlock()
	return api.NodeRoutes(nodes)
}

// NodeAddresses maps each node that serves logs, streams and stats to
// its agent's address, without copying the rest of the state.
func (s *Store) NodeAddresses() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(s.state.Nodes))
	for name, n := range s.state.Nodes {
		if n.Address != "" {
			out[name] = n.Address
		}
	}
	return out
}

// NodeCount is how many nodes are registered.
func (s *Store) NodeCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.state.Nodes)
}

// Log returns a copy of the revision log, oldest first.
func (s *Store) Log() []api.LogEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]api.LogEntry(nil), s.state.Log...)
}

// Events returns the kept events that keep accepts, oldest first.
func (s *Store) Events(keep func(*corev1.Event) bool) []corev1.Event {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []corev1.Event{}
	for i := range s.state.Events {
		if keep(&s.state.Events[i]) {
			out = append(out, *s.state.Events[i].DeepCopy())
		}
	}
	return out
}

// LiveCommit is the commit that is live ("" when none).
func (s *Store) LiveCommit() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.LiveCommit
}

// Desired returns the live revision's objects. The set is replaced whole
// when a revision goes live and never changed in place: read it only.
func (s *Store) Desired() *api.ObjectSet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.Desired
}

// PodsIndex is the last index that changed a pod or the desired objects
// (heartbeats do not); WaitPodsChange waits for it to pass after.
func (s *Store) PodsIndex() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.podsIndex
}

// WaitPodsChange blocks until a pod or the desired objects change after
// index after (or ctx ends).
func (s *Store) WaitPodsChange(ctx context.Context, after uint64) uint64 {
	return s.WaitIndex(ctx, after, func(st *state) uint64 { return st.podsIndex })
}

// Index returns the last applied index.
func (s *Store) Index() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.Index
}

// WaitIndex blocks until index returns a value above after, or ctx ends.
// It returns the index it last saw.
func (s *Store) WaitIndex(ctx context.Context, after uint64, index func(*state) uint64) uint64 {
	for {
		s.mu.RLock()
		cur, ch := index(s.state), s.changed
		s.mu.RUnlock()
		if cur > after {
			return cur
		}
		select {
		case <-ctx.Done():
			return cur
		case <-ch:
		}
	}
}

// WaitChange blocks until the state passes index after (or ctx ends).
func (s *Store) WaitChange(ctx context.Context, after uint64) uint64 {
	return s.WaitIndex(ctx, after, func(st *state) uint64 { return st.Index })
}

// NodePods returns the pods bound to a node and the index of their last
// change, waiting while that index is not above after. Only a change to
// this node's pods wakes it (not every entry), and the node's pods come
// from an index, not a scan of every pod.
func (s *Store) NodePods(ctx context.Context, node string, after uint64) api.Assignments {
	for {
		s.mu.RLock()
		cur := s.state.NodeIndex[node]
		if cur > after || ctx.Err() != nil {
			out := api.Assignments{Index: cur}
			if n := s.state.Nodes[node]; n != nil {
				out.PodCIDR, out.PodNetwork = n.PodCIDR, n.PodNetwork
			}
			pods := make([]*corev1.Pod, 0, len(s.state.byNode[node]))
			for _, p := range s.state.byNode[node] {
				pods = append(pods, p)
			}
			vols := s.state.nodeVolumes(node, pods)
			s.mu.RUnlock()
			for _, v := range vols {
				out.Volumes = append(out.Volumes, *v.DeepCopy())
			}
			out.Pods = make([]corev1.Pod, len(pods)) // stored pods are never changed: copy them unlocked
			for i, p := range pods {
				p.DeepCopyInto(&out.Pods[i])
			}
			sort.Slice(out.Pods, func(i, j int) bool { return api.PodKey(&out.Pods[i]) < api.PodKey(&out.Pods[j]) })
			return out
		}
		ch := s.nodeChanged(node)
		s.mu.RUnlock()
		select {
		case <-ctx.Done():
		case <-ch:
		}
	}
}
