package master

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/raftstore"
)

// agentWrites batches the two writes every agent makes: heartbeats and
// status reports.
type agentWrites struct {
	heartbeats batcher[string]
	reports    batcher[*api.StatusBatch]
}

// newAgentWrites batches into the given store.
func newAgentWrites(store *raftstore.Store) *agentWrites {
	w := &agentWrites{}
	w.heartbeats.writeItems = func(names []string) error { return writeHeartbeats(store, names) }
	w.reports.writeItems = store.ReportStatuses
	return w
}

// writeHeartbeats records the named nodes as alive in one entry, each
// once. Nodes the store no longer knows are skipped: the handler checked
// them, and the next heartbeat of a node removed since gets the 404 that
// makes its agent register again.
func writeHeartbeats(store *raftstore.Store, names []string) error {
	unique := slices.Clone(names)
	slices.Sort(unique)
	_, err := store.Heartbeats(slices.Compact(unique))
	return err
}

// heartbeat records that a node is alive, batched with the others, and
// answers with the interval the agent is to keep (HeartbeatPace). It
// answers at once, without waiting for the write: a heartbeat is worth
// nothing late, the next one comes in seconds, and an agent waiting on a
// busy master would send its next one late. A node the state does not
// know gets ErrUnknownNode (its agent registers again).
func (m *Master) heartbeat(name string) (api.HeartbeatAnswer, error) {
	if !m.store.HasNode(name) {
		return api.HeartbeatAnswer{}, fmt.Errorf("%w: %s", raftstore.ErrUnknownNode, name)
	}
	m.agentWrites.heartbeats.post(name)
	interval, _ := api.HeartbeatPace(m.store.NodeCount(), m.cfg.NodeTimeout)
	return api.HeartbeatAnswer{IntervalMillis: interval.Milliseconds(), Register: m.store.LacksStorageDir(name)}, nil
}

// nodeTimeout is how long the nodes of v may go without a heartbeat and
// still count as Ready: the configured timeout, longer in a cluster large
// enough that its agents were told to space their heartbeats out.
func (m *Master) nodeTimeout(v raftstore.View) time.Duration {
	_, timeout := api.HeartbeatPace(len(v.Nodes), m.cfg.NodeTimeout)
	return timeout
}

// creditedNodes returns the view's nodes with their heartbeats moved
// forward by heartbeatLag: the nodes' readiness is judged on the clock of
// the heartbeats recorded, so that a master slow to record them (a large
// cluster, a busy machine) does not blame the nodes for its delay. When
// no heartbeat at all is recorded for long, the lag stops growing at one
// node timeout, and the nodes go NotReady one timeout later than usual.
func (m *Master) creditedNodes(v raftstore.View, now time.Time) []api.Node {
	lag := m.heartbeatLag(v, now)
	if lag <= 0 {
		return v.Nodes
	}
	nodes := slices.Clone(v.Nodes)
	for i := range nodes {
		nodes[i].LastHeartbeat = nodes[i].LastHeartbeat.Add(lag)
	}
	return nodes
}

// heartbeatLag is how far behind now the record of heartbeats is: the age
// of the newest heartbeat recorded, from any node (at most the node
// timeout).
func (m *Master) heartbeatLag(v raftstore.View, now time.Time) time.Duration {
	if v.HeartbeatStamp.IsZero() {
		return 0
	}
	return min(max(now.Sub(v.HeartbeatStamp), 0), m.nodeTimeout(v))
}

// report records an agent's status batch, batched with the others.
func (m *Master) report(ctx context.Context, b *api.StatusBatch) error {
	return m.agentWrites.reports.do(ctx, b)
}
