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

// runIngress serves the proxy on its ports until ctx ends.
func (a *Agent) runIngress(ctx context.Context) {
	for _, l := range []struct {
		port int
		tls  *tls.Config
	}{{a.cfg.IngressHTTP, nil}, {a.cfg.IngressHTTPS, a.ingress.TLSConfig()}} {
		if l.port != 0 {
			a.spawn(func() { a.serveIngress(ctx, l.port, l.tls) })
		}
	}
}

// serveIngress binds a port (again after a failure) and serves the proxy
// on it until ctx ends.
func (a *Agent) serveIngress(ctx context.Context, port int, tlsConfig *tls.Config) {
	addr := net.JoinHostPort("", strconv.Itoa(port))
	var l net.Listener
	for wait := time.Second; ; wait = min(2*wait, ingressBindRetry) {
		var err error
		if l, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		msg := fmt.Sprintf("ingress proxy cannot listen on port %d: %v; retrying", port, err)
		a.log.Warn(msg)
		a.nodeEvent(corev1.EventTypeWarning, "IngressPortUnavailable", msg)
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

// updateIngress gives the proxy the table's Ingresses, logging what
// could not be compiled when that changes.
func (a *Agent) updateIngress(t *api.ServiceTable) {
	if a.ingress == nil {
		return
	}
	table := ingress.Build(ingress.Input{Ingresses: t.Ingresses, Classes: t.IngressClasses, Services: t.Services,
		Endpoints: t.Endpoints, Secrets: t.IngressSecrets})
	if old := a.ingress.Table(); !slices.Equal(old.Problems, table.Problems) && len(table.Problems) > 0 {
		a.log.Warn("ingress: not everything routes", "problems", strings.Join(table.Problems, "; "))
	}
	a.ingress.Update(table)
}

// nodeEvent records an event about the node.
func (a *Agent) nodeEvent(typ, reason, msg string) {
	e := api.NewEvent(api.NodeRef(a.cfg.Name), typ, reason, msg, "kubelet", a.cfg.Name, a.now())
	e.Namespace = corev1.NamespaceDefault
	a.queueEvent(e)
}
