// Package crilog writes container logs in the CRI log format the kubelet
// uses, with size-based rotation. It needs nothing but the standard
// library, so that the logging binary the containerd shim starts for each
// container (cmd/berth-logger) starts in a few milliseconds.
package crilog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Container logs are written in the CRI log format the kubelet uses, one
// line per line of output: "<RFC3339Nano time> <stdout|stderr> <F|P>
// <text>", P marking a part of a line longer than MaxLineBytes. The file
// rotates at a size, as the kubelet's containerLogMaxSize does.
const (
	MaxLineBytes = 16 << 10
	// DefaultLogMaxBytes and DefaultLogMaxFiles are the kubelet's
	// defaults (containerLogMaxSize 10Mi, containerLogMaxFiles 5).
	DefaultLogMaxBytes = 10 << 20
	DefaultLogMaxFiles = 5
)

// LogWriter appends the lines of a container's streams to its log file
// and rotates it: path.1 is the newest rotated file, path.(maxFiles-1)
// the oldest kept.
type LogWriter struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64
	maxBytes int64
	maxFiles int
	// Now gives the time of each line (time.Now; tests set another).
	Now func() time.Time
}

// NewLogWriter opens (appending) the log file at path.
func NewLogWriter(path string, maxBytes int64, maxFiles int) (*LogWriter, error) {
	w := &LogWriter{path: path, maxBytes: maxBytes, maxFiles: max(maxFiles, 1), Now: time.Now}
	return w, w.open()
}

func (w *LogWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Copy writes every line read from r, tagged with stream, until r ends.
func (w *LogWriter) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 || (err == nil && !isPrefix) {
			tag := "F"
			if isPrefix {
				tag = "P"
			}
			if werr := w.write(stream, tag, line); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (w *LogWriter) write(stream, tag string, text []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(w.Now().UTC().Format(time.RFC3339Nano))
	b.WriteString(" " + stream + " " + tag + " ")
	b.Write(text)
	b.WriteByte('\n')
	if w.size > 0 && w.size+int64(b.Len()) > w.maxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(b.Bytes())
	w.size += int64(n)
	return err
}

// rotate shifts path.i to path.(i+1), dropping the oldest, and starts a
// new path.
func (w *LogWriter) rotate() error {
	w.f.Close()
	for i := w.maxFiles - 1; i >= 1; i-- {
		from := w.path
		if i > 1 {
			from = fmt.Sprintf("%s.%d", w.path, i-1)
		}
		if i == w.maxFiles-1 {
			os.Remove(fmt.Sprintf("%s.%d", w.path, i))
		}
		os.Rename(from, fmt.Sprintf("%s.%d", w.path, i))
	}
	if w.maxFiles == 1 {
		os.Remove(w.path)
	}
	return w.open()
}

// Close closes the file.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// Files returns a log's files, oldest first: its rotated files, then
// the current one.
func Files(path string) []string {
	var rotated []string
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.%d", path, i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		rotated = append([]string{p}, rotated...)
	}
	return append(rotated, path)
}

// LogCommand is the argument the containerd shim passes a logging binary
// before the log's path: `berth-logger log-to PATH` (or `berth log-to
// PATH`).
const LogCommand = "log-to"

// RunShimLogger is the logging binary's body. The shim hands it the
// container's stdout and stderr as file descriptors 3 and 4, and waits
// for descriptor 5 to close before it starts the container. It writes
// both streams to path in the CRI log format until the container ends.
// Because the shim owns it, logging goes on while the agent restarts.
func RunShimLogger(path string) error {
	stdout, stderr, ready := os.NewFile(3, "stdout"), os.NewFile(4, "stderr"), os.NewFile(5, "ready")
	w, err := NewLogWriter(path, DefaultLogMaxBytes, DefaultLogMaxFiles)
	ready.Close()
	if err != nil {
		return fmt.Errorf("log-to %s: %w", path, err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []struct {
		name string
		f    *os.File
	}{{"stdout", stdout}, {"stderr", stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Copy(s.name, s.f)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
