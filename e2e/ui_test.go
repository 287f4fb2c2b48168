//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"

	"github.com/berth-dev/berth/internal/testutil"
)

// browser starts Debian's headless Chromium for a test. It trusts the
// master's serving key alone (--ignore-certificate-errors-spki-list
// pins it), not any certificate.
func (c *cluster) browser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("Debian's chromium is not installed (make test-deps installs it): %v", err)
	}
	conn, err := tls.Dial("tcp", c.api, &tls.Config{InsecureSkipVerify: true}) // only to read the key to pin
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	conn.Close()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
		chromedp.UserDataDir(filepath.Join(c.dir, "chromium")), chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return tctx
}

// screenshot saves the page as NAME.png in the test's folder (and in
// $BERTH_UI_SCREENSHOTS when set, to look at after the test).
func (c *cluster) screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	for _, dir := range []string{c.dir, os.Getenv("BERTH_UI_SCREENSHOTS")} {
		if dir != "" {
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
}

// TestUIRevisions signs in with a viewer's token and goes, by keyboard
// alone, from the timeline (which shows a refused commit's errors) to a
// revision and its diff against the one before; every control of each
// page has an accessible name.
func TestUIRevisions(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	v1 := c.commit("web x1", map[string]string{"web.yaml": deployment("web", 1, "v1")})
	c.waitCommit(v1, 0)
	v2 := c.commit("web x2", map[string]string{"web.yaml": deployment("web", 2, "v1")})
	c.waitCommit(v2, 0)
	bad := c.commit("web x-1", map[string]string{"web.yaml": deployment("web", -1, "v1")})
	c.waitCommit(bad, 1)
	token := c.viewerToken(t)
	ctx := c.browser(t)
	base := "https://" + c.api + "/ui/"
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	must("open the UI", c.navigate(ctx, base, "#token"))
	c.screenshot(t, ctx, "signin")
	c.accessibleNames(t, ctx, "the sign-in page")
	// The token field has the focus: type the token, and Enter.
	must("sign in by keyboard", chromedp.Do(ctx, chromedp.KeyEvent(token+"\r"), chromedp.WaitVisible("table.timeline")))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML("body"))
	must("read the timeline", err)
	for _, want := range []string{v1[:7], v2[:7], bad[:7], "rejected", "spec.replicas: must be", "Signed in as user:"} {
		if !strings.Contains(html, want) {
			t.Errorf("the timeline has no %q:\n%s", want, html)
		}
	}
	c.screenshot(t, ctx, "timeline")
	c.accessibleNames(t, ctx, "the timeline")

	// Tab to v2's link, Enter; on its page, Tab to "Show the diff", Enter.
	c.tabTo(t, ctx, fmt.Sprintf(`a[href="/ui/revisions/%s"]`, v2))
	must("open the revision", chromedp.Do(ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible("form.compare")))
	c.screenshot(t, ctx, "revision")
	c.accessibleNames(t, ctx, "a revision")
	c.tabTo(t, ctx, "form.compare button")
	must("open the diff", chromedp.Do(ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible("#diff-title")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	diff, err := chromedp.Run(ctx, chromedp.OuterHTML("main"))
	must("read the diff", err)
	if !strings.Contains(loc, "/ui/diff?") || !strings.Contains(diff, "Deployment/default/web") || !strings.Contains(diff, "spec.replicas") {
		t.Errorf("the diff of %s against %s (at %s) does not show the replicas:\n%s", v2[:7], v1[:7], loc, diff)
	}
	c.screenshot(t, ctx, "diff")
	c.accessibleNames(t, ctx, "the diff")
}

// viewerToken mints a viewer's token.
func (c *cluster) viewerToken(t testing.TB) string {
	t.Helper()
	out, code := c.berth("token", "create", "--role", "viewer", "--description", "ui test")
	if code != 0 {
		t.Fatalf("berth token create: exit %d: %s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// TestUILiveCluster shows a namespace's workloads as a tree, with each
// pod's commit, and a pod that a new commit brings appears on the open
// page without a reload.
func TestUILiveCluster(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("web x2", map[string]string{"web.yaml": deployment("web", 2, "v1")}), 0)
	ctx := c.browser(t)
	if err := c.navigate(ctx, "https://"+c.api+"/ui/", "#token"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(c.viewerToken(t)+"\r"), chromedp.WaitVisible("table.timeline")); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if err := c.navigate(ctx, "https://"+c.api+"/ui/cluster", "table.nodes"); err != nil {
		t.Fatal(err)
	}
	nodes, _ := chromedp.Run(ctx, chromedp.Text("table.nodes"))
	if !strings.Contains(nodes, "n0") || !strings.Contains(nodes, "Ready") {
		t.Errorf("the cluster page's nodes: %q", nodes)
	}
	c.screenshot(t, ctx, "cluster")
	c.accessibleNames(t, ctx, "the cluster page")
	if err := c.navigate(ctx, "https://"+c.api+"/ui/namespaces/default", "ul.tree"); err != nil {
		t.Fatal(err)
	}
	c.screenshot(t, ctx, "namespace")
	c.accessibleNames(t, ctx, "a namespace")
	// A mark in the page's window: a reload would lose it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.berthMark = 7")); err != nil {
		t.Fatal(err)
	}
	api := c.commit("api x1", map[string]string{"api.yaml": deployment("api", 1, "v1")})
	var text string
	testutil.Await(t, 60*time.Second, func() error {
		var err error
		text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		if err == nil && (!strings.Contains(text, "api-") || !strings.Contains(text, api[:7])) {
			err = fmt.Errorf("no pod of api from %s on the page yet:\n%s", api[:7], text)
		}
		return err
	})
	if mark, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.berthMark")); err != nil || mark != 7 {
		t.Errorf("the page was reloaded (mark %d, %v)", mark, err)
	}
	c.screenshot(t, ctx, "namespace-live")
}

// navigate opens a page and waits for sel, again when Chromium saw the
// machine's network change (the agent adds a pod's veth) and gave up.
func (c *cluster) navigate(ctx context.Context, url, sel string) error {
	var err error
	for range 5 {
		if err = chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(sel)); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
			return err
		}
	}
	return err
}

