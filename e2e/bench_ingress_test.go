//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/internal/testutil"
)

// benchIngress is one Deployment of kubia behind a Service and an
// Ingress for bench.example.com.
const benchIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench}
spec:
  rules:
  - host: bench.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`

// BenchmarkIngress (B10): requests per second and the 99th percentile
// latency of GETs through an agent's Ingress proxy, against the same GETs
// sent straight to the pod; 32 clients on keep-alive connections, 10 s
// each way, on this machine's loopback and pod bridge.
func BenchmarkIngress(b *testing.B) {
	c := newCluster(b)
	c.startMaster()
	_, httpPort, _ := net.SplitHostPort(freeAddr(b))
	_, httpsPort, _ := net.SplitHostPort(freeAddr(b))
	c.startAgent("--pod-network", "--ingress-ports", httpPort+","+httpsPort)
	c.waitCommit(c.commit("bench", map[string]string{"web.yaml": webService(1, 8080), "ingress.yaml": benchIngress}), 0)
	proxied := "http://127.0.0.1:" + httpPort + "/"
	testutil.Await(b, 30*time.Second, func() error {
		if got := getHost(proxied, "bench.example.com"); !strings.HasPrefix(got, "You've hit web-") {
			return fmt.Errorf("through the proxy: %q", got)
		}
		return nil
	})
	pods := c.pods()
	if len(pods) != 1 || pods[0].Status.PodIP == "" {
		b.Fatalf("want one pod with an address: %+v", pods)
	}
	direct := "http://" + net.JoinHostPort(pods[0].Status.PodIP, "8080") + "/"
	const clients, each = 32, 10 * time.Second
	work := fmt.Sprintf("%d keep-alive clients, %v, GET / of kubia (one pod)", clients, each)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, target := range []struct{ name, url string }{{"through the ingress proxy", proxied}, {"straight to the pod", direct}} {
			rps, p99 := load(b, target.url, "bench.example.com", clients, each)
			benchrow.Record(b, benchrow.Row{ID: "B10", Name: "requests/s " + target.name, Value: rps, Unit: "req/s", Better: "higher", Work: work})
			benchrow.Record(b, benchrow.Row{ID: "B10", Name: "p99 " + target.name, Value: float64(p99.Microseconds()) / 1000, Unit: "ms", Better: "lower", Work: work})
		}
	}
}

// getHost GETs url with a Host header and returns the body, or the error.
func getHost(url, host string) string {
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// load sends GETs from clients goroutines for d and returns the requests
// per second and the 99th percentile latency; any failed request fails
// the benchmark.
func load(b *testing.B, url, host string, clients int, d time.Duration) (float64, time.Duration) {
	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var all []time.Duration
	var failed error
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Host = host
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failed != nil || len(all) == 0 {
		b.Fatalf("load on %s: %d requests, %v", url, len(all), failed)
	}
	slices.Sort(all)
	return float64(len(all)) / d.Seconds(), all[len(all)*99/100]
}
