package master

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// TestIngressAddresses lists the Ready nodes that run the Ingress proxy
// as the Ingresses' addresses, and every Ready node as a LoadBalancer
// Service's (its ports are nftables rules on every node).
func TestIngressAddresses(t *testing.T) {
	node := func(ip string, ready corev1.ConditionStatus, proxy *corev1.ConditionStatus) corev1.Node {
		n := corev1.Node{Status: corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}},
		}}
		if proxy != nil {
			n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: api.NodeIngressPortsBound, Status: *proxy})
		}
		return n
	}
	yes, no := corev1.ConditionTrue, corev1.ConditionFalse
	nodes := []corev1.Node{
		node("10.0.0.1", yes, &yes), // serves
		node("10.0.0.2", yes, &no),  // serves, one port taken
		node("10.0.0.3", yes, nil),  // --ingress=false
		node("10.0.0.4", no, &yes),  // NotReady
	}
	var ing, lb []string
	for _, in := range ingressAddresses(nodes).Ingress {
		ing = append(ing, in.IP)
	}
	svc := corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	for _, in := range withLoadBalancers([]corev1.Service{svc}, nodes)[0].Status.LoadBalancer.Ingress {
		lb = append(lb, in.IP)
	}
	if want := []string{"10.0.0.1", "10.0.0.2"}; !slices.Equal(ing, want) {
		t.Errorf("Ingress addresses %v, want %v", ing, want)
	}
	if want := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}; !slices.Equal(lb, want) {
		t.Errorf("LoadBalancer addresses %v, want %v", lb, want)
	}
}
