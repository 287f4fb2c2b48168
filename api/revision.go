package api

import "time"

// Outcome says what berth did with a commit.
type Outcome string

// The outcomes of a revision.
const (
	OutcomeApplied  Outcome = "applied"
	OutcomeRejected Outcome = "rejected"
	// OutcomeSuperseded is a commit seen between two looks at the branch:
	// a newer commit was applied in its place.
	OutcomeSuperseded Outcome = "superseded"
)

// CommitInfo is what Git says about a commit, and when berth saw it.
type CommitInfo struct {
	Commit         string    `json:"commit"`
	Parents        []string  `json:"parents,omitempty"`
	Author         string    `json:"author"`
	AuthorEmail    string    `json:"authorEmail"`
	AuthorTime     time.Time `json:"authorTime"`
	Committer      string    `json:"committer"`
	CommitterEmail string    `json:"committerEmail"`
	CommitTime     time.Time `json:"commitTime"`
	Message        string    `json:"message"`
	// RevertOf is the commit this one reverts, from "This reverts commit X".
	RevertOf string `json:"revertOf,omitempty"`
	// Signature is "unsigned", "verified <key id>", "bad: <why>", or
	// "signed" when no trusted keys were given to check it against.
	Signature string    `json:"signature,omitempty"`
	SeenAt    time.Time `json:"seenAt"`
}

// Revision is one commit as berth saw it: who wrote it, what it holds, and
// whether it could be applied.
type Revision struct {
	CommitInfo
	Objects *ObjectSet `json:"objects,omitempty"`
	Errors  []string   `json:"errors,omitempty"`
	// Superseded are the commits between the last one seen and this one,
	// oldest first: recorded, not applied.
	Superseded []CommitInfo `json:"superseded,omitempty"`
	// Rewrite is set when this commit does not descend from the last one
	// seen (a force push).
	Rewrite bool `json:"rewrite,omitempty"`
	// Summary is what the commit changes against the live revision.
	Summary *Summary `json:"summary,omitempty"`
}

// Summary lists the objects a revision adds, changes and removes, as
// "Kind/namespace/name".
type Summary struct {
	Added   []string `json:"added,omitempty"`
	Changed []string `json:"changed,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// RolloutState is how the rollout of an applied revision ended.
type RolloutState string

// The ends of a rollout.
const (
	RolloutConverged RolloutState = "converged"
	RolloutReplaced  RolloutState = "replaced"
	// RolloutFailed is a rollout that did not converge within the
	// master's rollout deadline.
	RolloutFailed RolloutState = "failed"
)

// Rollout is the end of an applied revision's rollout.
type Rollout struct {
	State RolloutState `json:"state"`
	At    time.Time    `json:"at"`
	// By is the commit that replaced this one.
	By string `json:"by,omitempty"`
	// Reason says why a rollout failed.
	Reason string `json:"reason,omitempty"`
}

// LogEntry is a revision as kept in the revision log: its objects are not
// kept, only their count.
type LogEntry struct {
	CommitInfo
	Outcome   Outcome   `json:"outcome"`
	Errors    []string  `json:"errors,omitempty"`
	Objects   int       `json:"objects"`
	Rewrite   bool      `json:"rewrite,omitempty"`
	Summary   *Summary  `json:"summary,omitempty"`
	AppliedAt time.Time `json:"appliedAt,omitempty"`
	RaftIndex uint64    `json:"raftIndex"`
	Rollout   *Rollout  `json:"rollout,omitempty"`
}

// Rejection is a commit that berth refused, with every error.
type Rejection struct {
	Commit string   `json:"commit"`
	Errors []string `json:"errors"`
}

// Status is the answer of GET /v1/status: which commit is live and whether
// the cluster runs what it asks for.
type Status struct {
	LiveCommit string `json:"liveCommit"`
	SeenCommit string `json:"seenCommit"`
	Converged  bool   `json:"converged"`
	// Failures say why the live commit cannot converge (a Job that
	// failed, with its reason).
	Failures   []string    `json:"failures,omitempty"`
	Rejected   []Rejection `json:"rejected"`
	Pods       int         `json:"pods"`
	ReadyPods  int         `json:"readyPods"`
	Nodes      int         `json:"nodes"`
	ReadyNodes int         `json:"readyNodes"`
	Index      uint64      `json:"index"`
	// Masters are the masters with the release each runs, and Format
	// the format the cluster has turned on (what every master reads).
	Masters []MemberStatus `json:"masters,omitempty"`
	Format  int            `json:"format,omitempty"`
}
