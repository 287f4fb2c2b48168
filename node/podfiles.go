package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// hostsFile is the /etc/hosts the kubelet gives a pod in its own network:
// localhost, the pod's own address and names (with its FQDN when it has
// a subdomain), then its hostAliases.
func hostsFile(pod *corev1.Pod, ip, domain string) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	hostname := podHostname(pod)
	if sub := pod.Spec.Subdomain; sub != "" {
		fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, hostname, sub, pod.Namespace, domain, hostname)
	} else {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.String()
}

// writePodFiles writes the files the kubelet mounts into the containers
// of a pod in its own network (hostname, hosts, resolv.conf) into dir,
// and returns their mounts. domain is the cluster domain, svc the
// cluster's DNS (nil when the node serves none).
func writePodFiles(dir string, pod *corev1.Pod, ip, domain string, svc *api.ServiceNetwork) ([]Mount, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{"hostname": podHostname(pod) + "\n", "hosts": hostsFile(pod, ip, domain)}
	var mounts []Mount
	for _, name := range []string{"hostname", "hosts"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, Mount{Source: path, Destination: "/etc/" + name, ReadOnly: true})
	}
	resolv, err := writePodResolvConf(dir, pod, svc)
	if err != nil {
		return nil, err
	}
	return append(mounts, resolv), nil
}

// writePodResolvConf writes the pod's resolv.conf (podDNS) into dir and
// returns its mount.
func writePodResolvConf(dir string, pod *corev1.Pod, svc *api.ServiceNetwork) (Mount, error) {
	path := filepath.Join(dir, "resolv.conf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Mount{}, err
	}
	data := podDNS(pod, nodeResolvConf(), svc).String()
	return Mount{Source: path, Destination: "/etc/resolv.conf", ReadOnly: true}, os.WriteFile(path, []byte(data), 0o644)
}
