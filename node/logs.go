package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/node/crilog"
)

func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.AgentPathLogs+"{namespace}/{pod}", a.handleLogs)
	a.streamRoutes(mux)
	mux.HandleFunc("GET "+api.AgentPathStats, a.handleStats)
	mux.Handle("GET "+api.AgentPathMetrics, a.metrics.handler())
	return mux
}

// handleLogs serves a container's log with the query parameters of the
// Kubernetes log API: container, follow, previous, tailLines,
// sinceSeconds, sinceTime, timestamps, limitBytes.
func (a *Agent) handleLogs(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	opts, err := ParseLogOptions(r.URL.Query(), time.Now())
	if err != nil {
		logError(w, http.StatusBadRequest, err.Error())
		return
	}
	wk := a.workerFor(ns, name)
	if wk == nil {
		logError(w, http.StatusNotFound, fmt.Sprintf("pod %s/%s is not on node %s", ns, name, a.cfg.Name))
		return
	}
	container, path := wk.logPath(r.URL.Query().Get("container"))
	if opts.Previous && path != "" {
		if path = previousLog(path); path == "" {
			logError(w, http.StatusBadRequest, fmt.Sprintf("previous terminated container %q in pod %q not found", container, name))
			return
		}
	}
	if path == "" {
		logError(w, http.StatusNotFound, fmt.Sprintf("container %q of pod %s/%s has no log yet", container, ns, name))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	lw := &logWriter{w: w, opts: opts}
	f, more, err := writeLogTo(lw, path)
	if err != nil {
		logError(w, http.StatusNotFound, fmt.Sprintf("container %q of pod %s/%s has no log: %v", container, ns, name, err))
		return
	}
	defer f.Close()
	if more && opts.Follow && !opts.Previous {
		followLog(r.Context(), http.NewResponseController(w).Flush, lw, f, path)
	}
}

func writeLogTo(lw *logWriter, path string) (*os.File, bool, error) {
	f, more, err := WriteLog(lw.w, path, lw.opts)
	if err != nil {
		return nil, false, err
	}
	if f == nil {
		f, err = os.Open(os.DevNull)
		return f, false, err
	}
	return f, more, nil
}

// previousLog is the log of the attempt before the one at path
// (".../<attempt>.log").
func previousLog(path string) string {
	n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(path), ".log"))
	if err != nil || n == 0 {
		return ""
	}
	return filepath.Join(filepath.Dir(path), fmt.Sprintf("%d.log", n-1))
}

// followLog streams the lines appended to f, and to the files that
// replace it at path when it rotates, until the request ends or
// limitBytes is reached.
func followLog(ctx context.Context, flush func() error, lw *logWriter, f *os.File, path string) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	t := &tailer{lw: lw, buf: make([]byte, 32<<10)}
	for {
		flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !t.drain(f) {
			return
		}
		if next := rotated(f, path); next != nil {
			// What was written just before the rotation, then the files
			// rotated since, newest last, then the new file.
			ok := t.drain(f) && t.drainNewer(f, path)
			f.Close()
			f = next
			if !ok || !t.drain(f) {
				return
			}
		}
	}
}

// tailer turns what is appended to a log file into lines.
type tailer struct {
	lw      *logWriter
	pending []byte
	buf     []byte
}

// drain writes every complete line f has now; false once the client is
// gone or limitBytes is reached.
func (t *tailer) drain(f *os.File) bool {
	for {
		n, err := f.Read(t.buf)
		t.pending = append(t.pending, t.buf[:n]...)
		for {
			i := bytes.IndexByte(t.pending, '\n')
			if i < 0 {
				break
			}
			if !t.lw.line(parseLogLine(t.pending[:i])) {
				return false
			}
			t.pending = t.pending[i+1:]
		}
		if err == io.EOF || n == 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// drainNewer drains the rotated files newer than f (f was rotated away
// from path to path.i: path.(i-1) … path.1 are newer). When f is no
// longer kept, every rotated file is newer.
func (t *tailer) drainNewer(f *os.File, path string) bool {
	cur, err := f.Stat()
	if err != nil {
		return true
	}
	files := crilog.Files(path)
	rotated := files[:len(files)-1] // oldest first
	start := 0
	for i, p := range rotated {
		if st, err := os.Stat(p); err == nil && os.SameFile(st, cur) {
			start = i + 1
		}
	}
	for _, p := range rotated[start:] {
		g, err := os.Open(p)
		if err != nil {
			continue
		}
		ok := t.drain(g)
		g.Close()
		if !ok {
			return false
		}
	}
	return true
}

// rotated returns the new file at path when f was rotated away, else nil.
func rotated(f *os.File, path string) *os.File {
	cur, err1 := f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || os.SameFile(cur, now) {
		return nil
	}
	next, err := os.Open(path)
	if err != nil {
		return nil
	}
	return next
}

// removeLogsBefore deletes the log files (rotated ones too) of the
// attempts before keep in the folder of path.
func removeLogsBefore(path string, keep int) {
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), ".")
		if n, err := strconv.Atoi(num); err == nil && n < keep {
			os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
}

// logError answers a log request with the JSON error body the master
// passes on.
func logError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
