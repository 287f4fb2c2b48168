package ingress

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// backendServer is a Service's pod: it answers with its name, the Host
// and path it saw and X-Forwarded-For; /stream writes two lines a flush
// apart; /ws echoes a line after an upgrade.
func backendServer(t testing.TB, name string) (ip string, port int32) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws":
			backendUpgrade(w, r, name)
		case "/stream":
			fmt.Fprintln(w, "first")
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the client reads the first line before it hangs up
		default:
			fmt.Fprintf(w, "%s host=%s path=%s xff=%s proto=%s", name, r.Host, r.URL.Path, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
		}
	}))
	t.Cleanup(srv.Close)
	host, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(portStr)
	return host, int32(n)
}

// backendUpgrade takes a connection over after a 101 and echoes one line.
func backendUpgrade(w http.ResponseWriter, r *http.Request, name string) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "no upgrade", http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	rw.Flush()
	line, _ := rw.ReadString('\n')
	rw.WriteString(name + " echoes " + line)
	rw.Flush()
}

// selfSigned is a kubernetes.io/tls Secret for hosts.
func selfSigned(t testing.TB, name string, hosts ...string) corev1.Secret {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		}}
}

// proxyFixture: two hosts and two paths to two Services, each with its
// own certificate; the proxy serves HTTP and HTTPS on loopback.
type proxyFixture struct {
	http, https string
	proxy       *Proxy
}

func newProxyFixture(t testing.TB) *proxyFixture {
	var svcs []corev1.Service
	var eps []corev1.Endpoints
	for _, name := range []string{"shop", "blog"} {
		ip, port := backendServer(t, name)
		meta := metav1.ObjectMeta{Namespace: "default", Name: name}
		svcs = append(svcs, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
		eps = append(eps, corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip}}, Ports: []corev1.EndpointPort{{Port: port}}}}})
	}
	shop := ingressOf("shop", "shop.example.com", "Prefix:/=shop", "Prefix:/blog=blog")
	shop.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}}
	blog := ingressOf("blog", "blog.example.com", "Prefix:/=blog", "Exact:/shop=shop")
	blog.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"blog.example.com"}, SecretName: "blog-tls"}}
	table := Build(Input{Ingresses: []networkingv1.Ingress{shop, blog}, Services: svcs, Endpoints: eps,
		Secrets: []corev1.Secret{selfSigned(t, "shop-tls", "shop.example.com"), selfSigned(t, "blog-tls", "blog.example.com")}})
	if len(table.Problems) > 0 {
		t.Fatal(table.Problems)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := NewProxy(log)
	p.Update(table)
	f := &proxyFixture{proxy: p}
	f.http = serve(t, p.Server(log), nil)
	f.https = serve(t, p.Server(log), p.TLSConfig())
	return f
}

// serve runs a server on a loopback port until the test ends.
func serve(t testing.TB, srv *http.Server, tlsConfig *tls.Config) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}

// get sends a request for host and path to the proxy at addr.
func get(t *testing.T, client *http.Client, scheme, addr, host, path string) (int, string) {
	req, _ := http.NewRequest("GET", scheme+"://"+addr+path, nil)
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s through the proxy: %v", host, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestProxyRoutesHostsAndPaths(t *testing.T) {
	f := newProxyFixture(t)
	for _, tc := range []struct{ host, path, want string }{
		{"shop.example.com", "/cart", "shop host=shop.example.com path=/cart xff=127.0.0.1 proto=http"},
		{"shop.example.com:80", "/blog/post", "blog host=shop.example.com:80 path=/blog/post"},
		{"blog.example.com", "/", "blog host=blog.example.com path=/"},
		{"blog.example.com", "/shop", "shop host=blog.example.com path=/shop"},
		{"blog.example.com", "/shop/x", "blog "},
	} {
		if code, body := get(t, http.DefaultClient, "http", f.http, tc.host, tc.path); code != 200 || !strings.HasPrefix(body, tc.want) {
			t.Errorf("%s%s: %d %q, want %q", tc.host, tc.path, code, body, tc.want)
		}
	}
	if code, body := get(t, http.DefaultClient, "http", f.http, "nobody.example.com", "/"); code != http.StatusNotFound ||
		!strings.Contains(body, `no rule for host "nobody.example.com" path "/"`) {
		t.Errorf("an unknown host: %d %q", code, body)
	}
	f.proxy.Update(Build(Input{Ingresses: []networkingv1.Ingress{ingressOf("shop", "shop.example.com", "Prefix:/=shop")}}))
	if code, body := get(t, http.DefaultClient, "http", f.http, "shop.example.com", "/"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "service default/shop port 80 has no ready endpoint") {
		t.Errorf("a Service without endpoints: %d %q", code, body)
	}
}

