// Package dns is a node's cluster DNS server, as the Kubernetes DNS
// specification (kubernetes/dns docs/specification.md, schema 1.1.0)
// defines it: the records of the cluster's Services and their endpoints,
// answered from the agent's view of the cluster with github.com/miekg/dns,
// and every other name forwarded to the node's own resolvers.
package dns

import (
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// SchemaVersion is the version of the specification the records follow,
// answered at dns-version.ZONE (TXT).
const SchemaVersion = "1.1.0"

// ttl is the records' time to live, CoreDNS's default for the cluster zone.
const ttl = 5

// zone holds the records of the cluster domain, by lower-case name.
type zone struct {
	domain string // "cluster.local."
	names  map[string][]mdns.RR
	// above are the names that have names of the zone below them (empty
	// non-terminals such as svc.cluster.local.: NODATA, not NXDOMAIN).
	above map[string]bool
}

// buildZone makes the records of the Services and their Endpoints.
func buildZone(domain string, services []corev1.Service, endpoints []corev1.Endpoints) *zone {
	z := &zone{domain: mdns.Fqdn(strings.ToLower(domain)), names: map[string][]mdns.RR{}, above: map[string]bool{}}
	z.add(&mdns.TXT{Hdr: z.hdr("dns-version."+z.domain, mdns.TypeTXT), Txt: []string{SchemaVersion}})
	eps := map[string]*corev1.Endpoints{}
	for i := range endpoints {
		eps[endpoints[i].Namespace+"/"+endpoints[i].Name] = &endpoints[i]
	}
	for i := range services {
		s := &services[i]
		name := s.Name + "." + s.Namespace + ".svc." + z.domain
		switch {
		case s.Spec.Type == corev1.ServiceTypeExternalName:
			z.add(&mdns.CNAME{Hdr: z.hdr(name, mdns.TypeCNAME), Target: mdns.Fqdn(s.Spec.ExternalName)})
		case s.Spec.ClusterIP == corev1.ClusterIPNone:
			z.headless(s, name, eps[s.Namespace+"/"+s.Name])
		case s.Spec.ClusterIP != "":
			z.clusterIP(s, name)
		}
	}
	return z
}

// clusterIP adds a Service's address, its SRV records and the PTR.
func (z *zone) clusterIP(s *corev1.Service, name string) {
	ip, err := netip.ParseAddr(s.Spec.ClusterIP)
	if err != nil {
		return
	}
	z.addAddr(name, ip)
	for _, p := range s.Spec.Ports {
		z.srv(p.Name, string(p.Protocol), name, uint16(p.Port), name)
	}
	z.ptr(ip, name)
}

// headless adds a record of each endpoint address (ready ones; the
// Service's publishNotReadyAddresses adds the others), a name for each
// endpoint (its hostname, or its address with dashes), SRV records of the
// named ports on those names, and PTRs of the endpoints with hostnames.
func (z *zone) headless(s *corev1.Service, name string, e *corev1.Endpoints) {
	if e == nil {
		return
	}
	for _, sub := range e.Subsets {
		addrs := sub.Addresses
		if s.Spec.PublishNotReadyAddresses {
			addrs = append(addrs[:len(addrs):len(addrs)], sub.NotReadyAddresses...)
		}
		for _, a := range addrs {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				continue
			}
			z.addAddr(name, ip)
			host := a.Hostname
			if host == "" {
				host = strings.NewReplacer(".", "-", ":", "-").Replace(ip.String())
			}
			target := host + "." + name
			z.addAddr(target, ip)
			for _, p := range sub.Ports {
				z.srv(p.Name, string(p.Protocol), name, uint16(p.Port), target)
			}
			if a.Hostname != "" {
				z.ptr(ip, target)
			}
		}
	}
}

// srv adds _port._proto.service's SRV record to target, for a named port.
func (z *zone) srv(port, proto, service string, number uint16, target string) {
	if port == "" {
		return
	}
	if proto == "" {
		proto = "TCP"
	}
	name := "_" + strings.ToLower(port) + "._" + strings.ToLower(proto) + "." + service
	z.add(&mdns.SRV{Hdr: z.hdr(name, mdns.TypeSRV), Priority: 0, Weight: 100, Port: number, Target: target})
}

func (z *zone) addAddr(name string, ip netip.Addr) {
	if ip.Is4() {
		z.add(&mdns.A{Hdr: z.hdr(name, mdns.TypeA), A: ip.AsSlice()})
	} else {
		z.add(&mdns.AAAA{Hdr: z.hdr(name, mdns.TypeAAAA), AAAA: ip.AsSlice()})
	}
}

func (z *zone) ptr(ip netip.Addr, target string) {
	rev, err := mdns.ReverseAddr(ip.String())
	if err == nil {
		z.add(&mdns.PTR{Hdr: z.hdr(rev, mdns.TypePTR), Ptr: target})
	}
}

func (z *zone) hdr(name string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: strings.ToLower(name), Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
}

// add keeps a record once (a pod behind two ports of one subset is one
// address).
func (z *zone) add(rr mdns.RR) {
	name := rr.Header().Name
	for _, have := range z.names[name] {
		if mdns.IsDuplicate(have, rr) {
			return
		}
	}
	z.names[name] = append(z.names[name], rr)
	for i, end := 0, false; !end; {
		i, end = mdns.NextLabel(name, i)
		if !end {
			z.above[name[i:]] = true
		}
	}
}

// authoritative reports whether the zone answers for a name: the cluster
// domain and the reverse zones of its addresses.
func (z *zone) authoritative(name string) bool {
	return mdns.IsSubDomain(z.domain, name) || strings.HasSuffix(name, ".in-addr.arpa.") && z.names[name] != nil
}

// soa is the zone's SOA record, for negative answers.
func (z *zone) soa() mdns.RR {
	return &mdns.SOA{Hdr: z.hdr(z.domain, mdns.TypeSOA), Ns: "ns.dns." + z.domain, Mbox: "hostmaster." + z.domain,
		Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl}
}

// lookup answers a question of the zone: the records of the name and
// type (a CNAME answers any type), and whether the name exists at all.
func (z *zone) lookup(name string, qtype uint16) (answer []mdns.RR, exists bool) {
	rrs, ok := z.names[name]
	if !ok {
		return nil, z.above[name]
	}
	for _, rr := range rrs {
		if t := rr.Header().Rrtype; t == qtype || t == mdns.TypeCNAME || qtype == mdns.TypeANY {
			answer = append(answer, rr)
		}
	}
	return answer, true
}
