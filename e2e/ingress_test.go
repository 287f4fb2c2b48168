//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/berth-dev/berth/internal/testutil"
)

// ingressApps are two Deployments (shop and blog) with their Services,
// a TLS Secret for each host and an Ingress: shop.example.com goes to
// shop, but its /blog to blog; blog.example.com goes to blog.
const ingressApps = `apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: kubia:v1
        imagePullPolicy: IfNotPresent
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  selector: {app: %[1]s}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Secret
metadata: {name: %[1]s-tls}
type: kubernetes.io/tls
data: {tls.crt: %[2]s, tls.key: %[3]s}
`

const ingressRoutes = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: sites}
spec:
  tls:
  - {hosts: [shop.example.com], secretName: shop-tls}
  - {hosts: [blog.example.com], secretName: blog-tls}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: shop, port: {name: http}}}}
      - {path: /blog, pathType: Prefix, backend: {service: {name: blog, port: {number: 80}}}}
  - host: blog.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: blog, port: {number: 80}}}}
`

// tlsSecretData is a self-signed certificate and key for host, base64
// as a Secret's data holds them.
func tlsSecretData(t *testing.T, host string) (crt, key string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(k)
	enc := base64.StdEncoding.EncodeToString
	return enc(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), enc(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// TestIngress routes two hosts and two paths to two Services through the
// agent's proxy, over HTTP and over HTTPS with the certificate chosen by
// SNI, and passes a WebSocket through.
func TestIngress(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	c.startAgent("--pod-network", "--ingress-ports", httpPort+","+httpsPort)
	files := map[string]string{"ingress.yaml": ingressRoutes}
	for _, app := range []string{"shop", "blog"} {
		crt, key := tlsSecretData(t, app+".example.com")
		files[app+".yaml"] = fmt.Sprintf(ingressApps, app, crt, key)
	}
	c.waitCommit(c.commit("sites", files), 0)

	plain := &http.Client{Timeout: 5 * time.Second}
	ask := func(client *http.Client, scheme, addr, host, path string) string {
		req, _ := http.NewRequest("GET", scheme+"://"+addr+path, nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct{ host, path, want string }{
		{"shop.example.com", "/", "200 You've hit shop-"},
		{"shop.example.com", "/blog/post", "200 You've hit blog-"},
		{"shop.example.com", "/blogroll", "200 You've hit shop-"},
		{"blog.example.com", "/", "200 You've hit blog-"},
		{"other.example.com", "/", "404 ingress: no rule for host"},
	} {
		testutil.Await(t, 30*time.Second, func() error {
			if got := ask(plain, "http", httpAddr, tc.host, tc.path); !strings.HasPrefix(got, tc.want) {
				return fmt.Errorf("http://%s%s through the ingress proxy: %q, want %q", tc.host, tc.path, got, tc.want)
			}
			return nil
		})
	}

	// HTTPS: each host gets its own certificate (SNI), and the request
	// goes where its Host says.
	for _, host := range []string{"shop.example.com", "blog.example.com"} {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{ServerName: host, InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
				if cn := cs.PeerCertificates[0].Subject.CommonName; cn != host {
					return fmt.Errorf("SNI %s: the proxy showed the certificate of %s", host, cn)
				}
				return nil
			}}}}
		app, _, _ := strings.Cut(host, ".")
		if got := ask(client, "https", httpsAddr, host, "/"); !strings.HasPrefix(got, "200 You've hit "+app+"-") {
			t.Errorf("https://%s/ through the ingress proxy: %q", host, got)
		}
	}

	// berth and kubectl show the Ingress with the node's address.
	if out, _ := c.berth("get", "ingresses"); !strings.Contains(out, "sites") || !strings.Contains(out, "shop.example.com,blog.example.com") ||
		!strings.Contains(out, "127.0.0.1") || !strings.Contains(out, "80, 443") {
		t.Errorf("berth get ingresses:\n%s", out)
	}
	if out := c.mustKubectl([]string{"CLASS", "HOSTS", "ADDRESS", "PORTS"}, "get", "ingress"); !regexp.MustCompile(`sites\s+<none>\s+shop.example.com,blog.example.com\s+127.0.0.1\s+80, 443`).MatchString(out) {
		t.Errorf("kubectl get ingress:\n%s", out)
	}
	c.mustKubectl([]string{"berth", "berth.dev/ingress"}, "get", "ingressclass")

	// A WebSocket passes through to the pod and back.
	conn, err := net.DialTimeout("tcp", httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	config, _ := websocket.NewConfig("ws://shop.example.com/ws", "http://shop.example.com/")
	ws, err := websocket.NewClient(config, conn)
	if err != nil {
		t.Fatalf("WebSocket through the ingress proxy: %v", err)
	}
	var reply string
	if err := websocket.Message.Send(ws, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := websocket.Message.Receive(ws, &reply); err != nil || !strings.HasPrefix(reply, "shop-") || !strings.HasSuffix(reply, " echoes hello") {
		t.Errorf("the WebSocket's reply: %q, %v", reply, err)
	}
}

// TestLoadBalancerService: a LoadBalancer Service answers at its port on
// the node's address (as k3s's ServiceLB), keeps its node port, and
// shows the node's address as its external IP.
func TestLoadBalancerService(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network", "--ingress=false")
	_, lbPort, _ := net.SplitHostPort(freeAddr(t))
	manifest := strings.Replace(strings.Replace(webService(2, 8080), "type: NodePort", "type: LoadBalancer", 1),
		"port: 80, targetPort: http", "port: "+lbPort+", targetPort: http", 1)
	c.waitCommit(c.commit("lb", map[string]string{"web.yaml": manifest}), 0)

	plain := &http.Client{Timeout: 5 * time.Second}
	testutil.Await(t, 30*time.Second, func() error {
		resp, err := plain.Get("http://127.0.0.1:" + lbPort + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.HasPrefix(string(body), "You've hit web-") {
			return fmt.Errorf("the load balancer port answered %q", body)
		}
		return nil
	})
	out := c.mustKubectl([]string{"EXTERNAL-IP"}, "get", "svc", "web")
	if !regexp.MustCompile(`web\s+LoadBalancer\s+10\.\d+\.\d+\.\d+\s+127\.0\.0\.1\s+` + lbPort + `:3\d{4}/TCP`).MatchString(out) {
		t.Errorf("kubectl get svc web:\n%s", out)
	}
	if out, _ := c.berth("get", "svc"); !regexp.MustCompile(`web\s+LoadBalancer\s+10\.\d+\.\d+\.\d+\s+127\.0\.0\.1\s+`).MatchString(out) {
		t.Errorf("berth get svc:\n%s", out)
	}
}

// gatewayApps are Deployments stable and canary behind their Services,
// a Gateway of the built-in class with an HTTP listener on port %[1]s,
// and an HTTPRoute splitting split.example.com 80/20 between them, with
// a redirect of /old.
const gatewayApps = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: berth
  listeners:
  - {name: http, port: %[1]s, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split}
spec:
  parentRefs: [{name: edge}]
  hostnames: [split.example.com]
  rules:
  - backendRefs: [{name: stable, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}]
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 301}}]
`

