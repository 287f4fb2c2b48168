package node

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

// TestHeartbeatsKeepTheMastersPace: an agent whose own interval is 20 ms
// spaces its heartbeats out to the 300 ms the master asks for.
func TestHeartbeatsKeepTheMastersPace(t *testing.T) {
	const asked = 300 * time.Millisecond
	arrivals := make(chan time.Time, 16)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.PathHeartbeat {
			http.NotFound(w, r)
			return
		}
		arrivals <- time.Now()
		w.Write([]byte(`{"intervalMillis":300}`))
	}))
	defer srv.Close()
	c, err := client.New([]string{srv.URL}, client.WithTLS(srv.Client().Transport.(*http.Transport).TLSClientConfig))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), Hollow: true, Heartbeat: 20 * time.Millisecond}, c, NewHollowRuntime(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := agentContext(t, a)
	a.spawn(func() { a.heartbeatLoop(ctx) })
	var times []time.Time
	for len(times) < 4 {
		times = append(times, <-arrivals)
	}
	for i := 1; i < len(times); i++ { // the first answer sets the pace
		if gap := times[i].Sub(times[i-1]); gap < asked-50*time.Millisecond {
			t.Errorf("heartbeat %d came %v after the one before; the master asked for %v", i+1, gap, asked)
		}
	}
}
