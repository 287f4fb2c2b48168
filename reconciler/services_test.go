package reconciler

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

func svc(name string, typ corev1.ServiceType, clusterIP string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: typ, ClusterIP: clusterIP, Selector: map[string]string{"app": name}, Ports: ports}}
}

func tcp(name string, port int32, target intstr.IntOrString) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: target}
}

func TestAssignServiceAddressesKeepsWhatWasGiven(t *testing.T) {
	next := &api.ObjectSet{Services: []corev1.Service{
		svc("web", corev1.ServiceTypeNodePort, "", tcp("http", 80, intstr.FromInt32(8080))),
		svc("db", corev1.ServiceTypeClusterIP, "None"),
	}}
	if errs := AssignServiceAddresses(nil, next, api.ServiceNetwork{}); len(errs) != 0 {
		t.Fatal(errs)
	}
	web := next.Services[0]
	ip, err := netip.ParseAddr(web.Spec.ClusterIP)
	if err != nil || !api.ServiceCIDR.Contains(ip) || len(web.Spec.ClusterIPs) != 1 || web.Spec.ClusterIPs[0] != web.Spec.ClusterIP {
		t.Fatalf("cluster IP %q %v", web.Spec.ClusterIP, web.Spec.ClusterIPs)
	}
	if np := web.Spec.Ports[0].NodePort; np < api.NodePortMin || np > api.NodePortMax {
		t.Fatalf("node port %d", np)
	}
	if db := next.Services[1]; db.Spec.ClusterIP != "None" {
		t.Fatalf("headless service got %q", db.Spec.ClusterIP)
	}

	// The next commit adds a port and a Service that takes web's address
	// explicitly: web moves, but its node port stays.
	again := &api.ObjectSet{Services: []corev1.Service{
		svc("web", corev1.ServiceTypeNodePort, "", tcp("http", 80, intstr.FromInt32(8080)), tcp("admin", 81, intstr.FromInt32(9090))),
		svc("api", corev1.ServiceTypeClusterIP, web.Spec.ClusterIP, tcp("", 80, intstr.FromInt32(80))),
	}}
	if errs := AssignServiceAddresses(next, again, api.ServiceNetwork{}); len(errs) != 0 {
		t.Fatal(errs)
	}
	w2 := again.Services[0]
	if w2.Spec.ClusterIP == web.Spec.ClusterIP || w2.Spec.ClusterIP == "" {
		t.Errorf("web kept %s although api claims it", w2.Spec.ClusterIP)
	}
	if w2.Spec.Ports[0].NodePort != web.Spec.Ports[0].NodePort || w2.Spec.Ports[1].NodePort == 0 || w2.Spec.Ports[1].NodePort == w2.Spec.Ports[0].NodePort {
		t.Errorf("node ports %+v, before %d", w2.Spec.Ports, web.Spec.Ports[0].NodePort)
	}

	// Unchanged manifests keep their addresses.
	third := &api.ObjectSet{Services: []corev1.Service{svc("web", corev1.ServiceTypeNodePort, "", tcp("http", 80, intstr.FromInt32(8080)), tcp("admin", 81, intstr.FromInt32(9090)))}}
	AssignServiceAddresses(again, third, api.ServiceNetwork{})
	if third.Services[0].Spec.ClusterIP != w2.Spec.ClusterIP || third.Services[0].Spec.Ports[1].NodePort != w2.Spec.Ports[1].NodePort {
		t.Errorf("addresses moved: %+v, before %+v", third.Services[0].Spec, w2.Spec)
	}
}

