package api

import (
	"net"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Node is a machine that runs an agent, as the master knows it.
type Node struct {
	Name    string            `json:"name"`
	Address string            `json:"address,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	CPU     resource.Quantity `json:"cpu"`
	Memory  resource.Quantity `json:"memory"`
	// MaxPods is how many pods the node runs at most (0: DefaultMaxPods).
	MaxPods       int       `json:"maxPods,omitempty"`
	RegisteredAt  time.Time `json:"registeredAt"`
	LastHeartbeat time.Time `json:"lastHeartbeat"`
	// Taints and Unschedulable come from a Node manifest in Git.
	Taints        []corev1.Taint `json:"taints,omitempty"`
	Unschedulable bool           `json:"unschedulable,omitempty"`
	// PodCIDR is the range the node's pods take their addresses from,
	// given by the leader out of the cluster CIDR (raftstore format 2).
	PodCIDR string `json:"podCIDR,omitempty"`
	// PodNetwork says the agent gives pods their own network: the node
	// takes no pods until it has a pod CIDR (raftstore format 2).
	PodNetwork bool `json:"podNetwork,omitempty"`
	// StorageDir is the agent's data folder: local-path volumes are made
	// in its volumes/ folder (raftstore format 4).
	StorageDir string `json:"storageDir,omitempty"`
	// Conditions are what the agent reports of the node beside its
	// readiness (IngressPortsBound; raftstore format 4).
	Conditions []corev1.NodeCondition `json:"conditions,omitempty"`
}

// NodeIngressPortsBound is the node condition that says whether the
// agent's Ingress proxy holds every one of its ports.
const NodeIngressPortsBound corev1.NodeConditionType = "IngressPortsBound"

// NetworkReady reports whether the node can network new pods: an agent
// that gives pods their own network needs its pod CIDR first.
func (n *Node) NetworkReady() bool { return !n.PodNetwork || n.PodCIDR != "" }

// WithGit returns the nodes as Git amends them: a Node manifest of the same
// name adds its labels (over the agent's), and sets the taints and
// spec.unschedulable (cordon). The agent still registers the node.
func WithGit(nodes []Node, git []corev1.Node) []Node {
	byName := map[string]*corev1.Node{}
	for i := range git {
		byName[git[i].Name] = &git[i]
	}
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		if g := byName[n.Name]; g != nil {
			labels := map[string]string{}
			for k, v := range n.Labels {
				labels[k] = v
			}
			for k, v := range g.Labels {
				labels[k] = v
			}
			n.Labels, n.Taints, n.Unschedulable = labels, g.Spec.Taints, g.Spec.Unschedulable
		}
		out[i] = n
	}
	return out
}

// DefaultMaxPods is the kubelet's default limit of pods per node.
const DefaultMaxPods = 110

// PodCapacity is how many pods the node runs at most.
func (n *Node) PodCapacity() int {
	if n.MaxPods > 0 {
		return n.MaxPods
	}
	return DefaultMaxPods
}

// Well-known node labels, set by the agent as the kubelet sets them.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
)

// NodeReadyTimeout is how long a node may go without a heartbeat and still
// count as Ready, unless the master's --node-timeout says otherwise.
const NodeReadyTimeout = 10 * time.Second

// The taints of node conditions, as Kubernetes' node lifecycle controller
// sets them, and the one an operator sets on a node that is down for good
// (non-graceful node shutdown).
const (
	TaintNodeUnreachable  = "node.kubernetes.io/unreachable"
	TaintNodeOutOfService = "node.kubernetes.io/out-of-service"
)

// DefaultTolerationSeconds is how long a pod stays on an unreachable node
// before it is evicted, unless it tolerates the taint itself (Kubernetes'
// DefaultTolerationSeconds admission gives 300 s; berth 30 s).
const DefaultTolerationSeconds = 30

// Ready reports whether the node has sent a heartbeat within
// NodeReadyTimeout.
func (n *Node) Ready(now time.Time) bool { return n.ReadyWithin(now, NodeReadyTimeout) }

// ReadyWithin reports whether the node has sent a heartbeat within timeout.
func (n *Node) ReadyWithin(now time.Time, timeout time.Duration) bool {
	return now.Sub(n.LastHeartbeat) <= timeout
}

// WithConditionTaints returns the nodes with the taints Kubernetes' node
// lifecycle controller puts on a node whose heartbeats stopped for timeout:
// node.kubernetes.io/unreachable with NoSchedule and NoExecute, added when
// the timeout ran out.
func WithConditionTaints(nodes []Node, now time.Time, timeout time.Duration) []Node {
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		if !n.ReadyWithin(now, timeout) {
			at := metav1.NewTime(n.LastHeartbeat.Add(timeout))
			n.Taints = append(slices.Clip(n.Taints),
				corev1.Taint{Key: TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &at},
				corev1.Taint{Key: TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &at})
		}
		out[i] = n
	}
	return out
}

// ToKube renders the node as a Kubernetes Node object for the CLI; it is
// Ready while its heartbeats are less than timeout apart.
func (n *Node) ToKube(now time.Time, timeout time.Duration) corev1.Node {
	ready, reason, message := corev1.ConditionFalse, "NodeStatusUnknown", "the node's agent stopped sending heartbeats"
	since := n.RegisteredAt // a node is ready, or waits for its pod CIDR, from its registration on
	switch {
	case !n.ReadyWithin(now, timeout):
		since = n.LastHeartbeat.Add(timeout)
	case !n.NetworkReady():
		reason, message = "NetworkNotReady", "the node has no pod CIDR yet"
	default:
		ready, reason, message = corev1.ConditionTrue, "KubeletReady", "berth's agent is posting ready status"
	}
	capacity := corev1.ResourceList{corev1.ResourceCPU: n.CPU, corev1.ResourceMemory: n.Memory,
		corev1.ResourcePods: *resource.NewQuantity(int64(n.PodCapacity()), resource.DecimalSI)}
	return corev1.Node{
		TypeMeta:   typeMeta("v1", "Node"),
		ObjectMeta: objectMeta(n.Name, n.Labels, n.RegisteredAt),
		Spec:       corev1.NodeSpec{Taints: n.Taints, Unschedulable: n.Unschedulable, PodCIDR: n.PodCIDR, PodCIDRs: podCIDRs(n.PodCIDR)},
		Status: corev1.NodeStatus{
			Capacity:        capacity,
			Allocatable:     capacity,
			Addresses:       n.addresses(),
			DaemonEndpoints: n.daemonEndpoints(),
			Conditions: append([]corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: ready, Reason: reason, Message: message,
				LastHeartbeatTime: metaTime(n.LastHeartbeat), LastTransitionTime: metaTime(since),
			}}, n.Conditions...),
		},
	}
}

// addresses are the Node's addresses: the host of its agent's address as
// InternalIP (the agent's port goes in daemonEndpoints, as the kubelet's
// does), and its name as Hostname.
func (n *Node) addresses() []corev1.NodeAddress {
	var out []corev1.NodeAddress
	if host, _, err := net.SplitHostPort(n.Address); err == nil {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: host})
	} else if n.Address != "" {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.Address})
	}
	return append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
}

// daemonEndpoints carries the port of the node's agent, where the
// kubelet's goes.
func (n *Node) daemonEndpoints() corev1.NodeDaemonEndpoints {
	_, port, err := net.SplitHostPort(n.Address)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return corev1.NodeDaemonEndpoints{}
	}
	return corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}}
}

// podCIDRs is the Node's spec.podCIDRs: its one range, or none.
func podCIDRs(cidr string) []string {
	if cidr == "" {
		return nil
	}
	return []string{cidr}
}

// Registration is what an agent sends when it starts.
type Registration struct {
	Name    string            `json:"name"`
	Address string            `json:"address,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	CPU     resource.Quantity `json:"cpu"`
	Memory  resource.Quantity `json:"memory"`
	// MaxPods is how many pods the node runs at most (0: DefaultMaxPods).
	MaxPods int `json:"maxPods,omitempty"`
	// PodNetwork says the agent gives pods their own network (raftstore
	// format 2; left out before).
	PodNetwork bool `json:"podNetwork,omitempty"`
	// StorageDir is the agent's data folder (raftstore format 4; left
	// out before).
	StorageDir string    `json:"storageDir,omitempty"`
	Time       time.Time `json:"time"`
}

// Heartbeat says a node is alive at Time.
type Heartbeat struct {
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

// HeartbeatAnswer is the master's answer to a heartbeat.
type HeartbeatAnswer struct {
	// IntervalMillis is the shortest wait before the next heartbeat, in
	// milliseconds (0: the agent's own interval).
	IntervalMillis int64 `json:"intervalMillis,omitempty"`
	// Register asks the agent to register again: the master's record of
	// the node lacks what a newer format keeps (its storage folder).
	Register bool `json:"register,omitempty"`
}

// MaxHeartbeatsPerSecond is how many heartbeats a cluster sends its
// leader at most: above 1,000 nodes (at 2 s apart) the agents are told to
// space them out, as Nomad's servers do with max_heartbeats_per_second.
const MaxHeartbeatsPerSecond = 500

// HeartbeatPace is the heartbeat interval the master asks of the agents
// of a cluster of n nodes, so that they send at most
// MaxHeartbeatsPerSecond, and the node timeout that goes with it: the
// configured timeout, or four intervals once that is longer (Kubernetes
// renews node leases every 10 s and marks a node NotReady after 40 s, as
// this does at 5,000 nodes). Up to 1,250 nodes neither changes.
func HeartbeatPace(n int, timeout time.Duration) (interval, nodeTimeout time.Duration) {
	interval = time.Duration(n) * time.Second / MaxHeartbeatsPerSecond
	return interval, max(timeout, 4*interval)
}

// PodReport is the status of one pod as its agent sees it.
type PodReport struct {
	Namespace string           `json:"namespace"`
	Name      string           `json:"name"`
	UID       string           `json:"uid"`
	Status    corev1.PodStatus `json:"status"`
	// Removed is set once the agent has stopped and deleted every container
	// of a pod that was marked for deletion.
	Removed bool `json:"removed,omitempty"`
}

// StatusBatch is a batch of pod reports from one node.
type StatusBatch struct {
	Node    string      `json:"node"`
	Reports []PodReport `json:"reports"`
	// Events the agent recorded since its last batch (Pulled, Started,
	// Killing, Unhealthy, BackOff, …).
	Events []corev1.Event `json:"events,omitempty"`
	// Time is when the master took the batch; it dates the conditions
	// that changed (the agent's clock is not trusted).
	Time time.Time `json:"time,omitempty"`
	// VolumesDeleted names the volumes being deleted whose folders the
	// agent removed (raftstore format 4).
	VolumesDeleted []string `json:"volumesDeleted,omitempty"`
	// Volumes says which local-path volumes the agent set up have their
	// size enforced (raftstore format 4).
	Volumes []VolumeReport `json:"volumes,omitempty"`
	// Conditions, when set, are the node's conditions as the agent now
	// sees them (all of them: nil leaves them as they were; raftstore
	// format 4).
	Conditions []corev1.NodeCondition `json:"conditions,omitempty"`
}

// Assignments is the answer of the blocking query for a node's pods, with
// the ConfigMaps and Secrets those pods reference.
type Assignments struct {
	Index uint64 `json:"index"`
	// PodCIDR is the node's range of pod addresses ("" until the leader
	// gives one; agents before v0.2.0 ignore it).
	PodCIDR string `json:"podCIDR,omitempty"`
	// ClusterCIDR is the range of every node's pod addresses: traffic
	// from pods to addresses outside it is masqueraded.
	ClusterCIDR string `json:"clusterCIDR,omitempty"`
	// PodNetwork says the node is recorded as networking its pods. An
	// agent registered while the cluster could not record that (before
	// format 2) runs new pods in the node's network until its node has a
	// pod CIDR.
	PodNetwork bool `json:"podNetwork,omitempty"`
	// ClusterDNS and ClusterDomain are the cluster DNS address and
	// domain (--cluster-dns, --cluster-domain; the defaults when empty,
	// from a master before v0.2.0).
	ClusterDNS    string             `json:"clusterDNS,omitempty"`
	ClusterDomain string             `json:"clusterDomain,omitempty"`
	Pods          []corev1.Pod       `json:"pods"`
	ConfigMaps    []corev1.ConfigMap `json:"configMaps,omitempty"`
	Secrets       []corev1.Secret    `json:"secrets,omitempty"`
	// Volumes are the PersistentVolumes bound to the claims of the pods,
	// and the node's volumes being deleted (DeletionTimestamp set),
	// whose folders the agent removes.
	Volumes []corev1.PersistentVolume `json:"volumes,omitempty"`
}

// References returns the ConfigMap and Secret names ("namespace/name") a
// pod's env, envFrom and volumes refer to.
func References(p *corev1.Pod) (configMaps, secrets []string) {
	add := func(list *[]string, name string) { *list = append(*list, Key(p.Namespace, name)) }
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				add(&configMaps, e.ValueFrom.ConfigMapKeyRef.Name)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				add(&secrets, e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add(&configMaps, e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				add(&secrets, e.SecretRef.Name)
			}
		}
	}
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap != nil {
			add(&configMaps, v.ConfigMap.Name)
		}
		if v.Secret != nil {
			add(&secrets, v.Secret.SecretName)
		}
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ConfigMap != nil {
				add(&configMaps, src.ConfigMap.Name)
			}
			if src.Secret != nil {
				add(&secrets, src.Secret.Name)
			}
		}
	}
	return configMaps, secrets
}
