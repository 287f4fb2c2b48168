package raftstore

import (
	"errors"
	"fmt"
	"sort"

	"github.com/berth-dev/berth/api"
)

// Format is the newest version of the FSM's wire format that this code
// reads and writes: its entry types, their fields and the snapshot. It is
// raised by one whenever a change adds something that a master of the
// previous release cannot read (a new entry type, or a field it would
// drop), and that change is then written only once the cluster has turned
// the new format on: when every master runs a release that reads it (see
// DESIGN.md, "Upgrades").
//
// Formats so far:
//
//	0  berth before v0.1.0: entry types 1-9, snapshots without a header
//	1  v0.1.0: FormatType; masters' Version and Format in MemberCommand;
//	   snapshots with a header; the cluster's format in the state
//	2  v0.2.0: nodes' pod CIDRs (api.Plan.PodCIDRs, api.Node.PodCIDR),
//	   RemoveNodeType
//	3  v0.3.0: tokens and node key pins (TokenType, PinNodeType), data
//	   keys and Secrets sealed at rest (KeyringType, ResealType)
//	4  v0.5.0: Ingresses, IngressClasses and the Gateway API's kinds in a
//	   revision's objects
const Format = 4

// formatReleases names the first release that reads each format, for
// messages that tell an operator what to upgrade to.
var formatReleases = []string{0: "v0.0.0", 1: "v0.1.0", 2: "v0.2.0", 3: "v0.3.0", 4: "v0.5.0"}

// releaseOf is the first release that reads format f.
func releaseOf(f int) string {
	if f >= 0 && f < len(formatReleases) {
		return formatReleases[f]
	}
	return fmt.Sprintf("a release newer than %s (format %d)", api.Version, f)
}

// Release is the berth release a store runs: its version and the newest
// format it reads. The zero value is this build's (api.Version, Format);
// tests set older ones to play a master of an earlier release.
type Release struct {
	Version string
	Format  int
}

// current is this build's release.
func current() Release { return Release{Version: api.Version, Format: Format} }

func (r Release) String() string { return fmt.Sprintf("berth %s (format %d)", r.Version, r.Format) }

// IgnoreUnknownTypeFlag marks an entry type that a master which does not
// know it may skip (with one log line) instead of stopping: for entries
// whose absence changes nothing another master relies on. Nomad's flag of
// the same name. A type without it that a master does not know stops that
// master's FSM (see ErrHalted).
const IgnoreUnknownTypeFlag MessageType = 128

// entryKind describes one entry type: its name for messages, the first
// format that has it, and a new value of its body to decode into.
type entryKind struct {
	name   string
	format int
	body   func() any
}

// entryKinds are the entry types this build knows. An entry type is only
// ever appended, with the format that introduced it; a master whose
// release reads an older format does not know it.
var entryKinds = map[MessageType]entryKind{
	ApplyRevisionType: {"revision", 0, func() any { return &RevisionCommand{} }},
	ApplyPlanType:     {"plan", 0, func() any { return &PlanCommand{} }},
	RegisterNodeType:  {"register node", 0, func() any { return &api.Registration{} }},
	HeartbeatType:     {"heartbeat", 0, func() any { return &api.Heartbeat{} }},
	StatusBatchType:   {"status batch", 0, func() any { return &api.StatusBatch{} }},
	RolloutType:       {"rollout", 0, func() any { return &RolloutCommand{} }},
	MemberType:        {"member", 0, func() any { return &MemberCommand{} }},
	HeartbeatsType:    {"heartbeats", 0, func() any { return &HeartbeatsCommand{} }},
	StatusBatchesType: {"status batches", 0, func() any { return &StatusBatchesCommand{} }},
	FormatType:        {"format", 1, func() any { return &FormatCommand{} }},
	RemoveNodeType:    {"remove node", 2, func() any { return &RemoveNodeCommand{} }},
	TokenType:         {"token", 3, func() any { return &TokenCommand{} }},
	PinNodeType:       {"pin node", 3, func() any { return &PinNodeCommand{} }},
	KeyringType:       {"keyring", 3, func() any { return &KeyringCommand{} }},
	ResealType:        {"reseal", 3, func() any { return &ResealCommand{} }},
}

// kind returns what a release knows of an entry type.
func (r Release) kind(t MessageType) (entryKind, bool) {
	k, ok := entryKinds[t]
	if !ok || k.format > r.Format {
		return entryKind{}, false
	}
	return k, true
}

// Sentinel errors of upgrades.
var (
	// ErrFormatOff is returned for a write that needs a format the
	// cluster has not turned on yet: some master runs an older release.
	ErrFormatOff = errors.New("not every master reads this yet")
	// ErrHalted is wrapped by the error that stopped a master's FSM: an
	// entry or snapshot that its release cannot read. The FSM applies
	// nothing more, and the master exits with that error.
	ErrHalted = errors.New("state machine halted")
	// ErrNewerSnapshot is returned for a snapshot of a newer format than
	// this release reads.
	ErrNewerSnapshot = errors.New("snapshot from a newer berth")
)

// FormatCommand turns on a format for the whole cluster. The leader writes
// it once every master in the Raft configuration reads that format, and
// records their releases with it.
type FormatCommand struct {
	Format int `json:"format"`
	// Version is the release of the leader that turned it on.
	Version string `json:"version"`
	// Members are the masters with the releases they run.
	Members []api.Member `json:"members"`
}

// applyFormat raises the cluster's format and records the masters'
// releases.
func (st *state) applyFormat(c *FormatCommand) {
	st.Format = max(st.Format, c.Format)
	if st.Members == nil {
		st.Members = map[string]api.Member{}
	}
	for _, m := range c.Members {
		st.Members[m.Name] = m
	}
}

// newestRelease names the newest release that any recorded master runs,
// with the masters that run it ("" when none is recorded).
func (st *state) newestRelease() string {
	best, names := "", []string(nil)
	for _, m := range st.Members {
		switch {
		case m.Version == "":
		case best == "" || api.NewerVersion(m.Version, best):
			best, names = m.Version, []string{m.Name}
		case m.Version == best:
			names = append(names, m.Name)
		}
	}
	if best == "" {
		return ""
	}
	sort.Strings(names)
	return fmt.Sprintf("%s, run by %v", best, names)
}
