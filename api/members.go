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

// Member is one master: its Raft server name and address, the address
// of its API, and the release it runs. Version and Format are recorded
// in the FSM only once every master reads them (raftstore format 1): a
// master of an older release would drop them.
type Member struct {
	Name     string `json:"name"`
	RaftAddr string `json:"raftAddr"`
	APIAddr  string `json:"apiAddr"`
	// Version is the master's berth release (api.Version); empty for a
	// master older than v0.1.0, which did not say.
	Version string `json:"version,omitempty"`
	// Format is the newest raftstore format the master reads (0 before
	// v0.1.0).
	Format int `json:"format,omitempty"`
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
	// Version and Format are the release this master runs and the newest
	// raftstore format it reads; ClusterFormat is the format the cluster
	// has turned on (see raftstore.Format).
	Version       string `json:"version,omitempty"`
	Format        int    `json:"format,omitempty"`
	ClusterFormat int    `json:"clusterFormat,omitempty"`
	// Halted is why this master's state machine stopped applying the log
	// (an entry or snapshot of a newer berth); empty while it runs.
	Halted string `json:"halted,omitempty"`
	// Reconciled is the state index the leader's latest reconcile pass
	// read (0 on a master that does not lead): a test or a tool waits for
	// it to pass an index to know that the reconciler has seen the state.
	Reconciled uint64 `json:"reconciled,omitempty"`
}
