package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
		}
	}
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
