package auth

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A handler behind the guard can take the connection over with a type
// assertion, as the WebSocket server of exec and attach does, and the
// audit records the upgrade as 101.
func TestStatusRecorderHijacks(t *testing.T) {
	recorded := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		var h http.ResponseWriter = rec
		hj, ok := h.(http.Hijacker)
		if !ok {
			t.Error("statusRecorder is not an http.Hijacker")
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello\n")
		rw.Flush()
		conn.Close()
		recorded <- rec.status()
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n"))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %v, %v", resp, err)
	}
	if line, _ := r.ReadString('\n'); line != "hello\n" {
		t.Errorf("after the upgrade, read %q", line)
	}
	if got := <-recorded; got != http.StatusSwitchingProtocols {
		t.Errorf("the audit status of an upgrade is %d, want 101", got)
	}
}
