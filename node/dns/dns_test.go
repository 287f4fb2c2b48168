package dns

import (
	"context"
	"net"
	"os"
	"sort"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func service(name, clusterIP string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: clusterIP, Ports: ports}}
}

func address(ip, hostname string) corev1.EndpointAddress {
	return corev1.EndpointAddress{IP: ip, Hostname: hostname}
}

// cluster is a Service web (cluster IP, a named port), a headless db of
// a StatefulSet (two ready pods with hostnames, one not ready), and an
// ExternalName ext, and ExternalNames out (to a name an upstream knows)
// and alias (to web, in the zone).
func cluster(publishNotReady bool) ([]corev1.Service, []corev1.Endpoints) {
	web := service("web", "10.96.0.20", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP})
	db := service("db", corev1.ClusterIPNone, corev1.ServicePort{Name: "mongo", Port: 27017, Protocol: corev1.ProtocolTCP})
	db.Spec.PublishNotReadyAddresses = publishNotReady
	ext := service("ext", "")
	ext.Spec.Type, ext.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.org"
	out, alias := service("out", ""), service("alias", "")
	out.Spec.Type, out.Spec.ExternalName = corev1.ServiceTypeExternalName, "outside.test"
	alias.Spec.Type, alias.Spec.ExternalName = corev1.ServiceTypeExternalName, "web.default.svc.cluster.local"
	eps := []corev1.Endpoints{{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{address("10.244.0.5", "db-0"), address("10.244.0.6", "db-1")},
		NotReadyAddresses: []corev1.EndpointAddress{address("10.244.0.7", "db-2")},
		Ports:             []corev1.EndpointPort{{Name: "mongo", Port: 27017, Protocol: corev1.ProtocolTCP}},
	}}}}
	return []corev1.Service{web, db, ext, out, alias}, eps
}

// upstream runs a DNS server on loopback (UDP and TCP) that knows
// outside.test., as the node's resolver would.
func upstream(t *testing.T) string {
	t.Helper()
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		if strings.EqualFold(r.Question[0].Name, "outside.test.") {
			rr, _ := mdns.NewRR("outside.test. 60 IN A 192.0.2.1")
			m.Answer = []mdns.RR{rr}
		} else {
			m.Rcode = mdns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		done := make(chan struct{})
		go func() { defer close(done); srv.ActivateAndServe() }()
		t.Cleanup(func() { srv.Shutdown(); <-done })
	}
	return pc.LocalAddr().String()
}

// serve starts a cluster DNS server on loopback and returns its UDP and
// TCP addresses.
func serve(t *testing.T, s *Server) (udp, tcp string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u, tc, done, err := s.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return u.String(), tc.String()
}

func ask(t *testing.T, addr, network, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := (&mdns.Client{Net: network}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, mdns.TypeToString[qtype], err)
	}
	return r
}

// values are the answer's records' data, sorted ("10.96.0.20", "0 100 80
// web.default.svc.cluster.local.").
func values(r *mdns.Msg) string {
	var out []string
	for _, rr := range r.Answer {
		f := strings.Fields(rr.String())
		out = append(out, strings.Join(f[4:], " "))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestClusterRecords queries each record kind of the specification over
// UDP and TCP, and a name outside the cluster, forwarded.
func TestClusterRecords(t *testing.T) {
	s := New("", []string{upstream(t)})
	s.Update(cluster(false))
	udp, tcp := serve(t, s)
	for _, c := range []struct {
		name  string
		qtype uint16
		rcode int
		want  string
	}{
		{"web.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "10.96.0.20"},
		{"WEB.Default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "10.96.0.20"},
		{"_http._tcp.web.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess, "0 100 80 web.default.svc.cluster.local."},
		{"20.0.96.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, "web.default.svc.cluster.local."},
		{"db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "10.244.0.5, 10.244.0.6"},
		{"db-0.db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "10.244.0.5"},
		{"_mongo._tcp.db.default.svc.cluster.local.", mdns.TypeSRV, mdns.RcodeSuccess,
			"0 100 27017 db-0.db.default.svc.cluster.local., 0 100 27017 db-1.db.default.svc.cluster.local."},
		{"6.0.244.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, "db-1.db.default.svc.cluster.local."},
		{"db-2.db.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeNameError, ""},
		{"ext.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "db.example.org."},
		{"out.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "192.0.2.1, outside.test."},
		{"alias.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, "10.96.0.20, web.default.svc.cluster.local."},
		{"alias.default.svc.cluster.local.", mdns.TypeCNAME, mdns.RcodeSuccess, "web.default.svc.cluster.local."},
		{"dns-version.cluster.local.", mdns.TypeTXT, mdns.RcodeSuccess, `"1.1.0"`},
		{"web.default.svc.cluster.local.", mdns.TypeAAAA, mdns.RcodeSuccess, ""},
		{"svc.cluster.local.", mdns.TypeA, mdns.RcodeSuccess, ""},
		{"nothere.default.svc.cluster.local.", mdns.TypeA, mdns.RcodeNameError, ""},
		{"outside.test.", mdns.TypeA, mdns.RcodeSuccess, "192.0.2.1"},
	} {
		for _, network := range []string{"udp", "tcp"} {
			addr := udp
			if network == "tcp" {
				addr = tcp
			}
			r := ask(t, addr, network, c.name, c.qtype)
			if r.Rcode != c.rcode || values(r) != c.want {
				t.Errorf("%s %s over %s: %s [%s]; want %s [%s]", c.name, mdns.TypeToString[c.qtype], network,
					mdns.RcodeToString[r.Rcode], values(r), mdns.RcodeToString[c.rcode], c.want)
			}
			if inZone := strings.HasSuffix(strings.ToLower(c.name), "cluster.local.") || strings.HasSuffix(c.name, ".arpa."); inZone && !r.Authoritative {
				t.Errorf("%s: not authoritative", c.name)
			}
			if c.rcode == mdns.RcodeNameError && (len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != mdns.TypeSOA) {
				t.Errorf("%s: NXDOMAIN without the zone's SOA: %v", c.name, r.Ns)
			}
		}
	}
}

// TestNotReadyAddressesArePublishedWhenAsked: a headless Service with
// publishNotReadyAddresses names its pods that are not ready too.
func TestNotReadyAddressesArePublishedWhenAsked(t *testing.T) {
	s := New("", nil)
	s.Update(cluster(true))
	udp, _ := serve(t, s)
	if r := ask(t, udp, "udp", "db.default.svc.cluster.local.", mdns.TypeA); values(r) != "10.244.0.5, 10.244.0.6, 10.244.0.7" {
		t.Errorf("db: %s", values(r))
	}
	if r := ask(t, udp, "udp", "outside.test.", mdns.TypeA); r.Rcode != mdns.RcodeRefused {
		t.Errorf("a name outside the cluster without upstreams: %s", mdns.RcodeToString[r.Rcode])
	}
}

// TestUpstreamsFromResolvConf reads the node's nameservers.
func TestUpstreamsFromResolvConf(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	if err := os.WriteFile(path, []byte("search example.org\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions ndots:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ups, err := Upstreams(path)
	if err != nil || strings.Join(ups, " ") != "192.0.2.53:53 192.0.2.54:53" {
		t.Errorf("upstreams %v, %v", ups, err)
	}
	if err := os.WriteFile(path, []byte("search example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Upstreams(path); err == nil || !strings.Contains(err.Error(), "lists no nameserver") {
		t.Errorf("a resolv.conf without nameservers: %v", err)
	}
}