func TestFreeAddressesProbePastUsedOnes(t *testing.T) {
	first, _ := freeClusterIP("default/web", map[string]bool{}, api.DefaultServiceNetwork())
	second, ok := freeClusterIP("default/web", map[string]bool{first: true}, api.DefaultServiceNetwork())
	if !ok || second == first {
		t.Fatalf("probe gave %s after %s", second, first)
	}
	used := map[string]bool{}
	for p := api.NodePortMin; p <= api.NodePortMax; p++ {
		used[nodePortKey(int32(p), corev1.ProtocolTCP)] = true
	}
	if _, ok := freeNodePort("x", corev1.ProtocolTCP, used); ok {
		t.Error("a node port was found in a full range")
	}
	if _, ok := freeNodePort("x", corev1.ProtocolUDP, used); !ok {
		t.Error("UDP node ports are not taken by TCP ones")
	}
	next := &api.ObjectSet{Services: []corev1.Service{svc("web", corev1.ServiceTypeNodePort, "", tcp("", 80, intstr.FromInt32(80)))}}
	for p := api.NodePortMin; p <= api.NodePortMax; p++ {
		s := svc("x", corev1.ServiceTypeNodePort, "", tcp("", 80, intstr.FromInt32(80)))
		s.Name = fmt.Sprintf("x%d", p)
		s.Spec.Ports[0].NodePort = int32(p)
		next.Services = append(next.Services, s)
	}
	errs := AssignServiceAddresses(nil, next, api.ServiceNetwork{})
	if len(errs) != 1 || errs[0] != "Service/default/web: spec.ports[0].nodePort: no free node port in 30000-32767" {
		t.Errorf("errors %v", errs)
	}
}

func endpointPod(name, ip string, phase corev1.PodPhase, ready bool, labels map[string]string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: phase, PodIP: ip}}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

func TestServiceEndpoints(t *testing.T) {
	web := map[string]string{"app": "web"}
	deleting := endpointPod("gone", "10.0.0.9", corev1.PodRunning, true, web)
	deleting.DeletionTimestamp = &metav1.Time{}
	other := endpointPod("other-ns", "10.0.0.8", corev1.PodRunning, true, web)
	other.Namespace = "shop"
	noPort := endpointPod("no-port", "10.0.0.7", corev1.PodRunning, true, web)
	noPort.Spec.Containers[0].Ports = nil
	pods := []corev1.Pod{
		endpointPod("b", "10.0.0.2", corev1.PodRunning, true, web),
		endpointPod("a", "10.0.0.1", corev1.PodRunning, true, web),
		endpointPod("starting", "10.0.0.3", corev1.PodPending, false, web),
		endpointPod("unready", "10.0.0.4", corev1.PodRunning, false, web),
		endpointPod("done", "10.0.0.5", corev1.PodSucceeded, false, web),
		endpointPod("pending", "", corev1.PodPending, false, web),
		endpointPod("api", "10.0.0.6", corev1.PodRunning, true, map[string]string{"app": "api"}),
		deleting, other, noPort,
	}
	set := &api.ObjectSet{
		Services: []corev1.Service{
			svc("web", corev1.ServiceTypeClusterIP, "", tcp("http", 80, intstr.FromString("http")), tcp("raw", 81, intstr.FromInt32(9000))),
			{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{tcp("", 5432, intstr.FromInt32(5432))}}},
		},
		Endpoints: []corev1.Endpoints{{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.168.1.5"}}, Ports: []corev1.EndpointPort{{Port: 5432}}}}}},
	}
	eps := ServiceEndpoints(set, pods)
	if len(eps) != 2 || eps[0].Name != "web" || eps[1].Name != "db" || eps[1].Subsets[0].Addresses[0].IP != "192.168.1.5" {
		t.Fatalf("endpoints %+v", eps)
	}
	subs := eps[0].Subsets
	if len(subs) != 2 {
		t.Fatalf("want a subset with both ports and one with the raw port only, got %+v", subs)
	}
	full, raw := subs[0], subs[1]
	if len(full.Ports) == 1 {
		full, raw = raw, full
	}
	if got := addressNames(full.Addresses); got != "a,b" {
		t.Errorf("ready addresses %s", got)
	}
	if got := addressNames(full.NotReadyAddresses); got != "starting,unready" {
		t.Errorf("not ready addresses %s", got)
	}
	if len(full.Ports) != 2 || full.Ports[0].Port != 8080 || full.Ports[1].Port != 9000 {
		t.Errorf("ports %+v", full.Ports)
	}
	if addressNames(raw.Addresses) != "no-port" || len(raw.Ports) != 1 || raw.Ports[0].Name != "raw" {
		t.Errorf("subset of the pod without the named port: %+v", raw)
	}

	dead := []api.Node{{Name: "n1", LastHeartbeat: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if down := ServiceEndpoints(set, MarkPodsNotReady(pods, dead, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 10*time.Second))[0].Subsets; len(down[0].Addresses)+len(down[1].Addresses) != 0 {
		t.Errorf("pods of a down node are ready endpoints: %+v", down)
	}
	set.Services[0].Spec.PublishNotReadyAddresses = true
	pub := ServiceEndpoints(set, pods)[0].Subsets
	for _, s := range pub {
		if len(s.NotReadyAddresses) != 0 {
			t.Errorf("publishNotReadyAddresses left %d not ready", len(s.NotReadyAddresses))
		}
	}
}

func addressNames(as []corev1.EndpointAddress) string {
	var s string
	for i, a := range as {
		if i > 0 {
			s += ","
		}
		s += a.TargetRef.Name
	}
	return s
}

// TestClusterDNSAddressIsNeverGiven: a Service whose name hashes to the
// cluster DNS address gets the next one.
func TestClusterDNSAddressIsNeverGiven(t *testing.T) {
	size := uint32(1) << (32 - api.ServiceCIDR.Bits())
	for i := 0; i < 1<<24; i++ {
		key := fmt.Sprintf("default/svc-%d", i)
		if hash32(key)%size != 10 {
			continue
		}
		if ip, ok := freeClusterIP(key, map[string]bool{}, api.DefaultServiceNetwork()); !ok || ip != "10.96.0.11" {
			t.Fatalf("%s, whose hash points at %s, got %s", key, api.ClusterDNS, ip)
		}
		return
	}
	t.Fatal("no key hashes to the cluster DNS address")
}

// TestStatefulSetPodsHaveDNSNames: a StatefulSet's pods get their names
// as hostnames and its serviceName as subdomain, and the endpoints of
// that headless Service carry the hostnames (db-0.db in DNS).
func TestStatefulSetPodsHaveDNSNames(t *testing.T) {
	set := statefulSet(2, "a", appsv1.ParallelPodManagement)
	set.Spec.ServiceName = "db"
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"},
			Ports: []corev1.ServicePort{{Name: "mongo", Port: 27017, TargetPort: intstr.FromInt32(27017), Protocol: corev1.ProtocolTCP}}}}
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{set}, Services: []corev1.Service{svc}}})
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "db" {
			t.Errorf("pod %s: hostname %q, subdomain %q", p.Name, p.Spec.Hostname, p.Spec.Subdomain)
		}
		p.Status.PodIP = fmt.Sprintf("10.244.0.%d", i+2)
	}
	eps := ServiceEndpoints(in.Desired, in.Pods)
	var names []string
	for _, sub := range eps[0].Subsets {
		for _, a := range sub.Addresses {
			names = append(names, a.Hostname)
		}
	}
	if fmt.Sprint(names) != "[db-0 db-1]" {
		t.Errorf("endpoint hostnames %v; want [db-0 db-1]", names)
	}
}