// TestGatewayAPI: an HTTPRoute of a Gateway splits 1,000 requests 80/20
// (within 5%) between two Services through the agents' proxy, redirects,
// and berth and kubectl show the Gateway programmed and the route
// accepted.
func TestGatewayAPI(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	_, gwPort, _ := net.SplitHostPort(freeAddr(t))
	_, httpPort, _ := net.SplitHostPort(freeAddr(t))
	// Something else holds the HTTPS ingress port: a Warning event on the
	// node, and the rest of the proxy serves.
	held, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, httpsPort, _ := net.SplitHostPort(held.Addr().String())
	c.startAgent("--pod-network", "--ingress-ports", httpPort+","+httpsPort)
	files := map[string]string{"gateway.yaml": fmt.Sprintf(gatewayApps, gwPort)}
	for _, app := range []string{"stable", "canary"} {
		files[app+".yaml"] = strings.ReplaceAll(webService(1, 8080), "web", app)
	}
	c.waitCommit(c.commit("gateway", files), 0)

	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ask := func(path string) (int, string, string) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+gwPort+path, nil)
		req.Host = "split.example.com"
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error(), ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header.Get("Location")
	}
	// Both Services have a ready endpoint before the count starts.
	testutil.Await(t, 60*time.Second, func() error {
		seen := map[string]bool{}
		for range 10 {
			code, body, _ := ask("/")
			if code != 200 {
				return fmt.Errorf("through the Gateway: %d %q", code, body)
			}
			seen[strings.Fields(body + " x x x")[2][:6]] = true
		}
		if !seen["stable"] || !seen["canary"] {
			return fmt.Errorf("10 requests reached %v", seen)
		}
		return nil
	})
	counts := map[string]int{}
	for range 1000 {
		code, body, _ := ask("/")
		switch {
		case code == 200 && strings.HasPrefix(body, "You've hit stable-"):
			counts["stable"]++
		case code == 200 && strings.HasPrefix(body, "You've hit canary-"):
			counts["canary"]++
		default:
			counts[fmt.Sprintf("%d %s", code, body)]++
		}
	}
	t.Logf("1,000 requests through the HTTPRoute: %v", counts)
	if counts["stable"] < 750 || counts["stable"] > 850 || counts["stable"]+counts["canary"] != 1000 {
		t.Errorf("1,000 requests split %v, want stable 800 ± 50 and canary the rest", counts)
	}
	if code, _, loc := ask("/old?x=1"); code != http.StatusMovedPermanently || loc != "http://split.example.com:"+gwPort+"/new?x=1" {
		t.Errorf("the redirect: %d %s", code, loc)
	}

	if out, _ := c.berth("get", "gateways"); !regexp.MustCompile(`edge\s+berth\s+127\.0\.0\.1\s+True\s+http:` + gwPort + `/HTTP\(Programmed, 1 routes\)`).MatchString(out) {
		t.Errorf("berth get gateways:\n%s", out)
	}
	if out, _ := c.berth("get", "httproutes"); !regexp.MustCompile(`split\s+split\.example\.com\s+edge:Accepted`).MatchString(out) {
		t.Errorf("berth get httproutes:\n%s", out)
	}
	if out := c.mustKubectl([]string{"PROGRAMMED"}, "get", "gateway"); !regexp.MustCompile(`edge\s+berth\s+127\.0\.0\.1\s+True`).MatchString(out) {
		t.Errorf("kubectl get gateway:\n%s", out)
	}
	c.mustKubectl([]string{"berth.dev/gateway", "True"}, "get", "gatewayclass", "berth")
	testutil.Await(t, 10*time.Second, func() error {
		if out, _ := c.berth("get", "events"); !strings.Contains(out, "IngressPortUnavailable") ||
			!strings.Contains(out, "ingress proxy cannot listen on port "+httpsPort) {
			return fmt.Errorf("no IngressPortUnavailable event:\n%s", out)
		}
		return nil
	})
	// It is a condition of the node too, which stays Ready.
	testutil.Await(t, 10*time.Second, func() error {
		out, _ := c.kubectl("get", "node", "n0", "-o", `jsonpath={range .status.conditions[*]}{.type}={.status}:{.message}{"\n"}{end}`)
		if !strings.Contains(out, "Ready=True") || !regexp.MustCompile(`IngressPortsBound=False:.*port `+httpsPort).MatchString(out) {
			return fmt.Errorf("node conditions:\n%s", out)
		}
		return nil
	})
}
