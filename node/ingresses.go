package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/node/ingress"
)

// The agent's Ingress proxy (node/ingress) listens on the node's
// IngressHTTP and IngressHTTPS ports, on every address, and routes by the
// Ingresses of the service table. A port it cannot bind (another agent
// on the machine holds it) is a Warning event on the node, retried with
// back-off, never fatal.

// ingressBindRetry bounds the wait between attempts to bind a port.
const ingressBindRetry = 30 * time.Second

// ingressOn reports whether the agent serves Ingresses.
func (a *Agent) ingressOn() bool {
	return !a.cfg.Hollow && (a.cfg.IngressHTTP != 0 || a.cfg.IngressHTTPS != 0)
}

// proxyPorts are the ports the proxy listens on, each with the TLS flag
// it was opened with and the cancel of its server.
type proxyPorts struct {
	mu      sync.Mutex
	running map[int]proxyPort
	// failed holds why each port that could not be bound failed;
	// reported is the IngressPortsBound condition last queued.
	failed   map[int]string
	reported *corev1.NodeCondition
}

type proxyPort struct {
	tls    bool
	cancel context.CancelFunc
}

// syncProxyPorts opens the ports the proxy should listen on (the ingress
// ports, and the Gateway listeners' of the last table) and closes the
// others. A Gateway listener on an ingress port shares its server.
func (a *Agent) syncProxyPorts(ctx context.Context) {
	want := map[int]bool{}
	for port, https := range a.ingress.Table().GatewayPorts() {
		want[port] = https
	}
	if a.cfg.IngressHTTP != 0 {
		want[a.cfg.IngressHTTP] = false
	}
	if a.cfg.IngressHTTPS != 0 {
		want[a.cfg.IngressHTTPS] = true
	}
	p := &a.proxyPorts
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running == nil {
		p.running = map[int]proxyPort{}
	}
	for port, l := range p.running {
		if https, ok := want[port]; !ok || https != l.tls {
			l.cancel()
			delete(p.running, port)
			delete(p.failed, port)
		}
	}
	a.reportPortsLocked()
	for port, https := range want {
		if _, ok := p.running[port]; ok {
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		p.running[port] = proxyPort{tls: https, cancel: cancel}
		var tlsConfig *tls.Config
		if https {
			tlsConfig = a.ingress.TLSConfig()
		}
		a.spawn(func() { a.serveProxyPort(lctx, port, tlsConfig) })
	}
}

// serveProxyPort binds a port (again after a failure) and serves the
// proxy on it until ctx ends.
func (a *Agent) serveProxyPort(ctx context.Context, port int, tlsConfig *tls.Config) {
	addr := net.JoinHostPort("", strconv.Itoa(port))
	var l net.Listener
	last := ""
	for wait := time.Second; ; wait = min(2*wait, ingressBindRetry) {
		var err error
		if l, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		// One event and warning per cause; the retries after it are
		// debug lines.
		msg := fmt.Sprintf("ingress proxy cannot listen on port %d: %v; retrying", port, err)
		a.portState(port, fmt.Sprintf("port %d: %v", port, err))
		if msg != last {
			a.log.Warn(msg)
			a.nodeEvent(corev1.EventTypeWarning, "IngressPortUnavailable", msg)
			last = msg
		} else {
			a.log.Debug(msg)
		}
		if !sleep(ctx, wait) {
			return
		}
	}
	a.portState(port, "")
	scheme := "http"
	if tlsConfig != nil {
		l, scheme = tls.NewListener(l, tlsConfig), "https"
	}
	a.log.Info("ingress proxy listening", "port", port, "scheme", scheme)
	srv := a.ingress.Server(a.log)
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	done := make(chan struct{})
	go func() { defer close(done); <-ctx.Done(); srv.Close() }() // ends with Serve below
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("ingress proxy", "port", port, "err", err)
	}
	<-done
}

// portState records that a port is bound (why "") or why it is not, and
// reports the node's IngressPortsBound condition when that changes it.
func (a *Agent) portState(port int, why string) {
	p := &a.proxyPorts
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.running[port]; !ok {
		return // closed meanwhile
	}
	if p.failed == nil {
		p.failed = map[int]string{}
	}
	if why == "" {
		delete(p.failed, port)
	} else {
		p.failed[port] = why
	}
	a.reportPortsLocked()
}

// reportPortsLocked queues the node's IngressPortsBound condition for the
// next status batch when it differs from the last one queued; the caller
// holds proxyPorts.mu.
func (a *Agent) reportPortsLocked() {
	p := &a.proxyPorts
	c := corev1.NodeCondition{Type: api.NodeIngressPortsBound, Status: corev1.ConditionTrue, Reason: "IngressPortsBound",
		Message: "the Ingress proxy listens on all its ports"}
	if len(p.failed) > 0 {
		ports := slices.Sorted(maps.Keys(p.failed))
		var whys []string
		for _, port := range ports {
			whys = append(whys, p.failed[port])
		}
		c.Status, c.Reason, c.Message = corev1.ConditionFalse, "IngressPortUnavailable", strings.Join(whys, "; ")
	}
	if r := p.reported; r != nil && r.Status == c.Status && r.Message == c.Message {
		return
	}
	p.reported = &c
	a.mu.Lock()
	a.nodeConditions = []corev1.NodeCondition{c}
	a.mu.Unlock()
	a.wakeReporter()
}

// updateIngress gives the proxy the table's Ingresses and Gateway
// listeners, logging what could not be compiled when that changes, and
// opens and closes the listeners' ports.
func (a *Agent) updateIngress(ctx context.Context, t *api.ServiceTable) {
	if a.ingress == nil {
		return
	}
	table := ingress.Build(ingress.Input{Ingresses: t.Ingresses, Classes: t.IngressClasses, Services: t.Services,
		Endpoints: t.Endpoints, Secrets: t.IngressSecrets, Listeners: t.Gateways, HTTPRoutes: t.HTTPRoutes})
	if old := a.ingress.Table(); !slices.Equal(old.Problems, table.Problems) && len(table.Problems) > 0 {
		a.log.Warn("ingress: not everything routes", "problems", strings.Join(table.Problems, "; "))
	}
	a.ingress.Update(table)
	a.syncProxyPorts(ctx)
}

// nodeEvent records an event about the node.
func (a *Agent) nodeEvent(typ, reason, msg string) {
	e := api.NewEvent(api.NodeRef(a.cfg.Name), typ, reason, msg, "kubelet", a.cfg.Name, a.now())
	e.Namespace = corev1.NamespaceDefault
	a.queueEvent(e)
}
