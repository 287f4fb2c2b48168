//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestPodsHaveTheirOwnAddresses (issue #16, a): with --pod-network, two
// Deployments whose containers all listen on 8080, three replicas each on
// one node, all run Ready with six distinct addresses of the node's pod
// CIDR, and each answers on its own address as itself. When one
// Deployment goes, its pods' namespaces and addresses go with them.
func TestPodsHaveTheirOwnAddresses(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network")
	var cidr netip.Prefix
	testutil.WaitFor(t, 30*time.Second, "a pod CIDR for n0", func() bool {
		nodes, err := c.client.Nodes(c.ctx())
		if err != nil || len(nodes.Items) != 1 {
			return false
		}
		cidr, err = netip.ParsePrefix(nodes.Items[0].Spec.PodCIDR)
		return err == nil
	})
	on8080 := func(name string) string {
		return strings.Replace(deployment(name, 3, "v1"), `"127.0.0.1:0"`, `":8080"`, 1)
	}
	withService := strings.Replace(on8080("a"), "        env:\n", "        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}\n        env:\n", 1) +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: NodePort\n  selector: {app: a}\n  ports: [{port: 80, targetPort: 8080}]\n"
	sha := c.commit("two apps on 8080", map[string]string{"a.yaml": withService, "b.yaml": on8080("b")})
	c.waitCommit(sha, 0)
	pods, err := c.client.Pods(c.ctx(), "default")
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, p := range pods.Items {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !cidr.Contains(ip) {
			t.Errorf("pod %s has address %q; want one of %s", p.Name, p.Status.PodIP, cidr)
			continue
		}
		if other, dup := ips[p.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share %s", p.Name, other, p.Status.PodIP)
		}
		ips[p.Status.PodIP] = p.Name
		if answer := get(t, fmt.Sprintf("http://%s:8080/", ip)); !strings.Contains(answer, "You've hit "+p.Name) {
			t.Errorf("pod %s at %s answered %q", p.Name, ip, answer)
		}
	}
	if len(ips) != 6 {
		t.Fatalf("%d distinct pod addresses; want 6", len(ips))
	}
	checkServiceOnPodAddresses(t, c, cidr)
	out, _ := c.berth("get", "pods", "-o", "wide")
	for ip := range ips {
		if !strings.Contains(out, ip) {
			t.Errorf("berth get pods -o wide does not show %s:\n%s", ip, out)
		}
	}

	checkRestartKeepsAddresses(t, c, ips)
	checkHostNetworkAndHostname(t, c)

	sha = c.commit("b goes", map[string]string{"b.yaml": ""})
	c.waitCommit(sha, 0)
	testutil.WaitFor(t, 30*time.Second, "b's network namespaces removed", func() bool {
		entries, _ := os.ReadDir(filepath.Join(c.dir, "agent", "netns"))
		return len(entries) == 4 // a's three and named's; hn has none
	})
}

// checkHostNetworkAndHostname: a pod with hostNetwork runs in the node's
// network (its address is the node's); a pod with spec.hostname is
// called that (and /etc/hostname says so), its /etc/hosts holds its
// hostAliases, and its two containers share its network, UTS and IPC
// namespaces.
func checkHostNetworkAndHostname(t *testing.T, c *cluster) {
	t.Helper()
	pod := func(name, spec, listen string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n%s  containers:\n  - {name: app, image: kubia:v1, imagePullPolicy: IfNotPresent, args: [-listen, %q]}\n", name, spec, listen)
	}
	named := pod("named", "  hostname: web-1\n  hostAliases: [{ip: 10.1.2.3, hostnames: [legacy.local]}]\n", ":8080") +
		"  - {name: side, image: kubia:v1, imagePullPolicy: IfNotPresent, args: [-listen, \":9090\"], ports: [{containerPort: 9090, hostPort: 18080}]}\n"
	sha := c.commit("a pod in the node's network, a pod with a hostname", map[string]string{
		"hn.yaml": pod("hn", "  hostNetwork: true\n", "127.0.0.1:0"), "named.yaml": named})
	c.waitCommit(sha, 0)
	// The two containers of named share its network (side reaches app on
	// 127.0.0.1), its hostname and its IPC namespace.
	c.execUntil("named", "side", []string{"You've hit web-1"}, "/app", "-get", "http://127.0.0.1:8080/")
	// (d) Its hostPort answers on the node, mapped to its containerPort.
	awaitAnswer(t, "http://127.0.0.1:18080/", "You've hit web-1")
	// Its /etc/hosts names it and its hostAliases; /etc/hostname is its name.
	c.execUntil("named", "side", []string{"legacy.local: 10.1.2.3\n", "web-1: " + podIPOf(c, "named") + "\n"}, "/app", "-lookup", "legacy.local,web-1")
	c.execUntil("named", "side", []string{`"web-1\n"`}, "/app", "-cat", "/etc/hostname", "-exit", "0")
	var pids []uint32
	for _, tk := range c.running() {
		if tk.pod == "named" {
			pids = append(pids, tk.pid)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("named runs %d containers", len(pids))
	}
	for _, ns := range []string{"net", "uts", "ipc"} {
		first, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pids[0], ns))
		second, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pids[1], ns))
		mine, _ := os.Readlink("/proc/self/ns/" + ns)
		if first == "" || first != second || first == mine {
			t.Errorf("named's containers are in %s namespaces %q and %q (the node's is %q); want one of the pod's own", ns, first, second, mine)
		}
	}
	for _, p := range c.pods() {
		switch p.Name {
		case "hn":
			if p.Status.PodIP != p.Status.HostIP {
				t.Errorf("hostNetwork pod hn has address %s; want the node's, %s", p.Status.PodIP, p.Status.HostIP)
			}
		case "named":
			if answer := get(t, fmt.Sprintf("http://%s:8080/", p.Status.PodIP)); !strings.Contains(answer, "You've hit web-1") {
				t.Errorf("the pod with hostname web-1 answered %q", answer)
			}
		}
	}
}

