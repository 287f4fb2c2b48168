package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

func table(services []corev1.Service, eps ...corev1.Endpoints) *api.ServiceTable {
	return &api.ServiceTable{Services: services, Endpoints: eps}
}

func service(name, ip string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func endpoints(name string, port corev1.EndpointPort, ips ...string) corev1.Endpoints {
	sub := corev1.EndpointSubset{Ports: []corev1.EndpointPort{port}}
	for _, ip := range ips {
		sub.Addresses = append(sub.Addresses, corev1.EndpointAddress{IP: ip})
	}
	return corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Subsets: []corev1.EndpointSubset{sub}}
}

func TestProxyRules(t *testing.T) {
	http := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http"), NodePort: 30080}
	dns := corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}
	tab := table([]corev1.Service{
		service("web", "10.96.0.10", http, dns),
		service("headless", "None", http),
		service("empty", "10.96.0.11", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}),
		service("lb", "10.96.0.12", corev1.ServicePort{Name: "http", Port: 8443, Protocol: corev1.ProtocolTCP, NodePort: 30443}),
	},
		// Two pods on one host share an address: one target.
		endpoints("web", corev1.EndpointPort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, "192.0.2.2", "192.0.2.3", "192.0.2.2"),
		endpoints("headless", corev1.EndpointPort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, "192.0.2.9"),
		endpoints("lb", corev1.EndpointPort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, "192.0.2.7"),
	)
	tab.Services[3].Spec.Type = corev1.ServiceTypeLoadBalancer
	tab.Endpoints[0].Subsets = append(tab.Endpoints[0].Subsets, corev1.EndpointSubset{
		Addresses: []corev1.EndpointAddress{{IP: "192.0.2.4"}}, Ports: []corev1.EndpointPort{{Name: "dns", Port: 5353, Protocol: corev1.ProtocolUDP}}})
	var got []string
	for _, r := range proxyRules(tab, "n1") {
		got = append(got, fmt.Sprintf("%s -> %s", r.match, strings.Join(r.targets, ", ")))
	}
	want := []string{
		"ip daddr 10.96.0.10 tcp dport 80 -> 192.0.2.2 . 8080, 192.0.2.3 . 8080",
		"fib daddr type local tcp dport 30080 -> 192.0.2.2 . 8080, 192.0.2.3 . 8080",
		"ip daddr 10.96.0.10 udp dport 53 -> 192.0.2.4 . 5353",
		"ip daddr 10.96.0.11 tcp dport 80 -> ",
		"ip daddr 10.96.0.12 tcp dport 8443 -> 192.0.2.7 . 8080",
		"fib daddr type local tcp dport 30443 -> 192.0.2.7 . 8080",
		"fib daddr type local tcp dport 8443 -> 192.0.2.7 . 8080",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	script := renderRuleset("berth_n1", "n1", tab, netip.Prefix{})
	wantLines(t, "script", script,
		"ip daddr 10.96.0.10 tcp dport 80 dnat ip addr . port to numgen random mod 2 map { 0 : 192.0.2.2 . 8080, 1 : 192.0.2.3 . 8080 }",
		"ip daddr 10.96.0.10 udp dport 53 dnat to 192.0.2.4:5353",
		"ip daddr 10.96.0.11 tcp dport 80 reject with tcp reset",
	)
	if proxyTable("node-1.example") != "berth_node_1_example" {
		t.Errorf("table name %q", proxyTable("node-1.example"))
	}
}

// TestProxyKeepsPodSources: with a pod network, a pod's connection to a
// cluster IP keeps its address; connections from outside the cluster
// CIDR, to node ports (marked), and from an endpoint to itself are
// masqueraded.
func TestProxyKeepsPodSources(t *testing.T) {
	http := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080}
	tab := table([]corev1.Service{service("web", "10.96.0.20", http)},
		endpoints("web", corev1.EndpointPort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, "10.244.1.3", "10.244.0.2"))
	script := renderRuleset("berth_n1", "n1", tab, netip.MustParsePrefix("10.244.0.0/16"))
	wantLines(t, "script", script,
		"fib daddr type local tcp dport 30080 meta mark set meta mark | 0x4000 dnat ip addr",
		"ct status dnat meta mark & 0x4000 == 0x4000 oifname != \"lo\" masquerade",
		"ct status dnat ip saddr != 10.244.0.0/16 meta mark & 0x8000 == 0 oifname != \"lo\" masquerade",
		"ct status dnat ip saddr . ip daddr { 10.244.0.2 . 10.244.0.2, 10.244.1.3 . 10.244.1.3 } masquerade",
	)
	if strings.Contains(script, "ct status dnat meta mark & 0x8000 == 0 oifname != \"lo\" masquerade") {
		t.Errorf("with a pod network, every DNATed connection is masqueraded:\n%s", script)
	}
}

