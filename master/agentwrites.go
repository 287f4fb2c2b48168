package master

import (
	"context"
	"fmt"
	"slices"

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
	w.heartbeats.writeItems = func(names []string) ([]error, error) { return writeHeartbeats(store, names) }
	w.reports.writeItems = func(bs []*api.StatusBatch) ([]error, error) { return nil, store.ReportStatuses(bs) }
	return w
}

// writeHeartbeats records the named nodes as alive in one entry; an
// unknown node gets ErrUnknownNode (its agent registers again).
func writeHeartbeats(store *raftstore.Store, names []string) ([]error, error) {
	unique := slices.Clone(names)
	slices.Sort(unique)
	unknown, err := store.Heartbeats(slices.Compact(unique))
	if err != nil {
		return nil, err
	}
	each := make([]error, len(names))
	for i, name := range names {
		if slices.Contains(unknown, name) {
			each[i] = fmt.Errorf("%w: %s", raftstore.ErrUnknownNode, name)
		}
	}
	return each, nil
}

// heartbeat records that a node is alive, batched with the others.
func (m *Master) heartbeat(ctx context.Context, name string) error {
	return m.agentWrites.heartbeats.do(ctx, name)
}

// report records an agent's status batch, batched with the others.
func (m *Master) report(ctx context.Context, b *api.StatusBatch) error {
	return m.agentWrites.reports.do(ctx, b)
}
