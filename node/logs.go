package node

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/berth-dev/berth/api"
)

func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.AgentPathLogs+"{namespace}/{pod}", a.handleLogs)
	return mux
}

// handleLogs serves a container's current log file; with follow=true it
// keeps sending what is appended until the client goes away.
func (a *Agent) handleLogs(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	wk := a.workerFor(ns, name)
	if wk == nil {
		http.Error(w, fmt.Sprintf(`{"error":"pod %s/%s is not on node %s"}`, ns, name, a.cfg.Name), http.StatusNotFound)
		return
	}
	container, path := wk.logPath(r.URL.Query().Get("container"))
	if path == "" {
		http.Error(w, fmt.Sprintf(`{"error":"container %q of pod %s/%s has no log yet"}`, container, ns, name), http.StatusNotFound)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"error":%q}`, err.Error()), http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := io.Copy(w, f); err != nil || r.URL.Query().Get("follow") != "true" {
		return
	}
	follow(w, r, f)
}

// follow streams what is appended to f until the request ends.
func follow(w http.ResponseWriter, r *http.Request, f *os.File) {
	flusher, _ := w.(http.Flusher)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	buf := make([]byte, 32<<10)
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		for {
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
			}
			if errors.Is(err, io.EOF) || n == 0 {
				break
			}
			if err != nil {
				return
			}
		}
	}
}
