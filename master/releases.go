package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/api"
)

// releasePoll is how often the leader asks every master which release it
// runs: a master replaced by a newer binary is seen within it, and the
// cluster's format turned on once the last one is.
const releasePoll = 2 * time.Second

// releases are the masters' releases as the leader last found them
// (Consul's autopilot asks its servers the same way). They decide the
// cluster's format, which is recorded in Raft; this copy only shows them
// before the format records them, and is empty on followers.
type releases struct {
	mu    sync.Mutex
	seen  map[string]api.Member
	check sync.Mutex // held by checkReleases
}

func (r *releases) set(ms []api.Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = map[string]api.Member{}
	for _, m := range ms {
		r.seen[m.Name] = m
	}
}

func (r *releases) get(name string) (api.Member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.seen[name]
	return m, ok
}

// releaseLoop (leader) finds the release each master runs, records those
// that changed, and turns on the newest format that all of them read.
func (m *Master) releaseLoop(ctx context.Context, firstPass chan<- struct{}) {
	defer m.releases.set(nil)
	for {
		m.checkReleases(ctx)
		if firstPass != nil {
			close(firstPass)
			firstPass = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(releasePoll):
		}
	}
}

func (m *Master) checkReleases(ctx context.Context) {
	m.releases.check.Lock() // the loop and joins: one at a time (each may make a key)
	defer m.releases.check.Unlock()
	live := m.askReleases(ctx)
	m.releases.set(live)
	on, err := m.store.EnableFormat(live)
	if err != nil {
		m.log.Warn("cannot turn on the cluster's new format", "err", err)
		return
	}
	m.ensureTokens()
	m.ensureKeys()
	if on < 1 {
		return // the masters' releases are recorded from format 1
	}
	for _, mem := range live {
		if got, ok := m.store.Member(mem.Name); ok && got == mem {
			continue
		}
		if _, err := m.store.RecordMember(mem); err != nil {
			m.log.Warn("cannot record a master's release", "master", mem.Name, "err", err)
		}
	}
}

// askReleases asks every master in the configuration, in parallel, for
// its release; one that does not answer is left out.
func (m *Master) askReleases(ctx context.Context) []api.Member {
	ms, err := m.store.Members()
	if err != nil {
		return nil
	}
	found := make([]*api.Member, len(ms))
	var wg sync.WaitGroup
	for i, ms := range ms {
		mem := ms.Member
		if mem.Name == m.cfg.Name {
			self := m.self()
			found[i] = &self
			continue
		}
		if mem.APIAddr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.getSelf(ctx, mem.APIAddr)
			if err != nil {
				m.log.Debug("a master does not say its release", "master", mem.Name, "api", mem.APIAddr, "err", err)
				return
			}
			mem.Version, mem.Format = s.Version, s.Format // empty and 0 before v0.1.0
			found[i] = &mem
		}()
	}
	wg.Wait()
	var out []api.Member
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// getSelf asks a master for its own view (answered by that master, not
// forwarded).
func (m *Master) getSelf(ctx context.Context, addr string) (api.SelfStatus, error) {
	var s api.SelfStatus
	addr = peerURL(addr)
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+api.PathSelf, nil)
	if err != nil {
		return s, err
	}
	resp, err := m.sec.peers.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("%s%s: HTTP %d", addr, api.PathSelf, resp.StatusCode)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// masters lists the Raft configuration with each master's addresses and
// release: as recorded in Raft, or as the leader last found it.
func (m *Master) masters() ([]api.MemberStatus, error) {
	ms, err := m.store.Members()
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if live, ok := m.releases.get(ms[i].Name); ok {
			ms[i].Version, ms[i].Format = live.Version, live.Format
		}
		if ms[i].Name == m.cfg.Name {
			ms[i].Version, ms[i].Format = m.store.Release().Version, m.store.Release().Format
		}
	}
	return ms, nil
}
