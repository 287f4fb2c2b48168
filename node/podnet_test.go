package node

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// TestHostsFile: a pod's /etc/hosts names localhost, the pod at its own
// address (with its FQDN when it has a subdomain), and its hostAliases.
func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "shop"},
		Spec: corev1.PodSpec{Hostname: "db-0", Subdomain: "db",
			HostAliases: []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"a.local", "b.local"}}}}}
	got := hostsFile(pod, "10.244.0.7", "cluster.local")
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "10.244.0.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n",
		"# Entries added by HostAliases.\n10.1.2.3\ta.local\tb.local\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}}
	if got := hostsFile(plain, "10.244.0.8", "cluster.local"); !strings.Contains(got, "10.244.0.8\tweb-1\n") || strings.Contains(got, "HostAliases") {
		t.Errorf("hosts file of a plain pod:\n%s", got)
	}
}

// TestPodDNS plays the kubelet's dnsPolicy and dnsConfig rules.
func TestPodDNS(t *testing.T) {
	node := parseResolvConf([]byte("# the node's\nsearch corp.example\nnameserver 192.0.2.53\noptions edns0 ndots:1\n"))
	two := "2"
	cases := []struct {
		name string
		spec corev1.PodSpec
		dns  bool
		want string
	}{
		{"ClusterFirst by default", corev1.PodSpec{}, true,
			"search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"no cluster DNS on the node", corev1.PodSpec{}, false, "search corp.example\nnameserver 192.0.2.53\noptions edns0 ndots:1\n"},
		{"hostNetwork falls back to Default", corev1.PodSpec{HostNetwork: true}, true, "search corp.example\nnameserver 192.0.2.53\noptions edns0 ndots:1\n"},
		{"ClusterFirstWithHostNet", corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirstWithHostNet}, true,
			"search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"None with dnsConfig", corev1.PodSpec{DNSPolicy: corev1.DNSNone, DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"10.96.0.10"}, Searches: []string{"svc.cluster.local"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "edns0"}}}}, true,
			"search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:2 edns0\n"},
		{"dnsConfig adds to ClusterFirst and overrides ndots", corev1.PodSpec{DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"192.0.2.99"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}}}}, true,
			"search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\nnameserver 192.0.2.99\noptions ndots:2\n"},
	}
	for _, c := range cases {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"}, Spec: c.spec}
		var svc *api.ServiceNetwork
		if c.dns {
			d := api.DefaultServiceNetwork()
			svc = &d
		}
		if got := podDNS(pod, node, svc).String(); got != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, got, c.want)
		}
	}
	own := api.ServiceNetwork{DNS: netip.MustParseAddr("10.100.0.53"), Domain: "berth.test"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"}}
	if got, want := podDNS(pod, node, &own).String(), "search shop.svc.berth.test svc.berth.test berth.test corp.example\nnameserver 10.100.0.53\noptions ndots:5\n"; got != want {
		t.Errorf("a cluster of its own DNS address and domain:\n%s\nwant:\n%s", got, want)
	}
}

func TestHostPortRules(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Ports: []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 18080, Protocol: corev1.ProtocolTCP}, {ContainerPort: 9090}}},
		{Ports: []corev1.ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP, HostIP: "10.0.0.5"}}},
	}}}
	got := strings.Join(hostPortRules(pod, "10.244.0.9"), "\n")
	want := "fib daddr type local tcp dport 18080 dnat to 10.244.0.9:8080\nip daddr 10.0.0.5 udp dport 5353 dnat to 10.244.0.9:53"
	if got != want {
		t.Errorf("rules:\n%s\nwant:\n%s", got, want)
	}
}
