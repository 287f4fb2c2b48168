package raftstore

import (
	"maps"
	"slices"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// state is everything the FSM holds. It is only changed by applying log
// entries and by Restore.
type state struct {
	Index      uint64                 `json:"index"`
	Log        []api.LogEntry         `json:"log"`
	LiveCommit string                 `json:"liveCommit"`
	SeenCommit string                 `json:"seenCommit"`
	Desired    *api.ObjectSet         `json:"desired"`
	Nodes      map[string]*api.Node   `json:"nodes"`
	Pods       map[string]*corev1.Pod `json:"pods"`
	// NodeIndex is the last index that changed the pods bound to a node;
	// status reports do not move it.
	NodeIndex map[string]uint64 `json:"nodeIndex"`
	// Jobs are the runs of Jobs (from Git or from CronJobs), by key.
	Jobs map[string]*batchv1.Job `json:"jobs,omitempty"`
	// CronJobs are CronJob registrations and last schedule times, by key.
	CronJobs map[string]*batchv1.CronJob `json:"cronJobs,omitempty"`
	// Claims maps "namespace/claim" to the node its first pod was bound
	// to, which keeps its data.
	Claims map[string]string `json:"claims,omitempty"`
	// Volumes are the PersistentVolumes bound, provisioned, released or
	// being deleted, by name; PVCs the claims StatefulSets made, by key
	// (format 4).
	Volumes map[string]*corev1.PersistentVolume      `json:"volumes,omitempty"`
	PVCs    map[string]*corev1.PersistentVolumeClaim `json:"pvcs,omitempty"`
	// Events are kept for api.EventTTL, oldest first.
	Events []corev1.Event `json:"events,omitempty"`
	// Members are the masters' addresses, by Raft server name.
	Members map[string]api.Member `json:"members,omitempty"`
	// HeartbeatStamp is the time of the newest heartbeat recorded, from
	// any node: how far the record of heartbeats is behind the clock.
	HeartbeatStamp time.Time `json:"heartbeatStamp,omitempty"`
	// Tokens are the join and access tokens, by ID, as hashes (format 3).
	Tokens map[string]*api.Token `json:"tokens,omitempty"`
	// NodeKeys pins each node name to its agent's key hash (format 3).
	NodeKeys map[string]string `json:"nodeKeys,omitempty"`
	// Keys are the data keys that seal Secrets, wrapped, oldest first;
	// PrimaryKey seals new values (format 3).
	Keys       []api.WrappedKey `json:"keys,omitempty"`
	PrimaryKey string           `json:"primaryKey,omitempty"`
	// Format is the format the cluster has turned on (see Format): what
	// every master reads, and so what the leader may write.
	Format int `json:"format,omitempty"`

	// byNode indexes Pods by the node they are bound to, and touched
	// collects the nodes whose pods the entry being applied changed; both
	// are derived (rebuilt after a Restore), not part of the state.
	byNode  map[string]map[string]*corev1.Pod
	touched map[string]bool
	// podsIndex is the last index that changed a pod (its spec, binding
	// or status) or the desired objects: what endpoints depend on.
	podsIndex uint64
}

// Stored pods are never changed in place: a change replaces the pod with
// an edited copy (api.Plan.Apply, applyStatus). So View and NodePods take the pods' pointers
// under the read lock and copy them after releasing it, and the FSM does
// not wait for a copy of every pod to apply its next entry.

// putPod stores a new pod, or the changed copy of a stored one, and
// indexes it by node (a pod's node changes only from none to one).
func (st *state) putPod(key string, p *corev1.Pod) {
	st.Pods[key] = p
	st.index(key, p)
}

// removePod forgets a pod.
func (st *state) removePod(key string) {
	if p := st.Pods[key]; p != nil && p.Spec.NodeName != "" {
		delete(st.byNode[p.Spec.NodeName], key)
	}
	delete(st.Pods, key)
}

func (st *state) index(key string, p *corev1.Pod) {
	if n := p.Spec.NodeName; n != "" {
		if st.byNode[n] == nil {
			st.byNode[n] = map[string]*corev1.Pod{}
		}
		st.byNode[n][key] = p
	}
}

// reindex rebuilds the derived indexes from Pods.
func (st *state) reindex() {
	st.byNode = map[string]map[string]*corev1.Pod{}
	for key, p := range st.Pods {
		st.index(key, p)
	}
}

// clone copies the state for a snapshot or a digest, to be read outside
// the lock while entries go on being applied. What entries change in
// place is copied (nodes, events, the revision log's entries, the maps);
// what they only ever replace is shared (pods, see putPod; the desired
// objects; Job and CronJob records).
func (st *state) clone() *state {
	c := *st
	c.Log = slices.Clone(st.Log) // nil stays nil: the JSON, and so the digest, is the state's own
	c.Nodes = maps.Clone(st.Nodes)
	for name, n := range c.Nodes {
		cp := *n
		c.Nodes[name] = &cp
	}
	c.Pods = maps.Clone(st.Pods)
	c.NodeIndex = maps.Clone(st.NodeIndex)
	c.Jobs = maps.Clone(st.Jobs)
	c.CronJobs = maps.Clone(st.CronJobs)
	c.Claims = maps.Clone(st.Claims)
	c.Volumes = maps.Clone(st.Volumes) // records are replaced, never changed in place
	c.PVCs = maps.Clone(st.PVCs)
	c.Events = slices.Clone(st.Events)
	c.Members = maps.Clone(st.Members)
	c.Tokens = maps.Clone(st.Tokens) // tokens are replaced, never changed in place
	c.NodeKeys = maps.Clone(st.NodeKeys)
	c.Keys = slices.Clone(st.Keys)
	c.byNode, c.touched = nil, nil
	return &c
}

func newState() *state {
	return &state{
		Desired:   &api.ObjectSet{},
		Nodes:     map[string]*api.Node{},
		Pods:      map[string]*corev1.Pod{},
		NodeIndex: map[string]uint64{},
		Jobs:      map[string]*batchv1.Job{},
		CronJobs:  map[string]*batchv1.CronJob{},
		byNode:    map[string]map[string]*corev1.Pod{},
		touched:   map[string]bool{},
	}
}

// View is a copy of the FSM's state that callers may read freely.
type View struct {
	Index      uint64
	LiveCommit string
	SeenCommit string
	Desired    *api.ObjectSet
	Nodes      []api.Node
	Pods       []corev1.Pod
	Log        []api.LogEntry
	// LiveEntry is the log entry of the live commit (nil when none).
	LiveEntry *api.LogEntry
	// Jobs and CronJobs are the controllers' records, sorted by key.
	Jobs     []batchv1.Job
	CronJobs []batchv1.CronJob
	// Claims maps "namespace/claim" to the node that holds its data.
	Claims map[string]string
	// Volumes are the volume records, and PVCs the StatefulSets' claims,
	// sorted by name (format 4).
	Volumes []corev1.PersistentVolume
	PVCs    []corev1.PersistentVolumeClaim
	// HeartbeatStamp is the time of the newest heartbeat recorded.
	HeartbeatStamp time.Time

	// pods are the stored pods, taken under the lock and copied into Pods
	// after it (copyPods).
	pods []*corev1.Pod
}

// copyPods fills Pods with copies of the stored pods, sorted by key; the
// caller need not hold the lock, as stored pods are never changed.
func (v *View) copyPods() {
	v.Pods = make([]corev1.Pod, len(v.pods))
	for i, p := range v.pods {
		p.DeepCopyInto(&v.Pods[i])
	}
	v.pods = nil
	sort.Slice(v.Pods, func(i, j int) bool { return api.PodKey(&v.Pods[i]) < api.PodKey(&v.Pods[j]) })
}

// view copies the state but its pods (see copyPods); the caller holds the
// read lock.
func (st *state) view(withLog bool) View {
	v := View{Index: st.Index, LiveCommit: st.LiveCommit, SeenCommit: st.SeenCommit, Desired: st.Desired, HeartbeatStamp: st.HeartbeatStamp}
	for _, n := range st.Nodes {
		v.Nodes = append(v.Nodes, *n)
	}
	sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].Name < v.Nodes[j].Name })
	v.pods = make([]*corev1.Pod, 0, len(st.Pods))
	for _, p := range st.Pods {
		v.pods = append(v.pods, p)
	}
	v.Claims = make(map[string]string, len(st.Claims))
	for k, n := range st.Claims {
		v.Claims[k] = n
	}
	for _, k := range sortedKeys(st.Volumes) {
		v.Volumes = append(v.Volumes, *st.Volumes[k].DeepCopy())
	}
	for _, k := range sortedKeys(st.PVCs) {
		v.PVCs = append(v.PVCs, *st.PVCs[k].DeepCopy())
	}
	for _, k := range sortedKeys(st.Jobs) {
		v.Jobs = append(v.Jobs, *st.Jobs[k].DeepCopy())
	}
	for _, k := range sortedKeys(st.CronJobs) {
		v.CronJobs = append(v.CronJobs, *st.CronJobs[k].DeepCopy())
	}
	if withLog {
		v.Log = append([]api.LogEntry(nil), st.Log...)
	}
	if e := st.liveEntry(); e != nil {
		cp := *e
		v.LiveEntry = &cp
	}
	return v
}

// nodeVolumes are the volume records a node's agent needs: those bound
// to the claims of its pods, and its volumes being deleted; sorted by
// name. Records are replaced, never changed, so the caller may copy them
// after releasing the lock.
func (st *state) nodeVolumes(node string, pods []*corev1.Pod) []*corev1.PersistentVolume {
	if len(st.Volumes) == 0 {
		return nil
	}
	claims := map[string]bool{}
	for _, p := range pods {
		for _, c := range api.ClaimsOf(p) {
			claims[c] = true
		}
	}
	var out []*corev1.PersistentVolume
	for _, name := range sortedKeys(st.Volumes) {
		v := st.Volumes[name]
		if v.DeletionTimestamp != nil && api.VolumeNode(v) == node ||
			v.DeletionTimestamp == nil && v.Status.Phase == corev1.VolumeBound && claims[api.ClaimKey(v)] {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
