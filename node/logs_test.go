package node

import (
	"bytes"
	"context"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/node/crilog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func fixedClock(start time.Time) func() time.Time {
	t := start
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func writeLines(t *testing.T, w *crilog.LogWriter, stream string, lines ...string) {
	t.Helper()
	if err := w.Copy(stream, strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
}

func readLog(t *testing.T, path string, q url.Values) string {
	t.Helper()
	opts, err := ParseLogOptions(q, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	f, _, err := WriteLog(&b, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		f.Close()
	}
	return b.String()
}

func TestLogFormatAndOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := crilog.NewLogWriter(path, crilog.DefaultLogMaxBytes, crilog.DefaultLogMaxFiles)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = fixedClock(t0)
	writeLines(t, w, "stdout", "one", "two")
	writeLines(t, w, "stderr", "three")
	w.Close()
	raw, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(raw), "2026-11-22T12:00:01Z stdout F one\n") || !strings.Contains(string(raw), "2026-11-22T12:00:03Z stderr F three\n") {
		t.Fatalf("file:\n%s", raw)
	}
	cases := []struct {
		q    string
		want string
	}{
		{"", "one\ntwo\nthree\n"},
		{"tailLines=2", "two\nthree\n"},
		{"tailLines=0", ""},
		{"timestamps=true&tailLines=1", "2026-11-22T12:00:03Z three\n"},
		{"sinceTime=2026-11-22T12:00:02Z", "two\nthree\n"},
		{"limitBytes=6", "one\ntw"},
	}
	for _, tc := range cases {
		q, _ := url.ParseQuery(tc.q)
		if got := readLog(t, path, q); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.q, got, tc.want)
		}
	}
	if _, err := ParseLogOptions(url.Values{"tailLines": {"-2"}}, t0); err == nil {
		t.Error("tailLines=-2 accepted")
	}
}

func TestLongLinesAreSplitAndJoined(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, _ := crilog.NewLogWriter(path, crilog.DefaultLogMaxBytes, crilog.DefaultLogMaxFiles)
	long := strings.Repeat("x", crilog.MaxLineBytes*2+10)
	writeLines(t, w, "stdout", long, "short")
	w.Close()
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), " stdout P "); n != 2 {
		t.Errorf("%d partial lines, want 2", n)
	}
	if got := readLog(t, path, url.Values{"tailLines": {"2"}}); got != long+"\nshort\n" {
		t.Errorf("joined log is %d bytes, want %d", len(got), len(long)+7)
	}
}

func TestLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, _ := crilog.NewLogWriter(path, 200, 3)
	for i := range 20 {
		writeLines(t, w, "stdout", strings.Repeat(string(rune('a'+i)), 40))
	}
	w.Close()
	files := crilog.Files(path)
	if len(files) != 3 || files[0] != path+".2" {
		t.Fatalf("files %v; want path.2, path.1, path", files)
	}
	got := readLog(t, path, nil)
	if !strings.HasSuffix(got, strings.Repeat("t", 40)+"\n") || strings.Contains(got, strings.Repeat("a", 40)) {
		t.Errorf("after rotation the log holds:\n%s", got)
	}
}

func TestPreviousLog(t *testing.T) {
	if got := previousLog("/x/app/3.log"); got != "/x/app/2.log" {
		t.Errorf("previous of 3.log: %q", got)
	}
	if got := previousLog("/x/app/0.log"); got != "" {
		t.Errorf("previous of 0.log: %q", got)
	}
}

// TestFollowAcrossRotation follows a log while its writer rotates it
// several times between two reads, and checks that no line is lost (as
// long as the rotated files are still kept).
func TestFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, _ := crilog.NewLogWriter(path, 300, 20)
	writeLines(t, w, "stdout", "first")
	rec := &lockedRecorder{ResponseRecorder: httptest.NewRecorder()}
	opts, _ := ParseLogOptions(nil, t0)
	lw := &logWriter{w: rec, opts: opts}
	f, _, err := writeLogTo(lw, path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { followLog(ctx, func() error { rec.Flush(); return nil }, lw, f, path); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := range 30 {
		writeLines(t, w, "stdout", strings.Repeat("n", 20)+string(rune('A'+i)))
	}
	w.Close()
	testutil.WaitFor(t, 10*time.Second, "the last line followed", func() bool {
		return strings.Contains(rec.String(), strings.Repeat("n", 20)+"^")
	})
	cancel()
	<-done
	got := rec.String()
	for i := range 30 {
		if !strings.Contains(got, strings.Repeat("n", 20)+string(rune('A'+i))+"\n") {
			t.Fatalf("line %d lost while following:\n%s", i, got)
		}
	}
}

// lockedRecorder is a ResponseRecorder the test may read while a handler
// writes to it.
type lockedRecorder struct {
	mu sync.Mutex
	*httptest.ResponseRecorder
}

func (r *lockedRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ResponseRecorder.Write(b)
}

func (r *lockedRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ResponseRecorder.Flush()
}

func (r *lockedRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Body.String()
}