// checkServiceOnPodAddresses: the Service of a, whose readiness probes
// reach its pods at their own addresses, answers on its cluster IP and
// on its node port at the node's bridge address and at 127.0.0.1, from
// a's pods.
func checkServiceOnPodAddresses(t *testing.T, c *cluster, cidr netip.Prefix) {
	t.Helper()
	var svcs corev1.ServiceList
	if err := c.client.List(c.ctx(), api.PathServices, "default", &svcs); err != nil || len(svcs.Items) != 1 {
		t.Fatalf("services %v %+v", err, svcs.Items)
	}
	svc := svcs.Items[0]
	bridge := cidr.Addr().Next() // the bridge plugin's gateway: the subnet's first address
	for _, url := range []string{fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP), fmt.Sprintf("http://%s:%d/", bridge, svc.Spec.Ports[0].NodePort),
		fmt.Sprintf("http://127.0.0.1:%d/", svc.Spec.Ports[0].NodePort)} {
		awaitAnswer(t, url, "You've hit a-")
	}
}

// checkRestartKeepsAddresses (issue #16, g): an agent killed and started
// again finds its pods' namespaces: every pod keeps its address, and a
// connection opened to a pod before the restart still carries requests.
func checkRestartKeepsAddresses(t *testing.T, c *cluster, ips map[string]string) {
	t.Helper()
	var first string
	for ip := range ips {
		first = ip
		break
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(first, "8080"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	ask := func() string {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: pod\r\n\r\n"); err != nil {
			return err.Error()
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if answer := ask(); !strings.Contains(answer, "You've hit "+ips[first]) {
		t.Fatalf("before the restart, %s answered %q", first, answer)
	}
	c.agent.stop(syscall.SIGKILL)
	c.startAgent("--pod-network")
	c.waitCommit(c.git("rev-parse", "HEAD"), 0)
	pods, err := c.client.Pods(c.ctx(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if ips[p.Status.PodIP] != p.Name {
			t.Errorf("after the restart, pod %s has %q; it had %s", p.Name, p.Status.PodIP, addressOf(ips, p.Name))
		}
	}
	if answer := ask(); !strings.Contains(answer, "You've hit "+ips[first]) {
		t.Errorf("the connection opened before the restart answered %q", answer)
	}
	// port-forward reaches the adopted pod in its own network namespace
	// (not the node's loopback).
	forward := c.streamClient(t, ips[first])
	testutil.Await(t, 30*time.Second, func() error {
		if body, err := forward.forward("spdy"); err != nil || !strings.Contains(body, "You've hit "+ips[first]) {
			return fmt.Errorf("port-forward to %s after the restart: %q, %v", ips[first], body, err)
		}
		return nil
	})
}

// addressOf is the address a pod had.
func addressOf(ips map[string]string, pod string) string {
	for ip, name := range ips {
		if name == pod {
			return ip
		}
	}
	return "none"
}

// podIPOf is a pod's address.
func podIPOf(c *cluster, name string) string {
	for _, p := range c.pods() {
		if p.Name == name {
			return p.Status.PodIP
		}
	}
	return "none"
}

// awaitAnswer waits until a GET of url answers with want in the body (the
// agent applies a new service table a moment after the pods are ready).
func awaitAnswer(t *testing.T, url, want string) {
	t.Helper()
	testutil.Await(t, 10*time.Second, func() error {
		if answer := get(t, url); !strings.Contains(answer, want) {
			return fmt.Errorf("%s answered %q; want %q", url, answer, want)
		}
		return nil
	})
}

// get answers an HTTP GET, within 5 s.
func get(t *testing.T, url string) string {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// clusterApps is web (a Deployment of one behind a ClusterIP Service
// with a named port), db (a StatefulSet of one behind its headless
// Service), solo (a pod with a hostname and the subdomain of its headless
// Service), alias (an ExternalName Service for web's name), and a client
// pod, all listening on :8080 in their own networks.
const clusterApps = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: mongo, port: 27017, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec:
  hostname: solo-1
  subdomain: solo
  containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  clusterIP: None
  selector: {app: solo}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: alias}
spec:
  type: ExternalName
  externalName: web.default.svc.cluster.local
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]
`

// TestClusterDNS (issue #16, c and e): from inside a pod in its own
// network, web and its full name resolve to web's cluster IP, db-0.db to
// the StatefulSet pod's address, _http._tcp.web to its SRV record, and
// the ExternalName alias through its CNAME to web's cluster IP, and
// solo-1.solo (hostname and subdomain) to solo's address;
// http://web answers from the client pod, and from web's own pod through
// its Service (hairpin). A pod with dnsPolicy None gets exactly its
// dnsConfig (h). A host outside the cluster (a namespace of the
// test's, with no route to the pods) answers the client pod, which it
// sees as this machine: the pod's traffic is masqueraded.
func TestClusterDNS(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network")
	sha := c.commit("web, db and a client", map[string]string{"apps.yaml": clusterApps})
	c.waitCommit(sha, 0)
	var svcs corev1.ServiceList
	if err := c.client.List(c.ctx(), api.PathServices, "default", &svcs); err != nil {
		t.Fatal(err)
	}
	clusterIP := map[string]string{}
	for _, s := range svcs.Items {
		clusterIP[s.Name] = s.Spec.ClusterIP
	}
	podIP, web := map[string]string{}, ""
	for _, p := range c.pods() {
		podIP[p.Name] = p.Status.PodIP
		if strings.HasPrefix(p.Name, "web-") {
			web = p.Name
		}
	}
	c.execUntil("client", "app", []string{
		"web: " + clusterIP["web"] + "\n",
		"web.default.svc.cluster.local: " + clusterIP["web"] + "\n",
		"db-0.db: " + podIP["db-0"] + "\n",
		"_http._tcp.web.default.svc.cluster.local: SRV web.default.svc.cluster.local. 80\n",
		"alias: " + clusterIP["web"] + "\n",
		"solo-1.solo: " + podIP["solo"] + "\n",
	}, "/app", "-lookup", "web,web.default.svc.cluster.local,db-0.db,_http._tcp.web.default.svc.cluster.local,alias,solo-1.solo")
	for _, from := range []string{"client", web} {
		c.execUntil(from, "app", []string{"You've hit " + web}, "/app", "-get", "http://web/")
	}
	if out, code := c.berth("get", "endpointslices"); code != 0 || !strings.Contains(out, podIP["db-0"]) || !strings.Contains(out, "IPv4") {
		t.Errorf("berth get endpointslices exited %d:\n%s", code, out)
	}
	// (h) dnsPolicy None with a dnsConfig of its own: only what it says.
	custom := "apiVersion: v1\nkind: Pod\nmetadata: {name: custom}\nspec:\n  dnsPolicy: None\n" +
		"  dnsConfig: {nameservers: [10.96.0.10], searches: [svc.cluster.local], options: [{name: ndots, value: \"1\"}]}\n" +
		"  containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]\n"
	sha = c.commit("a pod with its own DNS settings", map[string]string{"custom.yaml": custom})
	c.waitCommit(sha, 0)
	c.execUntil("custom", "app", []string{`"search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:1\n"`}, "/app", "-cat", "/etc/resolv.conf", "-exit", "0")
	c.execUntil("custom", "app", []string{"web.default: " + clusterIP["web"] + "\n"}, "/app", "-lookup", "web.default")
	outside := outsideHost(t)
	c.execUntil("client", "app", []string{"from " + outside.host.String()}, "/app", "-get", "http://"+outside.server+"/")
}

// outside is a host outside the cluster: a network namespace of the
// test's, joined to this machine by a veth pair, with no route back to
// the pods' addresses.
type outside struct {
	host   netip.Addr // this machine's end of the link
	server string     // an HTTP server there that answers "from ADDRESS"
}

// outsideHost makes the outside host, removed when the test ends.
func outsideHost(t *testing.T) outside {
	t.Helper()
	const ns, hostEnd, outEnd = "berth-e2e-out", "berthout0", "berthout1"
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "delete", hostEnd).Run()
		exec.Command("ip", "netns", "delete", ns).Run()
	})
	run("netns", "add", ns)
	run("link", "add", hostEnd, "type", "veth", "peer", "name", outEnd)
	run("link", "set", outEnd, "netns", ns)
	run("addr", "add", "10.251.9.1/30", "dev", hostEnd)
	run("link", "set", hostEnd, "up")
	run("-n", ns, "addr", "add", "10.251.9.2/30", "dev", outEnd)
	run("-n", ns, "link", "set", outEnd, "up")
	var ln net.Listener
	err := netns.LoadNetNS("/run/netns/" + ns).Do(func(cnins.NetNS) (err error) {
		ln, err = net.Listen("tcp4", "10.251.9.2:8099")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "from %s\n", host)
	})}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return outside{host: netip.MustParseAddr("10.251.9.1"), server: "10.251.9.2:8099"}
}