// TestProxyRulesetOnNftables applies a table with the real nft command and
// connects through it: to a cluster IP with two endpoints, to a node port,
// and to a Service without endpoints, which must refuse at once.
func TestProxyRulesetOnNftables(t *testing.T) {
	p := twoLoopbackEndpoints(t)
	svcPort := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 31999}
	tab := table([]corev1.Service{service("web", "10.111.0.10", svcPort), service("empty", "10.111.0.11", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP})},
		endpoints("web", corev1.EndpointPort{Name: "http", Port: p, Protocol: corev1.ProtocolTCP}, "127.0.0.1", "127.0.0.2"))
	name := proxyTable(fmt.Sprintf("test-%d", os.Getpid()))
	ctx := context.Background()
	if err := applyRuleset(ctx, renderRuleset(name, "n1", tab, netip.Prefix{})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteRuleset(ctx, name) })

	seen := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		seen[get(t, "http://10.111.0.10/")] = true
	}
	if !seen["one"] || !seen["two"] {
		t.Errorf("the cluster IP reached %v; want both endpoints", seen)
	}
	if body := get(t, "http://127.0.0.1:31999/"); body != "one" && body != "two" {
		t.Errorf("node port answered %q", body)
	}
	start := time.Now()
	_, err := net.DialTimeout("tcp", "10.111.0.11:80", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a Service without endpoints: %v after %v; want connection refused", err, time.Since(start))
	}

	// An update replaces the table whole: web now has no endpoints.
	if err := applyRuleset(ctx, renderRuleset(name, "n1", table(tab.Services), netip.Prefix{})); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", "10.111.0.10:80", 5*time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("after the endpoints went: %v; want connection refused", err)
	}
}

// wantLines fails the test for each line that the script (what it is:
// "script", "policy table") lacks.
func wantLines(t *testing.T, what, script string, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if !strings.Contains(script, line) {
			t.Errorf("%s lacks %q:\n%s", what, line, script)
		}
	}
}

// twoLoopbackEndpoints skips the test without root and nft, and serves
// "one" at 127.0.0.1 and "two" at 127.0.0.2 on one port (the endpoints
// of one Service port share the target port), which it returns.
func twoLoopbackEndpoints(t *testing.T) int32 {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and nft (make test-deps installs nftables)")
	}
	_, port, _ := net.SplitHostPort(serveNameAt(t, "one", "127.0.0.1:0"))
	serveNameAt(t, "two", "127.0.0.2:"+port)
	var p int32
	fmt.Sscan(port, &p)
	return p
}

func serveNameAt(t *testing.T, name, addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// localEndpoints are endpoints of web on two nodes: 127.0.0.1 on n1 and
// 127.0.0.2 on n2, at port.
func localEndpoints(port int32) corev1.Endpoints {
	n1, n2 := "n1", "n2"
	return corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1", NodeName: &n1}, {IP: "127.0.0.2", NodeName: &n2}},
		Ports:     []corev1.EndpointPort{{Name: "http", Port: port, Protocol: corev1.ProtocolTCP}}}}}
}

// TestTrafficPolicies: internalTrafficPolicy Local sends the cluster IP
// to this node's endpoints only, externalTrafficPolicy Local the node
// port, which keeps the client's address (its mark exempts it from
// masquerade).
func TestTrafficPolicies(t *testing.T) {
	local := corev1.ServiceInternalTrafficPolicyLocal
	s := service("web", "10.96.0.20", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080})
	s.Spec.InternalTrafficPolicy = &local
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	rules := proxyRules(table([]corev1.Service{s}, localEndpoints(8080)), "n2")
	if len(rules) != 2 || strings.Join(rules[0].targets, ",") != "127.0.0.2 . 8080" || strings.Join(rules[1].targets, ",") != "127.0.0.2 . 8080" ||
		rules[1].mark != keepSourceMark {
		t.Errorf("rules on n2: %+v; want only n2's endpoint, and the node port keeping the source", rules)
	}
	if rules := proxyRules(table([]corev1.Service{s}, localEndpoints(8080)), "n3"); len(rules[0].targets)+len(rules[1].targets) != 0 {
		t.Errorf("rules on n3, which has no endpoint: %+v; want none (rejected)", rules)
	}
}

// TestSessionAffinityOnNftables: with sessionAffinity ClientIP, every
// connection of one client reaches the endpoint its first one did (the
// real nft, two endpoints on loopback addresses).
func TestSessionAffinityOnNftables(t *testing.T) {
	p := twoLoopbackEndpoints(t)
	s := service("web", "10.111.0.20", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP})
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	name := proxyTable(fmt.Sprintf("aff-%d", os.Getpid()))
	ctx := context.Background()
	if err := applyRuleset(ctx, renderRuleset(name, "n1", table([]corev1.Service{s}, localEndpoints(p)), netip.Prefix{})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteRuleset(ctx, name) })
	first := get(t, "http://10.111.0.20/")
	for range 20 {
		if got := get(t, "http://10.111.0.20/"); got != first {
			t.Fatalf("a client with affinity reached %q after %q", got, first)
		}
	}
}