// TLS: the certificate is chosen by SNI, HTTP/2 is offered, and the
// backend learns the request came over HTTPS.
func TestProxyTLSBySNI(t *testing.T) {
	f := newProxyFixture(t)
	for _, host := range []string{"shop.example.com", "blog.example.com"} {
		conn, err := tls.Dial("tcp", f.https, &tls.Config{ServerName: host, InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatalf("TLS handshake for %s: %v", host, err)
		}
		st := conn.ConnectionState()
		conn.Close()
		if cn := st.PeerCertificates[0].Subject.CommonName; cn != host {
			t.Errorf("SNI %s got the certificate of %s", host, cn)
		}
		if st.NegotiatedProtocol != "h2" {
			t.Errorf("SNI %s: negotiated %q, want h2", host, st.NegotiatedProtocol)
		}
	}
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{ServerName: "blog.example.com", InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", "https://"+f.https+"/", nil)
	req.Host = "blog.example.com"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || !strings.Contains(string(body), "blog host=blog.example.com") || !strings.Contains(string(body), "proto=https") {
		t.Errorf("HTTPS through the proxy: %s %q", resp.Proto, body)
	}
	if _, err := tls.Dial("tcp", f.https, &tls.Config{ServerName: "nobody.example.com", InsecureSkipVerify: true}); err != nil {
		t.Errorf("a name no entry lists gets the fallback certificate: %v", err)
	}
}

// A WebSocket upgrade passes through, and a streamed response arrives
// before it ends.
func TestProxyUpgradesAndStreams(t *testing.T) {
	f := newProxyFixture(t)
	conn, err := net.Dial("tcp", f.http)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: shop.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the proxy: %v, %v", resp, err)
	}
	fmt.Fprintf(conn, "hello\n")
	if line, _ := r.ReadString('\n'); line != "shop echoes hello\n" {
		t.Errorf("after the upgrade, read %q", line)
	}

	req, _ := http.NewRequest("GET", "http://"+f.http+"/stream", nil)
	req.Host = "blog.example.com"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); line != "first\n" {
		t.Errorf("a streamed response: read %q, %v before it ended", line, err)
	}
}

// A Gateway listener without a hostname serves the names nobody lists,
// even beside an Ingress's certificate for its host; a listener with a
// hostname serves that name.
func TestGatewayCertificates(t *testing.T) {
	shop := ingressOf("shop", "shop.example.com", "Prefix:/=shop")
	shop.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}}
	svcs, eps := servicesFor("shop")
	table := Build(Input{
		Ingresses: []networkingv1.Ingress{shop}, Services: svcs, Endpoints: eps,
		Secrets: []corev1.Secret{selfSigned(t, "shop-tls", "shop.example.com"), selfSigned(t, "any-tls", "gateway.example"),
			selfSigned(t, "api-tls", "api.example.org")},
		Listeners: []api.GatewayListener{
			{Gateway: "default/edge", Name: "any", Port: 8443, Protocol: "HTTPS", Certificates: []string{"default/any-tls"}},
			{Gateway: "default/edge", Name: "api", Port: 8443, Protocol: "HTTPS", Hostname: "api.example.org", Certificates: []string{"default/api-tls"}},
		},
	})
	if len(table.Problems) > 0 {
		t.Fatal(table.Problems)
	}
	for name, want := range map[string]string{"shop.example.com": "shop.example.com", "api.example.org": "api.example.org",
		"nobody.example.net": "gateway.example"} {
		cert, err := table.certs.get(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Errorf("SNI %s: %v", name, err)
		} else if got := cert.Leaf.Subject.CommonName; got != want {
			t.Errorf("SNI %s got the certificate of %s, want %s's", name, got, want)
		}
	}
}
