package ui

import (
	"fmt"
	"net/http"
	"time"

	"github.com/berth-dev/berth/auth"
)

// liveEvery is the least time between two change events of a stream:
// a burst of changes (a rollout) makes one refresh of the page.
const liveEvery = 500 * time.Millisecond

// events is the server-sent event stream the pages of the live cluster
// follow (static/live.js): a "change" event, with the state's index,
// each time the state changes, at most every liveEvery. It ends with the
// request (the browser reconnects).
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	flush := http.NewResponseController(w).Flush
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	index := s.cfg.Source.Index()
	fmt.Fprintf(w, "retry: 2000\nevent: hello\ndata: %d\n\n", index)
	if flush() != nil {
		return
	}
	for {
		s.cfg.Source.Wait(ctx, index)
		if ctx.Err() != nil {
			return
		}
		index = s.cfg.Source.Index()
		fmt.Fprintf(w, "event: change\ndata: %d\n\n", index)
		if flush() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(liveEvery):
		}
	}
}
