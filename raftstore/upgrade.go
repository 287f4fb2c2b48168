package raftstore

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berth-dev/berth/api"
)

// formatMemberReleases is the format from which the FSM records each
// master's Version and Format: a master before it drops those fields.
const formatMemberReleases = 1

// FormatPodCIDRs is the format from which plans give nodes their pod
// CIDRs (api.Plan.PodCIDRs, api.Node.PodCIDR): a master before it halts
// on the field.
const FormatPodCIDRs = 2

// kindFormats is the format from which a revision may hold each kind
// that format 0 did not have: a master before it would drop the objects.
var kindFormats = map[string]int{"NetworkPolicy": FormatPodCIDRs, "Ingress": 4, "IngressClass": 4,
	"GatewayClass": 4, "Gateway": 4, "HTTPRoute": 4, "ReferenceGrant": 4,
	"StorageClass": formatStorage, "PersistentVolume": formatStorage, "PersistentVolumeClaim": formatStorage}

// formatStorage is the format that records volumes and claims (v0.5.0).
const formatStorage = 4

// RefusedKind returns why a revision's objects cannot be recorded while
// the cluster runs an older format ("" when they can): the first object
// whose kind an older master that votes cannot read.
func (s *Store) RefusedKind(objs *api.ObjectSet) string {
	on := s.ClusterFormat()
	for _, key := range objs.Keys() {
		kind, _, _ := strings.Cut(key, "/")
		if f := kindFormats[kind]; f > on {
			return fmt.Sprintf("%s: refused while a master older than %s votes (it cannot read %s objects; berth members shows the releases): "+
				"upgrade every master first", key, releaseOf(f), kind)
		}
	}
	return ""
}

// Release is the release this store runs.
func (s *Store) Release() Release { return s.release }

// ClusterFormat is the format the cluster has turned on: what every
// master reads.
func (s *Store) ClusterFormat() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.Format
}

// formatAllows refuses a command whose entry type the cluster's format
// does not have yet.
func (s *Store) formatAllows(t MessageType) error {
	k, ok := s.release.kind(t)
	if !ok {
		return fmt.Errorf("raftstore: entry type %d is unknown to %s", t, s.release)
	}
	if t == FormatType {
		return nil // EnableFormat checks every master's release itself
	}
	if on := s.ClusterFormat(); k.format > on {
		return fmt.Errorf("%w: a %s entry needs format %d, and the cluster runs format %d until every master runs %s or newer",
			ErrFormatOff, k.name, k.format, on, releaseOf(k.format))
	}
	return nil
}

// EnableFormat turns on the newest format that every master in the Raft
// configuration reads, given the releases the leader found them running,
// and records those releases (leader only). A master missing from
// members (unreachable, say) holds the cluster at its current format. It
// returns the cluster's format afterwards.
func (s *Store) EnableFormat(members []api.Member) (int, error) {
	cfg := s.raft.GetConfiguration()
	if err := cfg.Error(); err != nil {
		return s.ClusterFormat(), err
	}
	byName := map[string]api.Member{}
	for _, m := range members {
		byName[m.Name] = m
	}
	target := s.release.Format
	var recorded []api.Member
	for _, srv := range cfg.Configuration().Servers {
		m, ok := byName[string(srv.ID)]
		if !ok {
			return s.ClusterFormat(), nil
		}
		target = min(target, m.Format)
		recorded = append(recorded, m)
	}
	on := s.ClusterFormat()
	if target <= on {
		return on, nil
	}
	sort.Slice(recorded, func(i, j int) bool { return recorded[i].Name < recorded[j].Name })
	if _, err := s.apply(FormatType, FormatCommand{Format: target, Version: s.release.Version, Members: recorded}); err != nil {
		return on, err
	}
	s.log.Info("the cluster turned on a new format: every master reads it", "format", target, "release", releaseOf(target))
	return target, nil
}

// admits refuses a master that cannot read the cluster's format.
func (s *Store) admits(m api.Member) error {
	if on := s.ClusterFormat(); m.Format < on {
		version := m.Version
		if version == "" {
			version = "older than v0.1.0"
		}
		return fmt.Errorf("%w: master %s runs berth %s, which reads format %d, and the cluster runs format %d: start it with berth %s or newer",
			ErrFormatOff, m.Name, version, m.Format, on, releaseOf(on))
	}
	return nil
}

// planForFormat strips from a plan what the cluster's format does not
// have yet: the leader's reconciler leaves it out already, and this
// keeps a plan made just before a format change from reaching an older
// master.
func (s *Store) planForFormat(p api.Plan) api.Plan {
	if s.ClusterFormat() < FormatPodCIDRs {
		p.PodCIDRs = nil
	}
	if s.ClusterFormat() < formatStorage {
		p.Volumes, p.ForgetVolumes, p.Claims, p.DeleteClaims = nil, nil, nil, nil
	}
	return p
}

// batchForFormat strips from a status batch what the cluster's format
// does not have yet.
func (s *Store) batchForFormat(b api.StatusBatch) api.StatusBatch {
	if s.ClusterFormat() < formatStorage {
		b.VolumesDeleted, b.Volumes, b.Conditions = nil, nil, nil
	}
	return b
}

// StorageOn reports whether the cluster records volumes and claims
// (format 4): the leader plans storage only then.
func (s *Store) StorageOn() bool { return s.ClusterFormat() >= formatStorage }

// forFormat strips from a member record what the cluster's format does
// not have yet (an older master would drop it).
func (s *Store) forFormat(m api.Member) api.Member {
	if s.ClusterFormat() < formatMemberReleases {
		m.Version, m.Format = "", 0
	}
	return m
}
