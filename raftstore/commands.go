package raftstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
)

// MessageType is the first byte of every log entry; the body that follows
// is JSON. Values are only ever appended, never renumbered, and each new
// one is listed in entryKinds with the format that introduced it. A type
// with IgnoreUnknownTypeFlag set may be skipped by a master that does not
// know it.
type MessageType uint8

// The FSM's commands.
const (
	ApplyRevisionType MessageType = iota + 1
	ApplyPlanType
	RegisterNodeType
	HeartbeatType
	StatusBatchType // one node's batch; kept to replay older logs
	RolloutType
	MemberType
	HeartbeatsType
	StatusBatchesType
	FormatType     // format 1 (v0.1.0): the cluster turns a format on
	RemoveNodeType // format 2 (v0.2.0): an operator removes a node
	TokenType      // format 3 (v0.3.0): a token is added or revoked
	PinNodeType    // format 3 (v0.3.0): a node name is pinned to its agent's key
	KeyringType    // format 3 (v0.3.0): a data key is added (and made primary)
	ResealType     // format 3 (v0.3.0): Secrets sealed again under the primary key
)

// RemoveNodeCommand forgets a node (`berth delete node`): its pod CIDR is
// free again, the other nodes drop their routes to it, and the
// reconciler deletes the pods bound to it. An agent that still runs
// registers again.
type RemoveNodeCommand struct {
	Name string `json:"name"`
}

// StatusBatchesCommand records the status batches of several nodes: the
// master gathers the reports that arrive together into one entry. Time
// dates them all (the agents' clocks are not trusted).
type StatusBatchesCommand struct {
	Batches []api.StatusBatch `json:"batches"`
	Time    time.Time         `json:"time"`
}

// HeartbeatsCommand records that several nodes are alive: the master
// gathers the heartbeats that arrive together into one entry.
type HeartbeatsCommand struct {
	Names []string  `json:"names"`
	Time  time.Time `json:"time"`
}

// RevisionCommand records a commit: applied when it has no errors,
// rejected otherwise.
type RevisionCommand struct {
	Revision api.Revision `json:"revision"`
	Time     time.Time    `json:"time"`
}

// PlanCommand commits one reconciler plan.
type PlanCommand struct {
	Plan api.Plan  `json:"plan"`
	Time time.Time `json:"time"`
}

// encode renders a command as its type byte followed by its JSON body.
func encode(t MessageType, body any) ([]byte, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding command %d: %w", t, err)
	}
	return append([]byte{byte(t)}, data...), nil
}

// RolloutCommand records how the rollout of an applied commit ended.
type RolloutCommand struct {
	Commit  string      `json:"commit"`
	Rollout api.Rollout `json:"rollout"`
}