// TestClusterIPsFollowTheServiceNetwork: with a service network of its
// own, a new Service's cluster IP comes from its range, and a Service
// whose earlier address is outside it (the range changed) or is the
// cluster DNS address gets a new one.
func TestClusterIPsFollowTheServiceNetwork(t *testing.T) {
	net := api.ServiceNetwork{CIDR: netip.MustParsePrefix("10.100.0.0/24"), DNS: netip.MustParseAddr("10.100.0.10"), Domain: "berth.test"}
	prev := &api.ObjectSet{Services: []corev1.Service{
		svc("old", corev1.ServiceTypeClusterIP, "10.96.0.20", tcp("", 80, intstr.FromInt32(80))),
		svc("dns", corev1.ServiceTypeClusterIP, "10.100.0.10", tcp("", 80, intstr.FromInt32(80))),
	}}
	next := &api.ObjectSet{Services: []corev1.Service{
		svc("old", corev1.ServiceTypeClusterIP, "", tcp("", 80, intstr.FromInt32(80))),
		svc("dns", corev1.ServiceTypeClusterIP, "", tcp("", 80, intstr.FromInt32(80))),
		svc("new", corev1.ServiceTypeClusterIP, "", tcp("", 80, intstr.FromInt32(80))),
	}}
	if errs := AssignServiceAddresses(prev, next, net); len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, s := range next.Services {
		ip, err := netip.ParseAddr(s.Spec.ClusterIP)
		if err != nil || !net.CIDR.Contains(ip) || ip == net.DNS {
			t.Errorf("Service %s got %q; want an address of %s other than %s", s.Name, s.Spec.ClusterIP, net.CIDR, net.DNS)
		}
	}
}
