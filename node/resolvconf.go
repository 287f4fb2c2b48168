package node

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// resolvConf is the parts of a resolv.conf.
type resolvConf struct {
	nameservers, searches []string
	options               []string // "ndots:5", "edns0"
}

// parseResolvConf reads nameserver, search (and domain) and options
// lines.
func parseResolvConf(data []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.nameservers = append(rc.nameservers, f[1])
		case "search", "domain":
			rc.searches = f[1:]
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc
}

func (rc resolvConf) String() string {
	var b strings.Builder
	if len(rc.searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(rc.searches, " "))
	}
	for _, ns := range rc.nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(rc.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(rc.options, " "))
	}
	return b.String()
}

// podDNS is the resolv.conf of a pod as the kubelet makes it from its
// dnsPolicy and dnsConfig, given the node's: ClusterFirst (the default)
// asks the cluster DNS with the search path of the pod's namespace,
// ndots 5, unless the pod is in the node's network (ClusterFirstWithHostNet
// asks the cluster DNS there too); Default takes the node's; None only
// what dnsConfig says. dnsConfig's nameservers and searches are added,
// its options override those of the same name. svc is the cluster's DNS
// address and domain, nil when the node serves no cluster DNS: the node's
// resolvers stand in.
func podDNS(pod *corev1.Pod, node resolvConf, svc *api.ServiceNetwork) resolvConf {
	policy := pod.Spec.DNSPolicy
	if policy == "" || policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = map[bool]corev1.DNSPolicy{false: corev1.DNSClusterFirst, true: corev1.DNSDefault}[pod.Spec.HostNetwork]
	}
	var rc resolvConf
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		if svc == nil {
			rc = node
			break
		}
		d := svc.Domain
		rc = resolvConf{nameservers: []string{svc.DNS.String()},
			searches: append([]string{pod.Namespace + ".svc." + d, "svc." + d, d}, node.searches...), options: []string{"ndots:5"}}
	case corev1.DNSDefault:
		rc = node
	}
	if c := pod.Spec.DNSConfig; c != nil {
		rc.nameservers = append(slices.Clone(rc.nameservers), c.Nameservers...)
		rc.searches = append(slices.Clone(rc.searches), c.Searches...)
		rc.options = mergeOptions(rc.options, c.Options)
	}
	return rc
}

// mergeOptions adds the pod's options to base, a pod's option replacing
// one of the same name.
func mergeOptions(base []string, opts []corev1.PodDNSConfigOption) []string {
	out := slices.Clone(base)
	for _, o := range opts {
		s := o.Name
		if o.Value != nil {
			s += ":" + *o.Value
		}
		out = slices.DeleteFunc(out, func(have string) bool { name, _, _ := strings.Cut(have, ":"); return name == o.Name })
		out = append(out, s)
	}
	return out
}

// nodeResolvConf is the node's resolver configuration.
func nodeResolvConf() resolvConf {
	data, _ := os.ReadFile(hostResolvConf)
	return parseResolvConf(data)
}
