package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/node/crilog"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"
)

// LogOptions are the query parameters of a Kubernetes log request.
type LogOptions struct {
	Follow     bool
	Previous   bool
	Tail       int // lines from the end; -1 for all
	Since      time.Time
	Timestamps bool
	LimitBytes int64 // 0 for no limit
}

// ParseLogOptions reads follow, previous, tailLines, sinceSeconds,
// sinceTime, timestamps and limitBytes as the Kubernetes API names them.
func ParseLogOptions(q url.Values, now time.Time) (LogOptions, error) {
	o := LogOptions{Tail: -1, Follow: q.Get("follow") == "true", Previous: q.Get("previous") == "true", Timestamps: q.Get("timestamps") == "true"}
	var err error
	if s := q.Get("tailLines"); s != "" {
		if o.Tail, err = strconv.Atoi(s); err != nil || o.Tail < 0 {
			return o, fmt.Errorf("tailLines=%q: want a number of lines, 0 or more", s)
		}
	}
	if s := q.Get("limitBytes"); s != "" {
		if o.LimitBytes, err = strconv.ParseInt(s, 10, 64); err != nil || o.LimitBytes <= 0 {
			return o, fmt.Errorf("limitBytes=%q: want a number of bytes above 0", s)
		}
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("sinceSeconds=%q: want a number of seconds above 0", s)
		}
		o.Since = now.Add(-time.Duration(n) * time.Second)
	}
	if s := q.Get("sinceTime"); s != "" {
		if !o.Since.IsZero() {
			return o, errors.New("sinceSeconds and sinceTime: only one may be set")
		}
		if o.Since, err = time.Parse(time.RFC3339, s); err != nil {
			return o, fmt.Errorf("sinceTime=%q: want an RFC 3339 time", s)
		}
	}
	return o, nil
}

// logLine is one line of a CRI log file.
type logLine struct {
	at      time.Time
	text    []byte // without the newline
	partial bool
}

// parseLogLine splits "<time> <stream> <F|P> <text>". A line that is not
// in that format (a log written by an older berth) is kept whole, with no
// time.
func parseLogLine(b []byte) logLine {
	parts := bytes.SplitN(b, []byte(" "), 4)
	if len(parts) == 4 {
		if at, err := time.Parse(time.RFC3339Nano, string(parts[0])); err == nil {
			return logLine{at: at, text: parts[3], partial: string(parts[2]) == "P"}
		}
	}
	return logLine{text: b}
}

// logWriter renders lines as kubectl shows them, counting bytes for
// limitBytes.
type logWriter struct {
	w       io.Writer
	opts    LogOptions
	written int64
	midLine bool // the last line written was partial
}

// line writes one line; it returns false once limitBytes is reached.
func (lw *logWriter) line(l logLine) bool {
	if !lw.opts.Since.IsZero() && !l.at.IsZero() && l.at.Before(lw.opts.Since) {
		return true
	}
	var b bytes.Buffer
	if lw.opts.Timestamps && !lw.midLine && !l.at.IsZero() {
		b.WriteString(l.at.UTC().Format(time.RFC3339Nano) + " ")
	}
	b.Write(l.text)
	if !l.partial {
		b.WriteByte('\n')
	}
	lw.midLine = l.partial
	out := b.Bytes()
	if lw.opts.LimitBytes > 0 && lw.written+int64(len(out)) > lw.opts.LimitBytes {
		out = out[:lw.opts.LimitBytes-lw.written]
	}
	n, err := lw.w.Write(out)
	lw.written += int64(n)
	return err == nil && (lw.opts.LimitBytes == 0 || lw.written < lw.opts.LimitBytes)
}

// WriteLog writes the log at path (its rotated files first) with the
// options' tail, since, timestamps and limit. It returns the open
// current file positioned at its end, for following, or nil.
func WriteLog(w io.Writer, path string, opts LogOptions) (*os.File, bool, error) {
	var lines []logLine
	var cur *os.File
	files := crilog.Files(path)
	for i, p := range files {
		f, err := os.Open(p)
		if err != nil {
			if i == len(files)-1 {
				return nil, false, err
			}
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, parseLogLine(bytes.Clone(sc.Bytes())))
		}
		if i == len(files)-1 {
			cur = f
		} else {
			f.Close()
		}
	}
	lines = tail(lines, opts.Tail)
	lw := &logWriter{w: w, opts: opts}
	for _, l := range lines {
		if !lw.line(l) {
			cur.Close()
			return nil, false, nil
		}
	}
	return cur, true, nil
}

// tail keeps the last n full lines (a partial line belongs with the line
// it starts).
func tail(lines []logLine, n int) []logLine {
	if n < 0 {
		return lines
	}
	full := 0
	for i := len(lines) - 1; i >= 0; i-- {
		if !lines[i].partial {
			if full == n {
				return lines[i+1:]
			}
			full++
		}
	}
	return lines
}
