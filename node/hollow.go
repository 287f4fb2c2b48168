package node

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// HollowRuntime is the runtime of a hollow node (Kubernetes' Kubemark):
// containers "run" without processes, after a configurable start
// latency, until they are stopped. It exists for scale tests, where
// thousands of agents run in one process (berth sim); a user's agent
// never runs it unless started with --hollow.
type HollowRuntime struct {
	// StartLatency is how long a start takes, as an image pull and a
	// runc start would.
	StartLatency time.Duration

	mu         sync.Mutex
	containers map[string]*hollowContainer
}

type hollowContainer struct {
	Container
	exit chan Exit
}

// NewHollowRuntime makes an empty hollow runtime.
func NewHollowRuntime(latency time.Duration) *HollowRuntime {
	return &HollowRuntime{StartLatency: latency, containers: map[string]*hollowContainer{}}
}

// List returns the containers it holds.
func (h *HollowRuntime) List(context.Context) ([]Container, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Container, 0, len(h.containers))
	for _, c := range h.containers {
		out = append(out, c.Container)
	}
	return out, nil
}

// Start "runs" a container after the start latency.
func (h *HollowRuntime) Start(ctx context.Context, s StartSpec) (Container, <-chan Exit, error) {
	select {
	case <-ctx.Done():
		return Container{}, nil, ctx.Err()
	case <-time.After(h.StartLatency):
	}
	c := &hollowContainer{
		Container: Container{ID: s.ID, PodUID: string(s.Pod.UID), Name: s.Container.Name, Attempt: s.Attempt,
			Running: true, StartedAt: time.Now(), Pulled: "Container image " + strconv.Quote(s.Container.Image) + " already present on machine"},
		exit: make(chan Exit, 1),
	}
	h.mu.Lock()
	h.containers[s.ID] = c
	h.mu.Unlock()
	return c.Container, c.exit, nil
}

// Wait returns the exit channel of a container.
func (h *HollowRuntime) Wait(_ context.Context, id string) (<-chan Exit, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return nil, errors.New("hollow: no container " + id)
	}
	return c.exit, nil
}

// Stop ends a container at once (nothing runs to take a grace period).
func (h *HollowRuntime) Stop(_ context.Context, id string, _ time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.containers[id]; ok && c.Running {
		c.Running = false
		c.exit <- Exit{Code: 137, At: time.Now()}
	}
	return nil
}

// Remove forgets a container.
func (h *HollowRuntime) Remove(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.containers, id)
	return nil
}

// Usage is none: hollow containers run nothing.
func (h *HollowRuntime) Usage(context.Context, string) (CgroupUsage, error) {
	return CgroupUsage{}, nil
}

// ExecStream is refused: hollow containers run nothing.
func (h *HollowRuntime) ExecStream(context.Context, string, ExecStreams) (int, error) {
	return -1, errors.New("a hollow node runs no processes to exec in")
}

// Exec succeeds: a hollow container's exec probes and hooks pass.
func (h *HollowRuntime) Exec(context.Context, string, []string, time.Duration) (int, error) {
	return 0, nil
}
