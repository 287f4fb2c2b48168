package api

// Paths of the masters' membership API.
const (
	// PathMembers lists the Raft servers (GET); PathMembers+"/NAME"
	// removes one (DELETE).
	PathMembers = "/v1/members"
	// PathJoin asks the cluster to add a master (POST a Member); any
	// master forwards it to the leader.
	PathJoin = "/v1/members/join"
	// PathSelf is one master's own view: its Raft state, applied index
	// and the digest of its FSM state (always answered locally).
	PathSelf = "/v1/members/self"
)

// Member is one master: its Raft server name and address, and the
// address of its API.
type Member struct {
	Name     string `json:"name"`
	RaftAddr string `json:"raftAddr"`
	APIAddr  string `json:"apiAddr"`
}

// MemberStatus is a Raft server as the leader's configuration lists it.
type MemberStatus struct {
	Member
	// Voter is false for a non-voting server.
	Voter  bool `json:"voter"`
	Leader bool `json:"leader"`
}

// SelfStatus is one master's view of itself.
type SelfStatus struct {
	Name   string `json:"name"`
	State  string `json:"state"` // Leader, Follower, Candidate, Shutdown
	Leader string `json:"leader"`
	// Index is the last log index applied to the FSM; Digest the SHA-256
	// of the FSM state at that index, equal on masters at equal indexes.
	Index  uint64 `json:"index"`
	Digest string `json:"digest"`
	// Snapshot is the index of the last snapshot this master took or
	// restored (0 when none).
	Snapshot uint64 `json:"snapshot"`
}
