package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// DefaultDomain is the cluster domain (the kubelet's --cluster-domain).
const DefaultDomain = "cluster.local"

// Server answers the cluster domain from the records of the last Update
// and forwards every other name to the upstream resolvers.
type Server struct {
	domain    string
	upstreams []string // "host:port"
	zone      atomic.Pointer[zone]
	client    *mdns.Client
}

// New makes a server of the cluster domain (DefaultDomain when empty)
// that forwards other names to upstreams ("host:port"; none: such names
// are refused).
func New(domain string, upstreams []string) *Server {
	if domain == "" {
		domain = DefaultDomain
	}
	s := &Server{domain: domain, upstreams: upstreams, client: &mdns.Client{Timeout: 2 * time.Second}}
	s.zone.Store(buildZone(domain, nil, nil))
	return s
}

// Update replaces the records with those of the Services and Endpoints.
func (s *Server) Update(services []corev1.Service, endpoints []corev1.Endpoints) {
	s.zone.Store(buildZone(s.domain, services, endpoints))
}

// ServeDNS answers one query (mdns.Handler).
func (s *Server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	w.WriteMsg(s.answer(r, w.RemoteAddr().Network()))
}

// answer makes the reply to a query that came over network ("udp" or
// "tcp"): from the zone, from an upstream, or an error.
func (s *Server) answer(r *mdns.Msg, network string) *mdns.Msg {
	m := new(mdns.Msg)
	if len(r.Question) != 1 || r.Opcode != mdns.OpcodeQuery {
		return m.SetRcode(r, mdns.RcodeNotImplemented)
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	z := s.zone.Load()
	if !z.authoritative(name) {
		return s.forward(r, network)
	}
	m.SetReply(r)
	m.Authoritative = true
	answer, exists := z.lookup(name, q.Qtype)
	m.Answer = append(answer, s.chase(z, answer, q, network)...)
	switch {
	case !exists:
		m.Rcode = mdns.RcodeNameError
		m.Ns = []mdns.RR{z.soa()}
	case len(answer) == 0:
		m.Ns = []mdns.RR{z.soa()}
	}
	if network == "udp" {
		m.Truncate(udpSize(r))
	}
	return m
}

// maxChase bounds a chain of CNAMEs the server follows.
const maxChase = 8

// chase follows the CNAME an answer ends with (an ExternalName Service),
// as a recursive server does for a stub resolver: to the target's records
// in the zone, or else from an upstream.
func (s *Server) chase(z *zone, answer []mdns.RR, q mdns.Question, network string) []mdns.RR {
	var out []mdns.RR
	for range maxChase {
		if len(answer) == 0 || q.Qtype == mdns.TypeCNAME {
			return out
		}
		cname, ok := answer[len(answer)-1].(*mdns.CNAME)
		if !ok {
			return out
		}
		target := strings.ToLower(cname.Target)
		if !z.authoritative(target) {
			r := new(mdns.Msg)
			r.SetQuestion(target, q.Qtype)
			if reply := s.forward(r, network); reply.Rcode == mdns.RcodeSuccess {
				out = append(out, reply.Answer...)
			}
			return out
		}
		answer, _ = z.lookup(target, q.Qtype)
		out = append(out, answer...)
	}
	return out
}

// udpSize is the largest UDP reply the client takes (EDNS0), at least 512.
func udpSize(r *mdns.Msg) int {
	if o := r.IsEdns0(); o != nil && o.UDPSize() > mdns.MinMsgSize {
		return int(o.UDPSize())
	}
	return mdns.MinMsgSize
}

// forward asks each upstream in turn and returns the first answer; with
// none answering, SERVFAIL (REFUSED without upstreams).
func (s *Server) forward(r *mdns.Msg, network string) *mdns.Msg {
	m := new(mdns.Msg)
	if len(s.upstreams) == 0 {
		return m.SetRcode(r, mdns.RcodeRefused)
	}
	c := *s.client
	c.Net = network
	for _, up := range s.upstreams {
		if reply, _, err := c.Exchange(r, up); err == nil {
			return reply
		}
	}
	return m.SetRcode(r, mdns.RcodeServerFailure)
}

// Serve answers on UDP and TCP at addr until ctx ends, and returns the
// addresses it listens on once both listen (for a port 0). The listeners
// are made with IP_FREEBIND, so addr may be an address the node does not
// have yet (a bridge made later). done is closed when both have stopped.
func (s *Server) Serve(ctx context.Context, addr string) (udp, tcp net.Addr, done <-chan struct{}, err error) {
	lc := net.ListenConfig{Control: freebind}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cluster DNS on %s/udp: %w", addr, err)
	}
	ln, err := lc.Listen(ctx, "tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return nil, nil, nil, fmt.Errorf("cluster DNS on %s/tcp: %w", addr, err)
	}
	servers := []*mdns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}}
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, srv := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = srv.ActivateAndServe() }()
	}
	stopped := make(chan struct{})
	go func() { // owned by Serve's caller through ctx and done
		<-ctx.Done()
		for _, srv := range servers {
			srv.ShutdownContext(context.Background())
		}
		wg.Wait()
		close(stopped)
	}()
	return pc.LocalAddr(), ln.Addr(), stopped, nil
}

// Upstreams reads the nameservers of a resolv.conf (the node's own, for
// names outside the cluster), as "host:port".
func Upstreams(path string) ([]string, error) {
	cfg, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the node's resolvers: %w", err)
	}
	var out []string
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	if len(out) == 0 {
		return nil, errors.New("reading the node's resolvers: " + path + " lists no nameserver")
	}
	return out, nil
}
