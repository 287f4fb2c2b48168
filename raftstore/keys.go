package raftstore

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// KeyringCommand adds a data key, wrapped, and makes it the primary one.
type KeyringCommand struct {
	Add api.WrappedKey `json:"add"`
}

// ResealCommand replaces stored Secrets with the same Secrets sealed
// again (under the primary key), if the live commit is still Commit: a
// new revision brings Secrets of its own, sealed as it is applied.
type ResealCommand struct {
	Commit  string          `json:"commit"`
	Secrets []corev1.Secret `json:"secrets"`
}

func (st *state) applyKeyring(c *KeyringCommand) {
	if !slices.ContainsFunc(st.Keys, func(k api.WrappedKey) bool { return k.ID == c.Add.ID }) {
		st.Keys = append(st.Keys, c.Add)
	}
	st.PrimaryKey = c.Add.ID
}

// applyReseal swaps the Secrets in; the desired set is replaced, never
// changed in place (View shares it).
func (st *state) applyReseal(c *ResealCommand) bool {
	if c.Commit != st.LiveCommit || st.Desired == nil {
		return false
	}
	byKey := map[string]*corev1.Secret{}
	for i := range c.Secrets {
		byKey[api.Key(c.Secrets[i].Namespace, c.Secrets[i].Name)] = &c.Secrets[i]
	}
	desired := *st.Desired
	desired.Secrets = slices.Clone(desired.Secrets)
	for i := range desired.Secrets {
		if s := byKey[api.Key(desired.Secrets[i].Namespace, desired.Secrets[i].Name)]; s != nil {
			desired.Secrets[i] = *s
		}
	}
	st.Desired = &desired
	return true
}

// AddKey adds a wrapped data key and makes it primary.
func (s *Store) AddKey(k api.WrappedKey) error {
	_, err := s.apply(KeyringType, KeyringCommand{Add: k})
	return err
}

// Keys are the wrapped data keys, oldest first, and the primary one's ID.
func (s *Store) Keys() ([]api.WrappedKey, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.state.Keys), s.state.PrimaryKey
}

// LiveDesired is the desired objects and the live commit they came from,
// read together (a reseal names the commit its Secrets were read at).
func (s *Store) LiveDesired() (*api.ObjectSet, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.Desired, s.state.LiveCommit
}

// Reseal stores Secrets sealed again, if commit is still live.
func (s *Store) Reseal(commit string, secrets []corev1.Secret) error {
	_, err := s.apply(ResealType, ResealCommand{Commit: commit, Secrets: secrets})
	return err
}
