package reconciler

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// ReasonNodeNotReady is the reason of a pod's Ready condition when its
// node stopped sending heartbeats.
const ReasonNodeNotReady = "NodeNotReady"

// MarkPodsNotReady returns the pods as Kubernetes' node lifecycle
// controller leaves them: a pod bound to a node that is not Ready (no
// heartbeat for timeout) is not Ready either, whatever its agent last
// reported. The input is not changed; when every node is Ready the same
// slice is returned.
func MarkPodsNotReady(pods []corev1.Pod, nodes []api.Node, now time.Time, timeout time.Duration) []corev1.Pod {
	down := downNodes(nodes, now, timeout)
	if len(down) == 0 {
		return pods
	}
	out := make([]corev1.Pod, len(pods))
	copy(out, pods)
	for i := range out {
		p := &out[i]
		since, ok := down[p.Spec.NodeName]
		if !ok || !PodReady(p) {
			continue
		}
		p.Status = *p.Status.DeepCopy()
		for j := range p.Status.Conditions {
			if c := &p.Status.Conditions[j]; c.Type == corev1.PodReady {
				c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, ReasonNodeNotReady, metav1.NewTime(since)
			}
		}
	}
	return out
}

// downNodes maps each node that is not Ready to when it stopped being so.
func downNodes(nodes []api.Node, now time.Time, timeout time.Duration) map[string]time.Time {
	var down map[string]time.Time
	for i := range nodes {
		if n := &nodes[i]; !n.ReadyWithin(now, timeout) {
			if down == nil {
				down = map[string]time.Time{}
			}
			down[n.Name] = n.LastHeartbeat.Add(timeout)
		}
	}
	return down
}

// withNodeConditions is the input with its pods marked as MarkPodsNotReady
// does.
func (in Input) withNodeConditions(now time.Time) Input {
	in.Pods = MarkPodsNotReady(in.Pods, in.Nodes, now, in.nodeTimeout())
	return in
}
