//go:build e2e

package e2e

import (
	"context"
	"fmt"
	mathrand "math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// link is a network namespace joined to the host by a veth pair: the host
// end has .1, the namespace end .2 of a /24.
type link struct {
	ns, hostDev, hostIP, nsIP string
}

// newLink makes the namespace and the veth pair; the test's cleanup
// removes them.
func newLink(t *testing.T) *link {
	t.Helper()
	id := mathrand.IntN(200) + 20
	l := &link{ns: fmt.Sprintf("berth-e2e-%d", id), hostDev: fmt.Sprintf("bh%d", id),
		hostIP: fmt.Sprintf("10.231.%d.1", id), nsIP: fmt.Sprintf("10.231.%d.2", id)}
	nsDev := fmt.Sprintf("bn%d", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", l.ns)
	t.Cleanup(func() {
		exec.Command("ip", "route", "del", "blackhole", l.nsIP+"/32").Run()
		exec.Command("ip", "netns", "del", l.ns).Run()
		exec.Command("ip", "link", "del", l.hostDev).Run()
	})
	run("link", "add", l.hostDev, "type", "veth", "peer", "name", nsDev)
	run("link", "set", nsDev, "netns", l.ns)
	run("addr", "add", l.hostIP+"/24", "dev", l.hostDev)
	run("link", "set", l.hostDev, "up")
	run("netns", "exec", l.ns, "ip", "addr", "add", l.nsIP+"/24", "dev", nsDev)
	run("netns", "exec", l.ns, "ip", "link", "set", nsDev, "up")
	run("netns", "exec", l.ns, "ip", "link", "set", "lo", "up")
	return l
}

// cut partitions the namespace from the host: a blackhole route on each
// side drops every packet to the other (taking the link down would send
// them to the default route instead); heal removes the routes.
func (l *link) cut(t *testing.T)  { l.routes(t, "add") }
func (l *link) heal(t *testing.T) { l.routes(t, "del") }
func (l *link) routes(t *testing.T, op string) {
	t.Helper()
	for _, args := range [][]string{
		{"route", op, "blackhole", l.nsIP + "/32"},
		{"netns", "exec", l.ns, "ip", "route", op, "blackhole", l.hostIP + "/32"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func randomPort() int { return 20000 + mathrand.IntN(12000) }

// TestHALeaderPartitioned puts the first master, the leader, in its own
// network namespace and cuts it off: the two others elect a leader and a
// commit made during the partition goes live (the agent lists the cut-off
// master first); once the link is back the old leader follows, with the
// same state as the others, and every commit is in the log once.
func TestHALeaderPartitioned(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	l := newLink(t)
	h := newHAUnstarted(t, 3, "10s")
	h.netns["m1"] = l.ns
	h.apis["m1"], h.rafts["m1"] = fmt.Sprintf("%s:%d", l.nsIP, randomPort()), fmt.Sprintf("%s:%d", l.nsIP, randomPort())
	for _, name := range []string{"m2", "m3"} {
		h.apis[name], h.rafts[name] = fmt.Sprintf("%s:%d", l.hostIP, randomPort()), fmt.Sprintf("%s:%d", l.hostIP, randomPort())
	}
	h.startAll()
	if leader := h.leader(); leader != "m1" {
		t.Fatalf("leader %q; the test wants m1, in the namespace", leader)
	}
	h.startAgent("n1")
	h.waitCommit(h.commit("web v1", map[string]string{"web.yaml": deployment("web", 2, "v1")}), 0)

	l.cut(t)
	cut := time.Now()
	sha := h.commit("web v2 during the partition", map[string]string{"web.yaml": deployment("web", 2, "v2")})
	h.waitCommit(sha, 0)
	t.Logf("leader cut off to the next commit converged: %v", time.Since(cut).Round(time.Millisecond))
	if leader := h.leader(); leader == "m1" || leader == "" {
		t.Fatalf("leader during the partition: %q", leader)
	}

	l.heal(t)
	testutil.WaitFor(t, 30*time.Second, "m1 following again", func() bool {
		cl := h.clientOf("m1")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := cl.Self(ctx)
		return err == nil && s.State == "Follower" && s.Leader != "" && s.Leader != "m1"
	})
	h.agreeOnState("")
	h.checkRevisionLog()
	if n := h.runningByPod("web-"); n != 2 {
		t.Errorf("running web containers: %d, want 2", n)
	}
}
