package kubeapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/auth"
)

// maxWatch is how long a watch without timeoutSeconds lasts, at most
// (kube-apiserver: 30 to 60 minutes).
const maxWatch = 30 * time.Minute

// watchBuffer is how much of a watch's events is written at once.
const watchBuffer = 64 << 10

// initialEventsEnd annotates the bookmark that ends a WatchList's
// initial events.
const initialEventsEnd = "k8s.io/initial-events-end"

// watchStream writes one watch's events.
type watchStream struct {
	s     *Server
	w     io.Writer
	flush func() error
	id    auth.Identity
	sel   *selection
	table *tableAsked
	enc   *json.Encoder
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request, req request) {
	q := r.URL.Query()
	sel, err := newSelection(r, req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	initial := q.Get("sendInitialEvents") == "true"
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	rv := q.Get("resourceVersion")
	var from uint64
	if rv != "" && rv != "0" {
		if from, err = strconv.ParseUint(rv, 10, 64); err != nil {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("resourceVersion %q: not a number", rv)))
			return
		}
	}
	if initial && (!bookmarks || q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan)) {
		writeStatus(w, apierrors.NewBadRequest("sendInitialEvents=true takes allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan"))
		return
	}
	timeout := maxWatch + time.Duration(rand.Int64N(int64(maxWatch)))
	if t := q.Get("timeoutSeconds"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("timeoutSeconds %q: not a number of seconds", t)))
			return
		}
		timeout = min(time.Duration(n)*time.Second, timeout)
	}
	if !s.cache.waitIndex(r.Context(), from) {
		return
	}
	// Events are buffered and sent a batch at a time: over HTTP/2 each
	// write of a handler waits for the connection's frame writer.
	bw := bufio.NewWriterSize(w, watchBuffer)
	rc := http.NewResponseController(w)
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	ws := &watchStream{s: s, w: bw, id: identityOf(r), flush: flush, sel: sel, enc: json.NewEncoder(bw)}
	if f, ok := tableFormat(r); ok {
		ws.table = &f
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	pos := from
	if rv == "" || rv == "0" || initial {
		pos = ws.initial(from)
		if initial {
			ws.bookmark(pos, true)
		}
	}
	ws.flush()
	ws.follow(r, pos, bookmarks, timeout)
}

// initial sends an ADDED event for each object the selection keeps, and
// returns the index they are at.
func (ws *watchStream) initial(atLeast uint64) uint64 {
	objs, index := ws.s.cache.current(ws.sel.res.from)
	sort.Slice(objs, func(i, j int) bool { return objectKey(objs[i]) < objectKey(objs[j]) })
	for _, o := range objs {
		if ws.sel.matches(o) {
			ws.send(watch.Added, o)
		}
	}
	return max(index, atLeast)
}

// follow sends the changes after pos until the watch ends: its timeout,
// the client gone, or the server closing. A position older than the kept
// changes ends it with 410 Gone, which makes a client list again.
func (ws *watchStream) follow(r *http.Request, pos uint64, bookmarks bool, timeout time.Duration) {
	end := time.NewTimer(timeout)
	defer end.Stop()
	tick := time.NewTicker(ws.s.cfg.BookmarkEvery)
	defer tick.Stop()
	for {
		evs, next, now, gone := ws.s.cache.since(pos, ws.sel.res.from)
		if gone {
			st := apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", pos, now)).Status()
			st.Kind, st.APIVersion = "Status", "v1"
			ws.write(watch.Error, &st)
			ws.flush()
			return
		}
		for _, ev := range evs {
			if ev.resource == ws.sel.res.from {
				ws.change(ev)
			}
		}
		pos = max(pos, now)
		if ws.flush() != nil {
			return
		}
		select {
		case <-next:
		case <-tick.C:
			if bookmarks {
				ws.bookmark(pos, false)
				ws.flush()
			}
		case <-end.C:
			return
		case <-r.Context().Done():
			return
		case <-ws.s.ctx.Done():
			return
		}
	}
}

// change sends one change as the selection sees it: an object that
// enters the selection is ADDED, one that leaves it DELETED.
func (ws *watchStream) change(ev *event) {
	now := ws.sel.matches(ev.obj)
	was := ev.old != nil && ws.sel.matches(ev.old)
	typ := watch.EventType("")
	switch {
	case ev.typ == watch.Deleted && was:
		typ = watch.Deleted
	case ev.typ == watch.Deleted:
	case now && was:
		typ = watch.Modified
	case now:
		typ = watch.Added
	case was:
		typ = watch.Deleted
	}
	switch {
	case typ == "":
	case ws.table == nil && ws.sel.res.id == ev.resource && ev.resource != Secrets:
		ws.writeRaw(typ, ev.json()) // the same bytes for every such watch
	default:
		ws.send(typ, ev.obj)
	}
}

// writeRaw writes an event whose object is already JSON.
func (ws *watchStream) writeRaw(typ watch.EventType, raw []byte) {
	if raw == nil {
		return
	}
	buf := make([]byte, 0, len(raw)+32)
	buf = append(buf, `{"type":"`...)
	buf = append(buf, typ...)
	buf = append(buf, `","object":`...)
	buf = append(buf, raw...)
	buf = append(buf, "}\n"...)
	ws.w.Write(buf)
}

// send writes an object's event, as a one-row Table if asked.
func (ws *watchStream) send(typ watch.EventType, o Object) {
	o = ws.s.present(ws.id, ws.sel.res, o)
	if ws.table != nil {
		ws.write(typ, ws.s.table(ws.sel.res, *ws.table, []Object{o}, o.GetResourceVersion()))
		return
	}
	ws.write(typ, o)
}

// bookmark tells the client the index it has seen everything up to.
func (ws *watchStream) bookmark(pos uint64, initialEnd bool) {
	m := metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: ws.sel.res.apiVersion(), Kind: ws.sel.res.gvk.Kind},
		ObjectMeta: metav1.ObjectMeta{ResourceVersion: strconv.FormatUint(pos, 10)}}
	if initialEnd {
		m.Annotations = map[string]string{initialEventsEnd: "true"}
	}
	ws.write(watch.Bookmark, &m)
}

func (ws *watchStream) write(typ watch.EventType, obj any) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return
	}
	ws.enc.Encode(metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: raw}})
}
