package api

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A Node's InternalIP is its agent's host, the agent's port is its
// daemon endpoint, and its Ready condition says since when.
func TestNodeToKube(t *testing.T) {
	registered := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	n := Node{Name: "n1", Address: "10.0.0.7:10250", RegisteredAt: registered, LastHeartbeat: registered.Add(time.Hour)}
	k := n.ToKube(registered.Add(time.Hour+time.Second), 40*time.Second)
	want := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.7"}, {Type: corev1.NodeHostName, Address: "n1"}}
	if len(k.Status.Addresses) != 2 || k.Status.Addresses[0] != want[0] || k.Status.Addresses[1] != want[1] {
		t.Errorf("addresses %v, want %v", k.Status.Addresses, want)
	}
	if port := k.Status.DaemonEndpoints.KubeletEndpoint.Port; port != 10250 {
		t.Errorf("daemon endpoint port %d, want 10250", port)
	}
	c := k.Status.Conditions[0]
	if c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(registered) {
		t.Errorf("a node heard from is Ready since it registered: %s since %v", c.Status, c.LastTransitionTime)
	}

	// Its heartbeats stop: NotReady since the timeout ran out.
	k = n.ToKube(registered.Add(2*time.Hour), 40*time.Second)
	c = k.Status.Conditions[0]
	if c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(n.LastHeartbeat.Add(40*time.Second)) {
		t.Errorf("a silent node: %s since %v, want False since %v", c.Status, c.LastTransitionTime, n.LastHeartbeat.Add(40*time.Second))
	}
}
