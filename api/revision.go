package api

import "time"

// Outcome says what berth did with a commit.
type Outcome string

// The outcomes of a revision.
const (
	OutcomeApplied  Outcome = "applied"
	OutcomeRejected Outcome = "rejected"
)

// CommitInfo is what Git says about a commit, and when berth saw it.
type CommitInfo struct {
	Commit      string    `json:"commit"`
	Parents     []string  `json:"parents,omitempty"`
	Author      string    `json:"author"`
	AuthorEmail string    `json:"authorEmail"`
	AuthorTime  time.Time `json:"authorTime"`
	Message     string    `json:"message"`
	SeenAt      time.Time `json:"seenAt"`
}

// Revision is one commit as berth saw it: who wrote it, what it holds, and
// whether it could be applied.
type Revision struct {
	CommitInfo
	Objects *ObjectSet `json:"objects,omitempty"`
	Errors  []string   `json:"errors,omitempty"`
}

// LogEntry is a revision as kept in the revision log: its objects are not
// kept, only their count.
type LogEntry struct {
	CommitInfo
	Outcome   Outcome   `json:"outcome"`
	Errors    []string  `json:"errors,omitempty"`
	Objects   int       `json:"objects"`
	AppliedAt time.Time `json:"appliedAt,omitempty"`
	RaftIndex uint64    `json:"raftIndex"`
}

// Rejection is a commit that berth refused, with every error.
type Rejection struct {
	Commit string   `json:"commit"`
	Errors []string `json:"errors"`
}

// Status is the answer of GET /v1/status: which commit is live and whether
// the cluster runs what it asks for.
type Status struct {
	LiveCommit string      `json:"liveCommit"`
	SeenCommit string      `json:"seenCommit"`
	Converged  bool        `json:"converged"`
	Rejected   []Rejection `json:"rejected"`
	Pods       int         `json:"pods"`
	ReadyPods  int         `json:"readyPods"`
	Nodes      int         `json:"nodes"`
	ReadyNodes int         `json:"readyNodes"`
	Index      uint64      `json:"index"`
}