// tabTo presses Tab until the element that sel finds has the focus (at
// most 60 times).
func (c *cluster) tabTo(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	check := fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)
	for range 60 {
		if focused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](check)); err == nil && focused {
			return
		}
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("60 Tabs did not reach %s", sel)
}

// accessibleNames fails the test for each control (link, button, text
// field) of the page without a name in Chromium's accessibility tree.
func (c *cluster) accessibleNames(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatalf("accessibility tree of %s: %v", where, err)
	}
	controls := 0
	for _, n := range tree.Nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		role := strings.Trim(string(n.Role.Value), `"`)
		switch role {
		case "link", "button", "textbox", "combobox", "checkbox":
			controls++
			if n.Name == nil || strings.Trim(string(n.Name.Value), `" `) == "" {
				t.Errorf("%s: a %s without an accessible name", where, role)
			}
		}
	}
	if controls == 0 {
		t.Errorf("%s: no controls in the accessibility tree", where)
	}
}

// TestUIPodLog follows a pod's log on its page: an operator sees the
// lines the container writes after the page opened, without a reload.
func TestUIPodLog(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("ticker", map[string]string{"ticker.yaml": `apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: tick
    image: kubia:v1
    imagePullPolicy: Never
    command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
`}), 0)
	out, code := c.berth("token", "create", "--role", "operator", "--description", "ui log test")
	if code != 0 {
		t.Fatalf("berth token create: exit %d: %s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ctx := c.browser(t)
	if err := c.navigate(ctx, "https://"+c.api+"/ui/", "#token"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(lines[len(lines)-1]+"\r"), chromedp.WaitVisible("table.timeline")); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if err := c.navigate(ctx, "https://"+c.api+"/ui/namespaces/default/pods/ticker", "pre[data-log]"); err != nil {
		t.Fatal(err)
	}
	last := func() int {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("pre[data-log]").textContent`))
		n := -1
		for _, l := range strings.Split(text, "\n") {
			var i int
			if _, err := fmt.Sscanf(l, "tick %d", &i); err == nil && i > n {
				n = i
			}
		}
		return n
	}
	var first int
	testutil.WaitFor(t, 30*time.Second, "the log's first lines on the page", func() bool { first = last(); return first >= 0 })
	testutil.WaitFor(t, 30*time.Second, "lines written after the page opened", func() bool { return last() >= first+10 })
	c.screenshot(t, ctx, "pod")
	c.accessibleNames(t, ctx, "a pod")
}
