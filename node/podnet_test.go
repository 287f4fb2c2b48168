package node

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHostsFile: a pod's /etc/hosts names localhost, the pod at its own
// address (with its FQDN when it has a subdomain), and its hostAliases.
func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "shop"},
		Spec: corev1.PodSpec{Hostname: "db-0", Subdomain: "db",
			HostAliases: []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"a.local", "b.local"}}}}}
	got := hostsFile(pod, "10.244.0.7")
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "10.244.0.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n",
		"# Entries added by HostAliases.\n10.1.2.3\ta.local\tb.local\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}}
	if got := hostsFile(plain, "10.244.0.8"); !strings.Contains(got, "10.244.0.8\tweb-1\n") || strings.Contains(got, "HostAliases") {
		t.Errorf("hosts file of a plain pod:\n%s", got)
	}
}
