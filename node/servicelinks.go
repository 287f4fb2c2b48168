package node

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// serviceLinks are the variables the kubelet gives every container for each
// Service of its pod's namespace when spec.enableServiceLinks is true (the
// default): NAME_SERVICE_HOST, NAME_SERVICE_PORT (and _PORTNAME per named
// port), and Docker's link variables NAME_PORT and NAME_PORT_80_TCP(_PROTO,
// _PORT, _ADDR). Services without a cluster IP (headless) give none.
func serviceLinks(pod *corev1.Pod, services []corev1.Service) map[string]string {
	out := map[string]string{}
	if pod.Spec.EnableServiceLinks != nil && !*pod.Spec.EnableServiceLinks {
		return out
	}
	for i := range services {
		s := &services[i]
		ip := s.Spec.ClusterIP
		if s.Namespace != pod.Namespace || ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		prefix := envName(s.Name)
		out[prefix+"_SERVICE_HOST"] = ip
		out[prefix+"_SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
		for j, p := range s.Spec.Ports {
			port := strconv.Itoa(int(p.Port))
			if p.Name != "" {
				out[prefix+"_SERVICE_PORT_"+envName(p.Name)] = port
			}
			proto := strings.ToLower(string(p.Protocol))
			url := proto + "://" + net.JoinHostPort(ip, port)
			if j == 0 {
				out[prefix+"_PORT"] = url
			}
			pp := fmt.Sprintf("%s_PORT_%s_%s", prefix, port, strings.ToUpper(proto))
			out[pp], out[pp+"_PROTO"], out[pp+"_PORT"], out[pp+"_ADDR"] = url, proto, port, ip
		}
	}
	return out
}

// envName is a Service or port name as a variable name: "my-svc" → "MY_SVC".
func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
