package raftstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/berth-dev/berth/api"
)

// MemberCommand records a master's API address (or forgets it).
type MemberCommand struct {
	Member api.Member `json:"member"`
	Remove bool       `json:"remove,omitempty"`
}

func (st *state) applyMember(c *MemberCommand) {
	if st.Members == nil {
		st.Members = map[string]api.Member{}
	}
	if c.Remove {
		delete(st.Members, c.Member.Name)
		return
	}
	st.Members[c.Member.Name] = c.Member
}

// RecordMember stores a master's addresses in the FSM (leader only).
func (s *Store) RecordMember(m api.Member) (uint64, error) {
	return s.apply(MemberType, MemberCommand{Member: m})
}

// Member returns the recorded addresses of a master.
func (s *Store) Member(name string) (api.Member, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.state.Members[name]
	return m, ok
}

// AddVoter adds a master to the Raft configuration and records its API
// address (leader only). Adding one that is already there with the same
// address does nothing.
func (s *Store) AddVoter(m api.Member) error {
	if err := s.raft.AddVoter(raft.ServerID(m.Name), raft.ServerAddress(m.RaftAddr), 0, 10*time.Second).Error(); err != nil {
		return leaderError(err)
	}
	_, err := s.RecordMember(m)
	return err
}

// RemoveServer removes a master from the Raft configuration (leader only).
func (s *Store) RemoveServer(name string) error {
	cfg := s.raft.GetConfiguration()
	if err := cfg.Error(); err != nil {
		return err
	}
	found := false
	for _, srv := range cfg.Configuration().Servers {
		found = found || srv.ID == raft.ServerID(name)
	}
	if !found {
		return fmt.Errorf("%w: no master named %q", ErrNotMember, name)
	}
	if err := s.raft.RemoveServer(raft.ServerID(name), 0, 10*time.Second).Error(); err != nil {
		return leaderError(err)
	}
	_, err := s.apply(MemberType, MemberCommand{Member: api.Member{Name: name}, Remove: true})
	return err
}

// ErrNotMember is returned for a master that is not in the configuration.
var ErrNotMember = errors.New("not a member")

func leaderError(err error) error {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
		return fmt.Errorf("%w: %v", ErrNotLeader, err)
	}
	return err
}

// Members lists the Raft configuration with each master's API address.
func (s *Store) Members() ([]api.MemberStatus, error) {
	cfg := s.raft.GetConfiguration()
	if err := cfg.Error(); err != nil {
		return nil, err
	}
	_, leader := s.raft.LeaderWithID()
	var out []api.MemberStatus
	for _, srv := range cfg.Configuration().Servers {
		m, _ := s.Member(string(srv.ID))
		m.Name, m.RaftAddr = string(srv.ID), string(srv.Address)
		out = append(out, api.MemberStatus{Member: m, Voter: srv.Suffrage == raft.Voter, Leader: srv.ID == leader})
	}
	return out, nil
}

// LeaderAPI returns the API address of the leader, or "" when there is
// no leader or its address is not recorded yet.
func (s *Store) LeaderAPI() string {
	_, id := s.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	m, _ := s.Member(string(id))
	return m.APIAddr
}

// Self reports this master's Raft state, applied index and the digest
// of its FSM state.
func (s *Store) Self(name string) api.SelfStatus {
	_, leader := s.raft.LeaderWithID()
	out := api.SelfStatus{Name: name, State: s.raft.State().String(), Leader: string(leader)}
	s.mu.RLock()
	data, _ := json.Marshal(s.state)
	out.Index = s.state.Index
	s.mu.RUnlock()
	sum := sha256.Sum256(data)
	out.Digest = hex.EncodeToString(sum[:])
	if snaps, err := s.snaps.List(); err == nil && len(snaps) > 0 {
		out.Snapshot = snaps[0].Index
	}
	return out
}
