package raftstore

import (
	"sort"

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
}

func newState() *state {
	return &state{
		Desired:   &api.ObjectSet{},
		Nodes:     map[string]*api.Node{},
		Pods:      map[string]*corev1.Pod{},
		NodeIndex: map[string]uint64{},
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
}

// view copies the state; the caller holds the read lock.
func (st *state) view(withLog bool) View {
	v := View{Index: st.Index, LiveCommit: st.LiveCommit, SeenCommit: st.SeenCommit, Desired: st.Desired}
	for _, n := range st.Nodes {
		v.Nodes = append(v.Nodes, *n)
	}
	sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].Name < v.Nodes[j].Name })
	v.Pods = make([]corev1.Pod, 0, len(st.Pods))
	for _, p := range st.Pods {
		v.Pods = append(v.Pods, *p.DeepCopy())
	}
	sort.Slice(v.Pods, func(i, j int) bool { return api.PodKey(&v.Pods[i]) < api.PodKey(&v.Pods[j]) })
	if withLog {
		v.Log = append([]api.LogEntry(nil), st.Log...)
	}
	if e := st.liveEntry(); e != nil {
		cp := *e
		v.LiveEntry = &cp
	}
	return v
}
