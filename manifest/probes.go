package manifest

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// probeFields are relative to a probe.
var probeFields = []string{
	"exec.command[]",
	"httpGet.host", "httpGet.path", "httpGet.port", "httpGet.scheme", "httpGet.httpHeaders[].name", "httpGet.httpHeaders[].value",
	"tcpSocket.host", "tcpSocket.port",
	"initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold",
}

// hookFields are relative to a lifecycle handler.
var hookFields = []string{
	"exec.command[]",
	"httpGet.host", "httpGet.path", "httpGet.port", "httpGet.scheme", "httpGet.httpHeaders[].name", "httpGet.httpHeaders[].value",
}

// validateLifecycle checks postStart and preStop: one handler each.
func validateLifecycle(c *corev1.Container, cf string) []*fieldError {
	if c.Lifecycle == nil {
		return nil
	}
	var fes []*fieldError
	for name, h := range map[string]*corev1.LifecycleHandler{"postStart": c.Lifecycle.PostStart, "preStop": c.Lifecycle.PreStop} {
		if h == nil {
			continue
		}
		f := cf + ".lifecycle." + name
		switch {
		case (h.Exec == nil) == (h.HTTPGet == nil):
			fes = append(fes, &fieldError{f, "must specify exactly one handler: exec or httpGet"})
		case h.Exec != nil && len(h.Exec.Command) == 0:
			fes = append(fes, &fieldError{f + ".exec.command", "required"})
		case h.HTTPGet != nil:
			fes = append(fes, validateProbePort(c, h.HTTPGet.Port, f+".httpGet.port")...)
			fes = append(fes, validateProbeHost(h.HTTPGet.Host, f+".httpGet.host")...)
			if h.HTTPGet.Scheme != "" && h.HTTPGet.Scheme != corev1.URISchemeHTTP {
				fes = append(fes, &fieldError{f + ".httpGet.scheme", fmt.Sprintf("%q not supported by berth (only HTTP)", h.HTTPGet.Scheme)})
			}
		}
	}
	return fes
}

// defaultProbe fills in Kubernetes' defaults: period 10 s, timeout 1 s,
// success threshold 1, failure threshold 3, scheme HTTP.
func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil && p.HTTPGet.Scheme == "" {
		p.HTTPGet.Scheme = corev1.URISchemeHTTP
	}
}

func validateProbes(c *corev1.Container, cf string) []*fieldError {
	var fes []*fieldError
	for _, pr := range []struct {
		name  string
		probe *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.probe != nil {
			fes = append(fes, validateProbe(c, pr.probe, cf+"."+pr.name, pr.name != "readinessProbe")...)
		}
	}
	return fes
}

func validateProbe(c *corev1.Container, p *corev1.Probe, f string, mustSucceedOnce bool) []*fieldError {
	var fes []*fieldError
	handlers := 0
	if p.Exec != nil {
		handlers++
		if len(p.Exec.Command) == 0 {
			fes = append(fes, &fieldError{f + ".exec.command", "required"})
		}
	}
	if p.HTTPGet != nil {
		handlers++
		fes = append(fes, validateProbePort(c, p.HTTPGet.Port, f+".httpGet.port")...)
		fes = append(fes, validateProbeHost(p.HTTPGet.Host, f+".httpGet.host")...)
		if p.HTTPGet.Scheme != corev1.URISchemeHTTP {
			fes = append(fes, &fieldError{f + ".httpGet.scheme", fmt.Sprintf("%q not supported by berth (only HTTP)", p.HTTPGet.Scheme)})
		}
	}
	if p.TCPSocket != nil {
		handlers++
		fes = append(fes, validateProbePort(c, p.TCPSocket.Port, f+".tcpSocket.port")...)
		fes = append(fes, validateProbeHost(p.TCPSocket.Host, f+".tcpSocket.host")...)
	}
	if handlers != 1 {
		fes = append(fes, &fieldError{f, "must specify exactly one handler: exec, httpGet or tcpSocket"})
	}
	for name, v := range map[string]int32{"initialDelaySeconds": p.InitialDelaySeconds, "periodSeconds": p.PeriodSeconds - 1,
		"timeoutSeconds": p.TimeoutSeconds - 1, "successThreshold": p.SuccessThreshold - 1, "failureThreshold": p.FailureThreshold - 1} {
		if v < 0 {
			fes = append(fes, &fieldError{f + "." + name, "must be greater than or equal to its minimum (0 for initialDelaySeconds, 1 otherwise)"})
		}
	}
	if mustSucceedOnce && p.SuccessThreshold != 1 {
		fes = append(fes, &fieldError{f + ".successThreshold", "must be 1"})
	}
	return fes
}

// validateProbePort accepts a port number or the name of a container port.
func validateProbePort(c *corev1.Container, port intstr.IntOrString, f string) []*fieldError {
	if port.Type == intstr.Int {
		if msgs := validation.IsValidPortNum(port.IntValue()); len(msgs) > 0 {
			return []*fieldError{{f, fmt.Sprintf("%d: %s", port.IntValue(), msgs[0])}}
		}
		return nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return nil
		}
	}
	return []*fieldError{{f, fmt.Sprintf("no container port named %q", port.StrVal)}}
}

// validateProbeHost checks a probe's or hook's host (the pod's own
// address when empty): an IP address or a DNS name, which the agent
// reaches from the node.
func validateProbeHost(host, f string) []*fieldError {
	if host == "" || net.ParseIP(host) != nil || len(validation.IsDNS1123Subdomain(host)) == 0 {
		return nil
	}
	return []*fieldError{{f, fmt.Sprintf("%q: must be an IP address or a DNS name", host)}}
}
