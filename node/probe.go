package node

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeKind names the three probes.
type probeKind string

const (
	probeStartup   probeKind = "startup"
	probeLiveness  probeKind = "liveness"
	probeReadiness probeKind = "readiness"
)

// probeEvent is a change a container's prober reports to its pod worker:
// readiness became ok or not, the startup probe passed, or a startup or
// liveness probe failed for good (the container must be restarted).
type probeEvent struct {
	name    string
	attempt int
	kind    probeKind
	ok      bool
	message string
}

// probeOnce runs one probe's handler against the container, whose pod
// has the address host; nil means success.
func probeOnce(ctx context.Context, rt Runtime, id, host string, c *corev1.Container, p *corev1.Probe) error {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	switch {
	case p.Exec != nil:
		code, err := rt.Exec(ctx, id, p.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", p.Exec.Command, code)
		}
		return nil
	case p.HTTPGet != nil:
		port, err := resolvePort(c, p.HTTPGet.Port)
		if err != nil {
			return err
		}
		return probeHTTP(ctx, cmp.Or(p.HTTPGet.Host, host), p.HTTPGet, port, timeout)
	case p.TCPSocket != nil:
		port, err := resolvePort(c, p.TCPSocket.Port)
		if err != nil {
			return err
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(cmp.Or(p.TCPSocket.Host, host), strconv.Itoa(port)), timeout)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("probe has no handler")
}

func probeHTTP(ctx context.Context, host string, g *corev1.HTTPGetAction, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := g.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "berth-probe/1.0")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

// resolvePort turns a port number or a container port's name into a number.
func resolvePort(c *corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}

// prober runs a container's probes as the kubelet does: the startup probe
// first (liveness and readiness wait for it), then liveness and readiness
// side by side, each after its initial delay, every period, counting
// consecutive results against its thresholds. It ends with ctx.
type prober struct {
	rt      Runtime
	id      string
	host    string // the pod's address
	name    string
	attempt int
	c       *corev1.Container
	events  chan<- probeEvent
}

func (p *prober) run(ctx context.Context) {
	if sp := p.c.StartupProbe; sp != nil {
		if !p.loop(ctx, probeStartup, sp) {
			return
		}
	}
	if rp := p.c.ReadinessProbe; rp != nil {
		go p.loop(ctx, probeReadiness, rp)
	}
	if lp := p.c.LivenessProbe; lp != nil {
		p.loop(ctx, probeLiveness, lp)
	}
}

// loop probes until ctx ends; a startup probe returns true once it passes
// and false when it fails for good, a liveness probe returns on failure.
func (p *prober) loop(ctx context.Context, kind probeKind, pr *corev1.Probe) bool {
	if !sleep(ctx, time.Duration(pr.InitialDelaySeconds)*time.Second) {
		return false
	}
	period := time.Duration(pr.PeriodSeconds) * time.Second
	successes, failures := 0, 0
	ready := false
	for {
		err := probeOnce(ctx, p.rt, p.id, p.host, p.c, pr)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		switch kind {
		case probeStartup:
			if successes >= int(pr.SuccessThreshold) {
				p.send(ctx, kind, true, "")
				return true
			}
			if failures >= int(pr.FailureThreshold) {
				p.send(ctx, kind, false, fmt.Sprintf("Startup probe failed: %v", err))
				return false
			}
		case probeLiveness:
			if failures >= int(pr.FailureThreshold) {
				p.send(ctx, kind, false, fmt.Sprintf("Liveness probe failed: %v", err))
				return false
			}
		case probeReadiness:
			if !ready && successes >= int(pr.SuccessThreshold) {
				ready = true
				p.send(ctx, kind, true, "")
			} else if ready && failures >= int(pr.FailureThreshold) {
				ready = false
				p.send(ctx, kind, false, fmt.Sprintf("Readiness probe failed: %v", err))
			}
		}
		if !sleep(ctx, period) {
			return false
		}
	}
}

func (p *prober) send(ctx context.Context, kind probeKind, ok bool, msg string) {
	select {
	case p.events <- probeEvent{name: p.name, attempt: p.attempt, kind: kind, ok: ok, message: msg}:
	case <-ctx.Done():
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
