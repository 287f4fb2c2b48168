//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/internal/testutil"
)

// uiPageTime is the median time of 20 GETs of a UI page (server time,
// over loopback), with a viewer's token; each answer must hold want.
func (c *cluster) uiPageTime(tb testing.TB, token, path, want string) time.Duration {
	took, _ := c.uiPage(tb, token, path, want)
	return took
}

// uiPage is uiPageTime, and the last page's body.
func (c *cluster) uiPage(tb testing.TB, token, path, want string) (time.Duration, []byte) {
	tb.Helper()
	hc := c.anonymous()
	var times []time.Duration
	var body []byte
	for range 20 {
		req, _ := http.NewRequest(http.MethodGet, "https://"+c.api+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		times = append(times, time.Since(start))
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			tb.Fatalf("GET %s: %d, %d bytes without %q", path, resp.StatusCode, len(body), want)
		}
	}
	slices.Sort(times)
	return times[len(times)/2], body
}

// BenchmarkUITimeline (B11): the first page of the timeline of 10,000
// revisions (10,000 commits pushed at once: one applied, the others
// superseded), rendered by the master.
func BenchmarkUITimeline(b *testing.B) {
	const commits = 10000
	c := newCluster(b)
	c.startMaster()
	// git fast-import writes the commits, each changing one ConfigMap.
	var in strings.Builder
	head := c.git("rev-parse", "HEAD")
	for i := range commits {
		data := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: counter}\ndata: {n: %q}\n", fmt.Sprint(i))
		fmt.Fprintf(&in, "commit refs/heads/main\ncommitter E2E <e2e@example.com> %d +0000\ndata %d\ncommit %d\n", 1700000000+i, len(fmt.Sprint("commit ", i)), i)
		if i == 0 {
			fmt.Fprintf(&in, "from %s\n", head)
		}
		fmt.Fprintf(&in, "M 644 inline counter.yaml\ndata %d\n%s\n", len(data), data)
	}
	imp := exec.Command("git", "fast-import", "--quiet")
	imp.Dir, imp.Stdin = c.repo, strings.NewReader(in.String())
	if out, err := imp.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
	c.git("reset", "-q", "--hard", "main")
	last := c.git("rev-parse", "HEAD")
	testutil.WaitFor(b, 5*time.Minute, "the 10,000th commit live", func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		return err == nil && s.LiveCommit == last
	})
	token := c.viewerToken(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		took, page := c.uiPage(b, token, "/ui/", last[:7])
		m := regexp.MustCompile(`(\d+) commits seen`).FindSubmatch(page)
		if m == nil || len(m[1]) < 5 {
			b.Fatalf("the timeline does not count 10,000 commits or more: %s", m)
		}
		benchrow.Record(b, benchrow.Row{ID: "B11", Name: "UI: first page of the timeline", Value: float64(took.Microseconds()) / 1000,
			Unit: "ms", Target: 200, Better: "lower", Work: fmt.Sprintf("%s revisions in the log; median of 20 GETs", m[1])})
	}
}
