package ingress

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Proxy serves the current routing table: each request goes to a ready
// endpoint of the Service its host and path match, through
// httputil.ReverseProxy (HTTP/1.1 and HTTP/2 from clients, WebSocket
// upgrades, responses streamed as they come). It sets X-Forwarded-For,
// -Host and -Proto, and keeps the request's Host.
type Proxy struct {
	table        atomic.Pointer[Table]
	ingressPorts atomic.Pointer[map[int]bool]
	rp           *httputil.ReverseProxy
	log          *slog.Logger
}

// targetKey carries the chosen endpoint to the proxy's Rewrite;
// responseKey an HTTPRoute's response header filters to ModifyResponse.
type (
	targetKey   struct{}
	responseKey struct{}
)

// NewProxy returns a proxy with an empty table (every request 404).
func NewProxy(log *slog.Logger) *Proxy {
	p := &Proxy{log: log}
	p.table.Store(Build(Input{}))
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // long polls and streams pass through
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			addr := pr.In.Context().Value(targetKey{}).(string)
			pr.SetURL(&url.URL{Scheme: "http", Host: addr})
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:     transport,
		BufferPool:    bufferPool{},
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			filters, _ := resp.Request.Context().Value(responseKey{}).([]*gatewayv1.HTTPHeaderFilter)
			for _, f := range filters {
				modifyHeaders(resp.Header, f)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			addr, _ := r.Context().Value(targetKey{}).(string)
			if r.Context().Err() == nil {
				p.log.Warn("ingress: backend failed", "host", r.Host, "path", r.URL.Path, "endpoint", addr, "err", err)
			}
			http.Error(w, fmt.Sprintf("ingress: endpoint %s: %v", addr, err), http.StatusBadGateway)
		},
	}
	return p
}

// bufferPool recycles the reverse proxy's copy buffers (32 KiB each),
// which it would otherwise allocate for every request.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// Update swaps in a new routing table; requests under way finish on the
// old one.
func (p *Proxy) Update(t *Table) { p.table.Store(t) }

// Table is the routing table in use.
func (p *Proxy) Table() *Table { return p.table.Load() }

// ServeHTTP routes a request: by the HTTPRoutes of the Gateway listeners
// on its port first, then by the Ingresses (on the ingress ports).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, port, t := hostOf(r), localPort(r), p.table.Load()
	if router := t.Gateway(port); router != nil {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if p.serveRoute(w, r, router, scheme, port) {
			return
		}
		if !p.servesIngress(port) {
			http.Error(w, fmt.Sprintf("gateway: no HTTPRoute matches host %q path %q", host, r.URL.Path), http.StatusNotFound)
			return
		}
	}
	b, ok := t.Match(host, r.URL.Path)
	if !ok {
		http.Error(w, fmt.Sprintf("ingress: no rule for host %q path %q", host, r.URL.Path), http.StatusNotFound)
		return
	}
	addr, ok := b.Pick()
	if !ok {
		http.Error(w, fmt.Sprintf("ingress: %s has no ready endpoint", b), http.StatusServiceUnavailable)
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, addr)))
}

// RouteHandler serves a Gateway listener's requests (scheme "http" or
// "https", on port) by its HTTPRoutes alone.
func (p *Proxy) RouteHandler(router *Router, scheme string, port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.serveRoute(w, r, router, scheme, port) {
			http.Error(w, fmt.Sprintf("gateway: no HTTPRoute matches host %q path %q", hostOf(r), r.URL.Path), http.StatusNotFound)
		}
	})
}

// serveRoute serves a request by a listener's HTTPRoutes: the first
// match, its rule's filters, a backendRef by weight and that ref's
// filters, then a ready endpoint of its Service. It reports false, having
// written nothing, when no route matches.
func (p *Proxy) serveRoute(w http.ResponseWriter, r *http.Request, router *Router, scheme string, port int) bool {
	m, ok := router.Route(r, hostOf(r))
	if !ok {
		return false
	}
	var response []*gatewayv1.HTTPHeaderFilter
	if applyFilters(w, r, m, m.filters, scheme, port, &response) {
		return true
	}
	b, filters, ok := m.backends.pick()
	switch {
	case !ok:
		http.Error(w, fmt.Sprintf("gateway: rule %d of HTTPRoute %s has no backendRefs", m.rule, m.key), http.StatusInternalServerError)
		return true
	case b == nil:
		http.Error(w, fmt.Sprintf("gateway: a backendRef of rule %d of HTTPRoute %s does not resolve", m.rule, m.key), http.StatusInternalServerError)
		return true
	}
	if applyFilters(w, r, m, filters, scheme, port, &response) {
		return true
	}
	addr, ok := b.Pick()
	if !ok {
		http.Error(w, fmt.Sprintf("gateway: %s has no ready endpoint", b), http.StatusServiceUnavailable)
		return true
	}
	ctx := context.WithValue(context.WithValue(r.Context(), targetKey{}, addr), responseKey{}, response)
	p.rp.ServeHTTP(w, r.WithContext(ctx))
	return true
}

// hostOf is a request's host without its port.
func hostOf(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return r.Host
}

// localPort is the port a request came in on (0 when unknown).
func localPort(r *http.Request) int {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// SetIngressPorts says which ports serve Ingresses (all, until set): a
// Gateway listener's port that is not one of them answers 404 when no
// HTTPRoute matches.
func (p *Proxy) SetIngressPorts(ports ...int) {
	m := map[int]bool{}
	for _, port := range ports {
		m[port] = true
	}
	p.ingressPorts.Store(&m)
}

func (p *Proxy) servesIngress(port int) bool {
	m := p.ingressPorts.Load()
	return m == nil || (*m)[port]
}

// TLSConfig chooses each handshake's certificate by SNI from the table
// in use (see certs.get), and offers HTTP/2.
func (p *Proxy) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return p.table.Load().certs.get(hello)
		},
	}
}

// Server is an HTTP server of the proxy: HTTP/1.1, and HTTP/2 over TLS
// and in clear text (h2c, prior knowledge).
func (p *Proxy) Server(log *slog.Logger) *http.Server {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: p, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}
