//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkMonorepo (B4): a repository of 10,000 manifests (5,000
// ConfigMaps and 5,000 Deployments scaled to zero, one per file); each run
// changes one ConfigMap and times `git commit` to `berth wait` exiting 0.
func BenchmarkMonorepo(b *testing.B) {
	const files = 10000
	c := newCluster(b)
	for i := range files / 2 {
		write(b, c.repo, fmt.Sprintf("config/c%05d.yaml", i), configMap(i, "v0"))
		write(b, c.repo, fmt.Sprintf("apps/d%05d.yaml", i), deployment(fmt.Sprintf("d%05d", i), 0, "v1"))
	}
	c.git("add", "-A")
	c.git("commit", "-q", "-m", "10,000 manifests")
	start := time.Now()
	c.startMaster()
	c.waitCommit(c.git("rev-parse", "HEAD"), 0)
	b.Logf("the first commit of %d manifests live %v after the master started", files, time.Since(start))
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		sha := c.commit(fmt.Sprintf("change %d", i), map[string]string{"config/c00042.yaml": configMap(42, fmt.Sprint("v", i+1))})
		c.waitCommit(sha, 0)
		times = append(times, time.Since(start))
	}
	recordTimes(b, "B4", "monorepo: one-file commit to live", fmt.Sprintf("%d manifests, one ConfigMap changed", files), 1, false, times)
}

func configMap(i int, v string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%05d\ndata:\n  version: %q\n  settings.yaml: |\n    a: 1\n    b: two\n", i, v)
}

func write(tb testing.TB, repo, name, data string) {
	p := filepath.Join(repo, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
