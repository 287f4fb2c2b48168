//go:build e2e

package e2e

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// TestServiceNetworkFlags: a master started with --service-cidr and
// --cluster-domain gives cluster IPs from its range; pods get the cluster
// DNS at the range's tenth address with the domain's search path, and
// names of that domain resolve; a commit whose Service asks for an
// address outside the range is refused with file and line.
func TestServiceNetworkFlags(t *testing.T) {
	c := newCluster(t)
	c.startMaster("--service-cidr", "10.100.0.0/16", "--cluster-domain", "berth.test")
	c.startAgent()
	sha := c.commit("web, db and a client", map[string]string{"apps.yaml": clusterApps})
	c.waitCommit(sha, 0)
	var svcs corev1.ServiceList
	if err := c.client.List(c.ctx(), api.PathServices, "default", &svcs); err != nil {
		t.Fatal(err)
	}
	web := ""
	for _, s := range svcs.Items {
		if s.Name == "web" {
			web = s.Spec.ClusterIP
		}
	}
	if ip, err := netip.ParseAddr(web); err != nil || !netip.MustParsePrefix("10.100.0.0/16").Contains(ip) {
		t.Fatalf("web's cluster IP %q; want one of --service-cidr 10.100.0.0/16", web)
	}
	c.execUntil("client", "app", []string{`nameserver 10.100.0.10\n`, `search default.svc.berth.test svc.berth.test berth.test`},
		"/app", "-cat", "/etc/resolv.conf", "-exit", "0")
	c.execUntil("client", "app", []string{"web: " + web + "\n", "web.default.svc.berth.test: " + web + "\n"},
		"/app", "-lookup", "web,web.default.svc.berth.test")

	bad := "apiVersion: v1\nkind: Service\nmetadata: {name: old}\nspec:\n  clusterIP: 10.96.0.50\n  ports: [{port: 80}]\n"
	c.waitCommit(c.commit("a Service outside the range", map[string]string{"old.yaml": bad}), 1)
	if out, _ := c.berth("status"); !strings.Contains(out, "old.yaml:5") || !strings.Contains(out, "not in the service range 10.100.0.0/16") {
		t.Errorf("berth status does not name the refused address with its file and line:\n%s", out)
	}
}
