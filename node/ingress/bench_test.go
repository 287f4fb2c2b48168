package ingress

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkProxy sends GETs through the proxy to a loopback backend from
// parallel clients on keep-alive connections (client, proxy and backend
// in one process).
func BenchmarkProxy(b *testing.B) {
	f := newProxyFixture(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", "http://"+f.http+"/", nil)
			req.Host = "shop.example.com"
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
