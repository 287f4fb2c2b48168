package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
)

func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestFailover(t *testing.T) {
	good := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"liveCommit":"abc","converged":true}`))
	}))
	defer good.Close()
	var busyCalls atomic.Int32
	busy := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		busyCalls.Add(1)
		http.Error(w, `{"error":"not the raft leader"}`, http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	c, err := New([]string{closedAddr(t), busy.URL, strings.TrimPrefix(good.URL, "https://")}, testTLS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Status(context.Background(), 0, 0)
	if err != nil || s.LiveCommit != "abc" {
		t.Fatalf("status %+v, %v; want the answer of the third server", s, err)
	}
	// The next request starts at the server that answered.
	if _, err := c.Status(context.Background(), 0, 0); err != nil || busyCalls.Load() != 1 {
		t.Fatalf("second request: %v, the busy server asked %d times; want once in all", err, busyCalls.Load())
	}
}

func TestErrorsNameTheServerAndMessage(t *testing.T) {
	bad := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"pod default/x not found or not scheduled"}`))
	}))
	defer bad.Close()
	c, _ := New([]string{bad.URL}, testTLS)
	_, err := c.Logs(context.Background(), "default", "x", nil)
	if err == nil || err.Error() != "server: pod default/x not found or not scheduled (HTTP 404)" {
		t.Fatalf("error %v", err)
	}
	addr := closedAddr(t)
	c, _ = New([]string{addr}, testTLS)
	if _, err := c.Heartbeat(context.Background(), "n"); err == nil || !strings.Contains(err.Error(), addr+api.PathHeartbeat) {
		t.Fatalf("connection error %v does not name the address", err)
	}
	if _, err := New([]string{" ", ""}, testTLS); err == nil {
		t.Fatal("no server accepted")
	}
}

// TestLongPollMovesWithTheOthers: a long poll hangs on a master that was
// cut off; once another request succeeds on the next master, the poll
// gives up the first and is answered by the next at once.
func TestLongPollMovesWithTheOthers(t *testing.T) {
	release, polling := make(chan struct{}), make(chan struct{}, 1)
	defer close(release)
	cutOff := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			select {
			case polling <- struct{}{}:
			default:
			}
			select { // never answers, as a master behind a partition
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		http.Error(w, `{"error":"no leader"}`, http.StatusServiceUnavailable)
	}))
	defer cutOff.Close()
	good := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"liveCommit":"abc"}`))
	}))
	defer good.Close()
	c, _ := New([]string{cutOff.URL, good.URL}, testTLS)
	got := make(chan error, 1)
	go func() {
		_, err := c.Status(context.Background(), 7, 30*time.Second)
		got <- err
	}()
	<-polling // the poll waits on cutOff
	if _, err := c.Heartbeat(context.Background(), "n1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("long poll: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll still waits on the cut-off master")
	}
}

// TestConnectionsAreReused makes calls one after another, as an agent's
// heartbeats and status answers go, against a server that ends its JSON
// with a newline (as json.Encoder does) and one that answers errors: they
// all share one connection.
func TestConnectionsAreReused(t *testing.T) {
	var dials atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hb api.Heartbeat
		switch {
		case r.URL.Path != api.PathHeartbeat:
			w.Write([]byte("{\"liveCommit\":\"abc\"}\n"))
		case json.NewDecoder(r.Body).Decode(&hb) == nil && hb.Name == "n1":
			w.Write([]byte("{}\n")) // an answer the client does not read
		default:
			http.Error(w, `{"error":"unknown node"}`, http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	c, err := New([]string{srv.URL}, testTLS)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 20 {
		if _, err := c.Status(ctx, 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Heartbeat(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Heartbeat(ctx, "n2"); err == nil {
			t.Fatal("the heartbeat of an unknown node succeeded")
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("60 calls one after another opened %d connections; want 1", n)
	}
}

// testTLS trusts the certificate every httptest TLS server shows.
var testTLS = func() Option {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return WithTLS(&tls.Config{RootCAs: pool})
}()
