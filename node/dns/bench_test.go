package dns

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/benchrow"
)

// BenchmarkClusterDNS is B8: the queries per second one node's DNS
// server answers over UDP, and their p99 latency, from a load generator
// on the node (4 clients, each one query at a time, names of a zone of
// 1,000 Services).
func BenchmarkClusterDNS(b *testing.B) {
	var svcs []corev1.Service
	for i := range 1000 {
		svcs = append(svcs, corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: "default"},
			Spec: corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}})
	}
	s := New("", nil)
	s.Update(svcs, nil)
	ctx, cancel := context.WithCancel(context.Background())
	addr, _, done, err := s.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	const clients, perClient = 4, 5000
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := query(b, addr, c, perClient)
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	took := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	qps := float64(len(lat)) / took.Seconds()
	p99 := lat[len(lat)*99/100]
	benchrow.Record(b, benchrow.Row{ID: "B8", Name: "cluster DNS queries answered per second by one node", Value: qps, Unit: "queries/s",
		Better: "higher", Work: fmt.Sprintf("%d clients on the node, one query at a time each, %d queries, 1,000 Services; p50 %v, p99 %v",
			clients, len(lat), lat[len(lat)/2].Round(time.Microsecond), p99.Round(time.Microsecond))})
	b.ReportMetric(qps, "queries/s")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

// query sends n A queries for the Services' names over one UDP socket and
// returns their latencies.
func query(b *testing.B, addr net.Addr, client, n int) []time.Duration {
	conn, err := mdns.Dial("udp", addr.String())
	if err != nil {
		b.Error(err)
		return nil
	}
	defer conn.Close()
	out := make([]time.Duration, 0, n)
	m := new(mdns.Msg)
	for i := range n {
		m.SetQuestion(fmt.Sprintf("svc-%d.default.svc.cluster.local.", (i*7+client)%1000), mdns.TypeA)
		start := time.Now()
		if err := conn.WriteMsg(m); err != nil {
			b.Error(err)
			return out
		}
		r, err := conn.ReadMsg()
		if err != nil || len(r.Answer) != 1 {
			b.Errorf("query %d: %v %v", i, err, r)
			return out
		}
		out = append(out, time.Since(start))
	}
	return out
}
