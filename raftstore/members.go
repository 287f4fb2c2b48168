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

// RecordMember stores a master's addresses, and its release once the
// cluster's format has them, in the FSM (leader only).
func (s *Store) RecordMember(m api.Member) (uint64, error) {
	return s.apply(MemberType, MemberCommand{Member: s.forFormat(m)})
}

// Member returns the recorded addresses of a master.
func (s *Store) Member(name string) (api.Member, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.state.Members[name]
	return m, ok
}

// AddVoter adds a master to the Raft configuration and records its API
// address (leader only). A master whose release cannot read the
// cluster's format is refused. Adding one that is already a voter at the
// same address changes only its record.
func (s *Store) AddVoter(m api.Member) error {
	if err := s.admits(m); err != nil {
		return err
	}
	if !s.isVoterAt(m.Name, m.RaftAddr) {
		if err := s.raft.AddVoter(raft.ServerID(m.Name), raft.ServerAddress(m.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			return leaderError(err)
		}
	}
	if got, ok := s.Member(m.Name); ok && got == s.forFormat(m) {
		return nil
	}
	_, err := s.RecordMember(m)
	return err
}

// isVoterAt reports whether the configuration has the master as a voter
// at addr.
func (s *Store) isVoterAt(name, addr string) bool {
	cfg := s.raft.GetConfiguration()
	if cfg.Error() != nil {
		return false
	}
	for _, srv := range cfg.Configuration().Servers {
		if srv.ID == raft.ServerID(name) {
			return srv.Address == raft.ServerAddress(addr) && srv.Suffrage == raft.Voter
		}
	}
	return false
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

// digest is the SHA-256 of the state's JSON: equal on masters at equal
// indexes.
func (st *state) digest() string {
	data, _ := json.Marshal(st)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
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

// Self reports this master's Raft state, release, applied index and the
// digest of its FSM state.
func (s *Store) Self(name string) api.SelfStatus {
	_, leader := s.raft.LeaderWithID()
	out := api.SelfStatus{Name: name, State: s.raft.State().String(), Leader: string(leader),
		Version: s.release.Version, Format: s.release.Format}
	if err := s.HaltError(); err != nil {
		out.Halted = err.Error()
	}
	s.mu.RLock()
	st := s.state.clone()
	s.mu.RUnlock()
	out.Index, out.ClusterFormat = st.Index, st.Format
	out.Digest = st.digest()
	if snaps, err := s.snaps.List(); err == nil && len(snaps) > 0 {
		out.Snapshot = snaps[0].Index
	}
	return out
}
