package api

import "time"

// NodeStats is what a node's agent measured last (GET AgentPathStats):
// the node's and each running pod's CPU and memory, as the kubelet's
// resource metrics that metrics-server reads.
type NodeStats struct {
	Node string `json:"node"`
	// Usage is the whole node's (from /proc).
	Usage Usage      `json:"usage"`
	Pods  []PodStats `json:"pods,omitempty"`
}

// PodStats is one pod's containers' usage.
type PodStats struct {
	Namespace  string           `json:"namespace"`
	Name       string           `json:"name"`
	Containers []ContainerStats `json:"containers"`
}

// ContainerStats is one container's usage.
type ContainerStats struct {
	Name  string `json:"name"`
	Usage Usage  `json:"usage"`
}

// Usage is CPU and memory use over a window that ended at Time: CPU in
// nanocores (the rate over the window), memory as the working set in
// bytes (at Time).
type Usage struct {
	Time         time.Time     `json:"time"`
	Window       time.Duration `json:"window"`
	CPUNanoCores uint64        `json:"cpuNanoCores"`
	MemoryBytes  uint64        `json:"memoryBytes"`
}
