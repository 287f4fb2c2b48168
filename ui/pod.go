package ui

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/auth"
)

// logTail is how many lines of a container's log a pod page shows
// before it follows.
const logTail = 200

// podData is a pod's page: its state, events and, for an operator, its
// log.
type podData struct {
	Pod     corev1.Pod
	Events  []corev1.Event
	CanLogs bool
}

// pod shows one pod: phase, node, commit, containers, events and (for
// operators, as the log API asks) its log, which static/log.js follows.
func (s *Server) pod(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	c := s.cfg.Source.Cluster(ns)
	i := slices.IndexFunc(c.Pods, func(p corev1.Pod) bool { return p.Namespace == ns && p.Name == name })
	if i < 0 {
		s.render(w, http.StatusNotFound, "error", page{Title: "Not found", Who: id.String(), Error: fmt.Sprintf("pod %s/%s does not exist", ns, name)})
		return
	}
	d := podData{Pod: c.Pods[i], Events: s.cfg.Source.Events(ns, "Pod", name), CanLogs: auth.Operate.Allows(id)}
	s.render(w, http.StatusOK, "pod", page{Title: "Pod " + name, Who: id.String(), Log: d.CanLogs, Data: d})
}

// podLog streams a pod's log as server-sent events, one "line" event a
// line: the last logTail lines, then what the container writes, until
// the request ends. Only operators read logs.
func (s *Server) podLog(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	if !auth.Operate.Allows(id) {
		http.Error(w, id.String()+" may not read logs: it takes the operator role", http.StatusForbidden)
		return
	}
	log, err := s.cfg.Source.PodLog(r.Context(), r.PathValue("namespace"), r.PathValue("pod"), logTail)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer log.Close()
	flush := http.NewResponseController(w).Flush
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	flush()
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if _, err := fmt.Fprintf(w, "event: line\ndata: %s\n\n", sc.Text()); err != nil || flush() != nil {
			return
		}
	}
}
