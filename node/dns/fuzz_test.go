package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzAnswer feeds arbitrary packets to the server as queries: whatever
// a pod sends, the server answers (or drops what does not parse) without
// panicking, and its answer packs into a message.
func FuzzAnswer(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"web.default.svc.cluster.local.", mdns.TypeA}, {"_mongo._tcp.db.default.svc.cluster.local.", mdns.TypeSRV},
		{"6.0.244.10.in-addr.arpa.", mdns.TypePTR}, {"svc.cluster.local.", mdns.TypeANY}} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(4096, false)
		data, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	s := New("", nil)
	s.Update(cluster(true))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := new(mdns.Msg)
		if r.Unpack(data) != nil {
			return // miekg/dns drops what does not parse
		}
		for _, network := range []string{"udp", "tcp"} {
			if _, err := s.answer(r, network).Pack(); err != nil {
				t.Fatalf("the answer over %s does not pack: %v", network, err)
			}
		}
	})
}
