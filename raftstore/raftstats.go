package raftstore

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// raftStats counts what the store's Raft does, for the master's metrics.
type raftStats struct {
	leaderChanges atomic.Uint64
	observer      *raft.Observer
	done          chan struct{} // closed when the observer's goroutine ends
	closeObserved func()        // closes the observer's channel
	// observeApply, when set, gets the time each command took from
	// proposal to being applied (Config.ObserveApply).
	observeApply func(time.Duration)
}

// RaftStats is what Raft says of this master: its commit and applied
// indexes, the leader changes it saw, and whether it leads.
type RaftStats struct {
	CommitIndex, AppliedIndex, LeaderChanges uint64
	Leader                                   bool
}

// RaftStats reads this master's Raft figures.
func (s *Store) RaftStats() RaftStats {
	return RaftStats{CommitIndex: s.raft.CommitIndex(), AppliedIndex: s.raft.AppliedIndex(),
		LeaderChanges: s.stats.leaderChanges.Load(), Leader: s.IsLeader()}
}

// watchLeader counts the changes of leader this master observes; its
// goroutine ends when the store closes (stopWatchingLeader).
func (s *Store) watchLeader() {
	ch := make(chan raft.Observation, 16)
	s.stats.observer = raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	s.raft.RegisterObserver(s.stats.observer)
	s.stats.done = make(chan struct{})
	go func() {
		defer close(s.stats.done)
		for range ch {
			s.stats.leaderChanges.Add(1)
		}
	}()
	s.stats.closeObserved = func() { close(ch) }
}

// stopWatchingLeader ends watchLeader's goroutine, once Raft sends no
// more observations.
func (s *Store) stopWatchingLeader() {
	if s.stats.observer == nil {
		return
	}
	s.raft.DeregisterObserver(s.stats.observer)
	s.stats.closeObserved()
	<-s.stats.done
	s.stats.observer = nil
}
