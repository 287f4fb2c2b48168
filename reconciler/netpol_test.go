package reconciler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

func policyPod(ns, name, ip string, labels map[string]string, ports ...corev1.ContainerPort) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: ports}}},
		Status: corev1.PodStatus{PodIP: ip, Phase: corev1.PodRunning}}
}

// TestCompileNetworkPolicies resolves selectors, namespace selectors (by
// Git labels and kubernetes.io/metadata.name), ipBlocks and named ports.
func TestCompileNetworkPolicies(t *testing.T) {
	pods := []corev1.Pod{
		policyPod("shop", "db", "10.244.0.2", map[string]string{"app": "db"}, corev1.ContainerPort{Name: "pg", ContainerPort: 5432}),
		policyPod("shop", "web", "10.244.0.3", map[string]string{"app": "web"}),
		policyPod("ops", "probe", "10.244.1.2", map[string]string{"app": "probe"}),
		policyPod("shop", "gone", "", map[string]string{"app": "web"}),
	}
	tcp := corev1.ProtocolTCP
	pg, end := intstr.FromString("pg"), int32(9000)
	num := intstr.FromInt32(8000)
	np := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ops"}}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.0.0/16", Except: []string{"192.168.1.0/24"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &pg}},
		}},
		Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &num, EndPort: &end}}}},
	}}
	set := &api.ObjectSet{NetworkPolicies: []networkingv1.NetworkPolicy{np},
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "ops", Labels: map[string]string{"team": "ops"}}}}}
	got := CompileNetworkPolicies(set, pods)
	if len(got) != 1 {
		t.Fatalf("%d compiled policies", len(got))
	}
	p := got[0]
	if !p.Ingress || !p.Egress || len(p.Pods) != 1 || p.Pods[0] != "10.244.0.2" {
		t.Errorf("policy selects %v (ingress %v, egress %v); want db's address, both", p.Pods, p.Ingress, p.Egress)
	}
	from := p.From[0]
	wantPeers := []api.PolicyPeer{{CIDR: "10.244.0.3/32"}, {CIDR: "10.244.1.2/32"}, {CIDR: "192.168.0.0/16", Except: []string{"192.168.1.0/24"}}}
	if from.AllPeers || len(from.Peers) != 3 || from.Peers[0].CIDR != wantPeers[0].CIDR || from.Peers[1].CIDR != wantPeers[1].CIDR ||
		from.Peers[2].CIDR != wantPeers[2].CIDR || from.Peers[2].Except[0] != "192.168.1.0/24" {
		t.Errorf("ingress peers %+v; want %+v", from.Peers, wantPeers)
	}
	if len(from.Ports) != 1 || from.Ports[0] != (api.PolicyPort{Protocol: "TCP", Port: 5432, Pod: "10.244.0.2"}) {
		t.Errorf("ingress ports %+v; want pg resolved to 5432 on db", from.Ports)
	}
	to := p.To[0]
	if !to.AllPeers || len(to.Ports) != 1 || to.Ports[0] != (api.PolicyPort{Protocol: "TCP", Port: 8000, EndPort: 9000}) {
		t.Errorf("egress rule %+v; want any peer on 8000-9000", to)
	}
	// By its name label, a namespace is selected without labels in Git.
	np.Spec.Ingress[0].From = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "ops"}}}}
	set.NetworkPolicies[0], set.Namespaces = np, nil
	if from := CompileNetworkPolicies(set, pods)[0].From[0]; len(from.Peers) != 1 || from.Peers[0].CIDR != "10.244.1.2/32" {
		t.Errorf("peers by namespace name: %+v", from.Peers)
	}
}
