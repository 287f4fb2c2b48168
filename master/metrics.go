package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/berth-dev/berth/api"
)

// clusterStats asks every node's agent for its last CPU and memory
// readings, at once; a node that does not answer within ctx is left out
// (kubectl top shows the others), and logged.
func (m *Master) clusterStats(ctx context.Context) []api.NodeStats {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []api.NodeStats
	for name, addr := range m.store.NodeAddresses() {
		wg.Add(1)
		go func() { // ends with ctx at the latest
			defer wg.Done()
			s, err := m.nodeStats(ctx, name, addr)
			if err != nil {
				m.log.Warn("no stats from a node", "node", name, "err", err)
				return
			}
			mu.Lock()
			out = append(out, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// nodeStats reads one agent's stats.
func (m *Master) nodeStats(ctx context.Context, node, addr string) (api.NodeStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+api.AgentPathStats, nil)
	if err != nil {
		return api.NodeStats{}, err
	}
	agent := m.agentClient(node)
	defer agent.CloseIdleConnections()
	resp, err := agent.Do(req)
	if err != nil {
		return api.NodeStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.NodeStats{}, fmt.Errorf("stats of node %s at %s: HTTP %d", node, addr, resp.StatusCode)
	}
	var s api.NodeStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return api.NodeStats{}, fmt.Errorf("stats of node %s at %s: %w", node, addr, err)
	}
	s.Node = node // an agent speaks for its own node only
	return s, nil
}
