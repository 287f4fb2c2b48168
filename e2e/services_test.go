//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// webService is a Deployment of kubia on port, with the port named http,
// and a NodePort Service in front of it.
func webService(replicas, port int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: kubia:v1
        imagePullPolicy: IfNotPresent
        args: ["-listen", ":%d"]
        ports:
        - {name: http, containerPort: %d}
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
`, replicas, port, port)
}

// TestServiceClusterIPAndNodePort runs a Deployment behind a Service: the
// cluster IP and the node port reach the pods through the agent's
// nftables, the endpoints list them, and when the Deployment scales to
// zero the cluster IP refuses connections at once.
func TestServiceClusterIPAndNodePort(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	_, portStr, _ := net.SplitHostPort(freeAddr(t))
	var port int
	fmt.Sscan(portStr, &port)
	sha := c.commit("web behind a service", map[string]string{"web.yaml": webService(2, port)})
	c.waitCommit(sha, 0)

	var svcs corev1.ServiceList
	if err := c.client.List(c.ctx(), api.PathServices, "default", &svcs); err != nil || len(svcs.Items) != 1 {
		t.Fatalf("services %v %+v", err, svcs.Items)
	}
	svc := svcs.Items[0]
	nodePort := svc.Spec.Ports[0].NodePort
	if !api.ServiceCIDR.Contains(mustAddr(t, svc.Spec.ClusterIP)) || nodePort < api.NodePortMin || nodePort > api.NodePortMax {
		t.Fatalf("service addresses: %s, node port %d", svc.Spec.ClusterIP, nodePort)
	}
	out, code := c.berth("get", "svc")
	if code != 0 || !strings.Contains(out, svc.Spec.ClusterIP) || !strings.Contains(out, fmt.Sprintf("80:%d/TCP", nodePort)) {
		t.Errorf("berth get svc (exit %d):\n%s", code, out)
	}
	out, code = c.berth("get", "endpoints")
	if code != 0 || !strings.Contains(out, fmt.Sprintf(":%d", port)) || !strings.Contains(out, "10.244.0.") {
		t.Errorf("berth get endpoints (exit %d):\n%s", code, out)
	}

	for _, url := range []string{"http://" + svc.Spec.ClusterIP + "/", fmt.Sprintf("http://127.0.0.1:%d/", nodePort)} {
		var body string
		testutil.WaitFor(t, 30*time.Second, "an answer from "+url, func() bool {
			body = httpGet(url)
			return strings.Contains(body, "You've hit")
		})
	}

	// A pod started after the Service has its variables, as from the kubelet.
	sha = c.commit("a client pod", map[string]string{"client.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: IfNotPresent
    args: ["-cat", "/proc/self/environ", "-listen", "127.0.0.1:0"]
`})
	c.waitCommit(sha, 0)
	testutil.WaitFor(t, 20*time.Second, "the client's environment in its log", func() bool {
		out, _ = c.berth("logs", "client")
		return strings.Contains(out, "environ")
	})
	for _, v := range []string{"WEB_SERVICE_HOST=" + svc.Spec.ClusterIP, "WEB_SERVICE_PORT_HTTP=80", "WEB_PORT_80_TCP=tcp://" + svc.Spec.ClusterIP + ":80"} {
		if !strings.Contains(out, v) {
			t.Errorf("the client's environment lacks %s:\n%s", v, out)
		}
	}

	sha = c.commit("scale to zero", map[string]string{"web.yaml": webService(0, port)})
	c.waitCommit(sha, 0)
	var err error
	testutil.WaitFor(t, 30*time.Second, "the cluster IP refusing connections", func() bool {
		var conn net.Conn
		conn, err = net.DialTimeout("tcp", svc.Spec.ClusterIP+":80", 3*time.Second)
		if conn != nil {
			conn.Close()
		}
		return err != nil && strings.Contains(err.Error(), "refused")
	})
	if err := c.client.List(c.ctx(), api.PathServices, "default", &svcs); err != nil || svcs.Items[0].Spec.ClusterIP != svc.Spec.ClusterIP ||
		svcs.Items[0].Spec.Ports[0].NodePort != nodePort {
		t.Errorf("the service's addresses moved: %v %+v", err, svcs.Items)
	}
}

func httpGet(url string) string {
	cl := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("address %q: %v", s, err)
	}
	return a
}
