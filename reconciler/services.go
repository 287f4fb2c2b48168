package reconciler

import (
	"fmt"
	"hash/fnv"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// AssignServiceAddresses gives each Service of next without a cluster IP
// (and each NodePort port without a node port) an address, as the
// apiserver's allocators do. A Service that was in prev keeps what it had;
// a new one gets the first free address from a hash of its name, so the
// choice depends only on the two sets. It returns one error per Service
// that cannot get an address. Cluster IPs come from the service network's
// range (a Service whose old address left the range gets a new one).
func AssignServiceAddresses(prev, next *api.ObjectSet, svc api.ServiceNetwork) []string {
	svc = svc.OrDefault()
	if next == nil {
		return nil
	}
	old := map[string]*corev1.Service{}
	if prev != nil {
		for i := range prev.Services {
			s := &prev.Services[i]
			old[api.Key(s.Namespace, s.Name)] = s
		}
	}
	ips, ports := usedAddresses(next.Services)
	var errs []string
	for i := range next.Services {
		s := &next.Services[i]
		if s.Spec.Type == corev1.ServiceTypeExternalName {
			continue // a name for the cluster DNS only
		}
		was := old[api.Key(s.Namespace, s.Name)]
		if err := assignClusterIP(s, was, ips, svc); err != "" {
			errs = append(errs, err)
		}
		errs = append(errs, assignNodePorts(s, was, ports)...)
	}
	return errs
}

// usedAddresses are the cluster IPs and node ports that manifests set.
func usedAddresses(services []corev1.Service) (ips, ports map[string]bool) {
	ips, ports = map[string]bool{}, map[string]bool{}
	for _, s := range services {
		if s.Spec.ClusterIP != "" {
			ips[s.Spec.ClusterIP] = true
		}
		for _, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				ports[nodePortKey(p.NodePort, p.Protocol)] = true
			}
		}
	}
	return ips, ports
}

func nodePortKey(port int32, proto corev1.Protocol) string { return fmt.Sprintf("%d/%s", port, proto) }

func assignClusterIP(s, was *corev1.Service, used map[string]bool, svc api.ServiceNetwork) string {
	if s.Spec.ClusterIP == "" {
		if was != nil && keepsClusterIP(was.Spec.ClusterIP, svc) && !used[was.Spec.ClusterIP] {
			s.Spec.ClusterIP = was.Spec.ClusterIP
		} else if ip, ok := freeClusterIP(api.Key(s.Namespace, s.Name), used, svc); ok {
			s.Spec.ClusterIP = ip
		} else {
			return fmt.Sprintf("Service/%s/%s: spec.clusterIP: no free address in %s", s.Namespace, s.Name, svc.CIDR)
		}
		used[s.Spec.ClusterIP] = true
	}
	s.Spec.ClusterIPs = []string{s.Spec.ClusterIP}
	return ""
}

// freeClusterIP probes the service range from a hash of key. The network
// address, the first host (Kubernetes' own "kubernetes" Service), the
// cluster DNS address and the broadcast address are never given.
func freeClusterIP(key string, used map[string]bool, svc api.ServiceNetwork) (string, bool) {
	base := svc.CIDR.Masked().Addr().As4()
	size := uint32(1) << (32 - svc.CIDR.Bits())
	start := hash32(key) % size
	for i := uint32(0); i < size; i++ {
		off := (start + i) % size
		if off < 2 || off == size-1 {
			continue
		}
		n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]) + off
		ip := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
		if !used[ip] && ip != svc.DNS.String() {
			return ip, true
		}
	}
	return "", false
}

// keepsClusterIP reports whether a Service's earlier cluster IP is still
// one of the service network's own.
func keepsClusterIP(ip string, svc api.ServiceNetwork) bool {
	addr, err := netip.ParseAddr(ip)
	return err == nil && svc.CIDR.Contains(addr) && addr != svc.DNS
}

func assignNodePorts(s, was *corev1.Service, used map[string]bool) []string {
	if !api.HasNodePorts(s) {
		return nil
	}
	var errs []string
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		if p.NodePort != 0 {
			continue
		}
		if prev := previousNodePort(was, p); prev != 0 && !used[nodePortKey(prev, p.Protocol)] {
			p.NodePort = prev
		} else if port, ok := freeNodePort(fmt.Sprintf("%s/%s/%d", s.Namespace, s.Name, i), p.Protocol, used); ok {
			p.NodePort = port
		} else {
			errs = append(errs, fmt.Sprintf("Service/%s/%s: spec.ports[%d].nodePort: no free node port in %d-%d",
				s.Namespace, s.Name, i, api.NodePortMin, api.NodePortMax))
			continue
		}
		used[nodePortKey(p.NodePort, p.Protocol)] = true
	}
	return errs
}

// previousNodePort is the node port the same port (by name, or by number
// and protocol when unnamed) had in the previous revision.
func previousNodePort(was *corev1.Service, p *corev1.ServicePort) int32 {
	if was == nil || !api.HasNodePorts(was) {
		return 0
	}
	for _, q := range was.Spec.Ports {
		if q.Protocol == p.Protocol && ((p.Name != "" && q.Name == p.Name) || (p.Name == "" && q.Port == p.Port)) {
			return q.NodePort
		}
	}
	return 0
}

func freeNodePort(key string, proto corev1.Protocol, used map[string]bool) (int32, bool) {
	size := uint32(api.NodePortMax - api.NodePortMin + 1)
	start := hash32(key) % size
	for i := uint32(0); i < size; i++ {
		port := int32(api.NodePortMin + (start+i)%size)
		if !used[nodePortKey(port, proto)] {
			return port, true
		}
	}
	return 0, false
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
