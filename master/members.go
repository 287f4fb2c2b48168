package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/raftstore"
)

// headerForwarded marks a request a master forwarded to the leader, so
// that it is never forwarded twice.
const headerForwarded = "X-Berth-Forwarded-By"

// forwarding sends writes, and reads without ?stale, to the leader when
// this master does not lead: reads are consistent by default, and a
// follower's own state is there for ?stale reads (as Consul and Nomad do).
// A master's own view (PathSelf) and pod logs are always answered here.
func (m *Master) forwarding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answeredHere(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !m.waitLeader(r.Context()) {
			writeError(w, http.StatusServiceUnavailable, errors.New("no leader is known: an election may be under way"))
			return
		}
		if m.store.IsLeader() {
			next.ServeHTTP(w, r)
			return
		}
		if by := r.Header.Get(headerForwarded); by != "" {
			writeError(w, http.StatusServiceUnavailable, errors.New("forwarded by "+by+" to "+m.cfg.Name+", which does not lead: retry"))
			return
		}
		leader := m.store.LeaderAPI()
		if leader == "" { // the leader changed since waitLeader looked
			writeError(w, http.StatusServiceUnavailable, errors.New("no leader is known: an election may be under way"))
			return
		}
		m.proxyTo(leader).ServeHTTP(w, r)
	})
}

// leaderWait is how long a request waits for this master to be ready and
// a leader to be known (an election, a restart) before it is refused.
const leaderWait = 5 * time.Second

// waitLeader waits until this master has replayed its log and either
// leads or knows the leader's API address.
func (m *Master) waitLeader(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	select {
	case <-m.ready:
	case <-ctx.Done():
		return false
	}
	for !m.store.IsLeader() && m.store.LeaderAPI() == "" {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

func answeredHere(r *http.Request) bool {
	if r.Method == http.MethodGet && r.URL.Query().Has("stale") {
		return true
	}
	return r.URL.Path == api.PathSelf || strings.HasSuffix(r.URL.Path, "/log") || strings.HasPrefix(r.URL.Path, api.PathLogs)
}

// proxyTo is a reverse proxy to another master's API; it streams (logs,
// long polls) and answers 503 when that master cannot be reached, so that
// clients try another.
func (m *Master) proxyTo(addr string) http.Handler {
	target := &url.URL{Scheme: "https", Host: addr}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Header.Set(headerForwarded, m.cfg.Name)
			// The leader believes this from a master's certificate only.
			pr.Out.Header.Set(auth.ForwardedHeader, auth.EncodeForwarded(auth.From(pr.In.Context())))
		},
		Transport:     m.sec.peers.Transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, http.StatusServiceUnavailable, errors.New("forwarding to the leader at "+addr+": "+err.Error()))
		},
	}
}

func (m *Master) handleMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := m.masters()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, ms)
}

func (m *Master) handleSelf(w http.ResponseWriter, r *http.Request) {
	s := m.store.Self(m.cfg.Name)
	if p := m.passes.latest(); p != nil && s.State == "Leader" {
		s.Reconciled = p.view.Index
	}
	writeJSON(w, s)
}

func (m *Master) handleJoin(w http.ResponseWriter, r *http.Request) {
	var mem api.Member
	if !decode(w, r, &mem) {
		return
	}
	if mem.Name == "" || mem.RaftAddr == "" || mem.APIAddr == "" {
		writeError(w, http.StatusBadRequest, errors.New("join: name, raftAddr and apiAddr are required"))
		return
	}
	m.log.Info("master joining", "name", mem.Name, "raft", mem.RaftAddr, "api", mem.APIAddr, "version", mem.Version, "format", mem.Format)
	// A new cluster turns its format on before its second master joins,
	// not at the next pass of the release loop, which a master that dies
	// in the cluster's first moments would hold back for good.
	m.checkReleases(r.Context())
	err := m.store.AddVoter(mem)
	if errors.Is(err, raftstore.ErrFormatOff) {
		m.log.Warn("join refused", "name", mem.Name, "err", err)
		writeError(w, http.StatusConflict, err)
		return
	}
	writeResult(w, err)
}

func (m *Master) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := m.store.RemoveServer(name)
	if errors.Is(err, raftstore.ErrNotMember) {
		writeError(w, http.StatusNotFound, err)
		return
	}
	if err == nil {
		m.log.Info("master removed", "name", name)
	}
	writeResult(w, err)
}

// self is this master's entry in the member list, with its release.
func (m *Master) self() api.Member {
	r := m.store.Release()
	return api.Member{Name: m.cfg.Name, RaftAddr: m.store.RaftAddr(), APIAddr: m.advertise(), Version: r.Version, Format: r.Format}
}

// advertise is the API address other masters use to reach this one.
func (m *Master) advertise() string {
	if m.cfg.Advertise != "" {
		return m.cfg.Advertise
	}
	return m.Addr()
}

// join asks the masters at cfg.Join to add this one, each in turn, until
// one accepts (a follower forwards the request to the leader).
func (m *Master) join(ctx context.Context) error {
	body, _ := json.Marshal(m.self())
	delay := 200 * time.Millisecond
	for {
		var errs []string
		if m.isMember() { // added, though the answer was lost
			m.log.Info("joined the cluster: this master is in the Raft configuration")
			return nil
		}
		for _, addr := range m.cfg.Join {
			err := m.postJSON(ctx, addr, api.PathJoin, body)
			if err == nil {
				m.log.Info("joined the cluster", "via", addr)
				return nil
			}
			errs = append(errs, err.Error())
		}
		m.log.Warn("joining failed; retrying", "errors", strings.Join(errs, "; "), "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// isMember tells whether this master is in the Raft configuration it has.
func (m *Master) isMember() bool {
	ms, err := m.store.Members()
	if err != nil {
		return false
	}
	for _, mem := range ms {
		if mem.Name == m.cfg.Name {
			return true
		}
	}
	return false
}

// postJSON posts body to another master and reads its error, if any.
func (m *Master) postJSON(ctx context.Context, addr, path string, body []byte) error {
	addr = peerURL(addr)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.sec.peers.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s%s: HTTP %d: %s", addr, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// recordSelf makes sure the FSM holds this leader's API address, so that
// followers can forward to it.
func (m *Master) recordSelf() {
	me := m.self()
	if got, ok := m.store.Member(me.Name); ok && got.APIAddr == me.APIAddr && got.RaftAddr == me.RaftAddr {
		return // its release is recorded by checkReleases, once the format has it
	}
	if _, err := m.store.RecordMember(me); err != nil {
		m.log.Warn("cannot record this master's address", "err", err)
	}
}
