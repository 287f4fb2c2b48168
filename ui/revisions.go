package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
)

// pageSize is how many revisions a page of the timeline shows.
const pageSize = 50

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"short":     short,
	"firstLine": func(s string) string { l, _, _ := strings.Cut(strings.TrimSpace(s), "\n"); return l },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"add": func(a, b int) int { return a + b },
}

// short is a commit's first 7 characters, as Git abbreviates it.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// timelineData is a page of the timeline, newest first.
type timelineData struct {
	Entries        []api.LogEntry
	Live           string
	Page, Pages    int
	Total          int
	PrevPage, Next int // 0 when there is none
}

// timeline is the first page: the revision log, newest first, a page at
// a time (?page=N), each commit with its outcome, author, signature,
// times, rollout and, when refused, every error.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	log := s.cfg.Source.Log()
	pages := max(1, (len(log)+pageSize-1)/pageSize)
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	n = min(n, pages)
	d := timelineData{Live: s.cfg.Source.LiveCommit(), Page: n, Pages: pages, Total: len(log)}
	// Newest first: page 1 is the end of the log.
	hi := len(log) - (n-1)*pageSize
	lo := max(0, hi-pageSize)
	for i := hi - 1; i >= lo; i-- {
		d.Entries = append(d.Entries, log[i])
	}
	if n > 1 {
		d.PrevPage = n - 1
	}
	if n < pages {
		d.Next = n + 1
	}
	s.render(w, http.StatusOK, "timeline", page{Title: "Revisions", Who: id.String(), Data: d})
}

// revisionData is one revision with what it changed and what a revert
// or a rollback to it would bring back.
type revisionData struct {
	Entry    api.LogEntry
	Live     string
	Previous string // the applied revision before it ("" when none)
	Revert   []api.FieldChange
	Rollback []api.FieldChange
	Problem  string // why a preview could not be made
}

// revision shows one commit of the log.
func (s *Server) revision(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	commit := r.PathValue("commit")
	log := s.cfg.Source.Log()
	i := slices.IndexFunc(log, func(e api.LogEntry) bool {
		return e.Commit == commit || len(commit) >= 7 && strings.HasPrefix(e.Commit, commit)
	})
	if i < 0 {
		s.render(w, http.StatusNotFound, "error", page{Title: "Not found", Who: id.String(), Error: fmt.Sprintf("commit %s is not in the revision log", commit)})
		return
	}
	d := revisionData{Entry: log[i], Live: s.cfg.Source.LiveCommit()}
	for j := i - 1; j >= 0; j-- {
		if log[j].Outcome == api.OutcomeApplied {
			d.Previous = log[j].Commit
			break
		}
	}
	if d.Entry.Outcome == api.OutcomeApplied {
		d.Revert, d.Rollback, d.Problem = s.previews(d.Entry, d.Live)
	}
	s.render(w, http.StatusOK, "revision", page{Title: "Revision " + short(d.Entry.Commit), Who: id.String(), Data: d})
}

// previews are the images and replica counts that reverting a commit
// (its parent's, for what it changed) and rolling back to it (against
// the live revision) would bring back.
func (s *Server) previews(e api.LogEntry, live string) (revert, rollback []api.FieldChange, problem string) {
	this, err := s.cfg.Source.Objects(e.Commit)
	if err != nil {
		return nil, nil, err.Error()
	}
	if len(e.Parents) > 0 {
		parent, err := s.cfg.Source.Objects(e.Parents[0])
		if err != nil {
			return nil, nil, fmt.Sprintf("its parent %s: %v", e.Parents[0], err)
		}
		revert = imagesAndReplicas(api.FieldDiff(this, parent))
	}
	if live != "" && live != e.Commit {
		current, err := s.cfg.Source.Objects(live)
		if err != nil {
			return revert, nil, fmt.Sprintf("the live revision %s: %v", live, err)
		}
		rollback = imagesAndReplicas(api.FieldDiff(current, this))
	}
	return revert, rollback, ""
}

// imagesAndReplicas keeps the changes of images and replica counts, and
// of objects added or removed.
func imagesAndReplicas(changes []api.FieldChange) []api.FieldChange {
	var out []api.FieldChange
	for _, c := range changes {
		if c.Field == "" || strings.HasSuffix(c.Field, ".image") || strings.HasSuffix(c.Field, "spec.replicas") {
			out = append(out, c)
		}
	}
	return out
}

// diffData is the field-level diff of two revisions.
type diffData struct {
	From, To string
	Changes  []api.FieldChange
}

// diff compares the objects of two commits (?from=&to=), field by field;
// the values of Secrets are never shown.
func (s *Server) diff(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" || to == "" {
		s.render(w, http.StatusBadRequest, "error", page{Title: "Diff", Who: id.String(), Error: "a diff takes two commits: ?from=COMMIT&to=COMMIT"})
		return
	}
	var sets [2]*api.ObjectSet
	for i, c := range []string{from, to} {
		objs, err := s.cfg.Source.Objects(c)
		if err != nil {
			s.render(w, http.StatusNotFound, "error", page{Title: "Diff", Who: id.String(), Error: fmt.Sprintf("commit %s: %v", c, err)})
			return
		}
		sets[i] = objs
	}
	d := diffData{From: from, To: to, Changes: redactSecrets(api.FieldDiff(sets[0], sets[1]))}
	s.render(w, http.StatusOK, "diff", page{Title: "Diff", Who: id.String(), Data: d})
}

// redactSecrets hides the values of Secrets' fields: a diff says that a
// key changed, never to what.
func redactSecrets(changes []api.FieldChange) []api.FieldChange {
	for i := range changes {
		c := &changes[i]
		if strings.HasPrefix(c.Object, "Secret/") && (strings.HasPrefix(c.Field, "data") || strings.HasPrefix(c.Field, "stringData")) {
			if c.Old != "" {
				c.Old = "(hidden)"
			}
			if c.New != "" {
				c.New = "(hidden)"
			}
		}
	}
	return changes
}
