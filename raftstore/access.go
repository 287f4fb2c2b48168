package raftstore

import (
	"errors"
	"fmt"
	"sort"

	"github.com/berth-dev/berth/api"
)

// FormatAccess is the format from which the state holds tokens and the
// keys that node names are pinned to (v0.3.0).
const FormatAccess = 3

// TokenCommand adds a token or revokes one.
type TokenCommand struct {
	Add    *api.Token `json:"add,omitempty"`
	Revoke string     `json:"revoke,omitempty"`
}

// PinNodeCommand pins a node name to the hash of the public key its agent
// holds: the first agent that gets a certificate for a name keeps it, and
// another host cannot take it until the node is removed.
type PinNodeCommand struct {
	Node string `json:"node"`
	Key  string `json:"key"`
}

// Errors of access writes.
var (
	// ErrNodeTaken is returned when a node name is pinned to another key.
	ErrNodeTaken = errors.New("node name is taken by another host")
	// ErrUnknownToken is returned for a token ID the state does not hold.
	ErrUnknownToken = errors.New("no such token")
	// ErrTokenExists is returned when a token ID is taken.
	ErrTokenExists = errors.New("a token with this ID exists")
)

func (st *state) applyToken(c *TokenCommand) any {
	if st.Tokens == nil {
		st.Tokens = map[string]*api.Token{}
	}
	switch {
	case c.Add != nil:
		if st.Tokens[c.Add.ID] != nil {
			return fmt.Errorf("%w: %s", ErrTokenExists, c.Add.ID)
		}
		t := *c.Add
		st.Tokens[t.ID] = &t
	case c.Revoke != "":
		t := st.Tokens[c.Revoke]
		if t == nil {
			return fmt.Errorf("%w: %s", ErrUnknownToken, c.Revoke)
		}
		cp := *t
		cp.Revoked = true
		st.Tokens[t.ID] = &cp
	}
	return nil
}

func (st *state) applyPinNode(c *PinNodeCommand) any {
	if st.NodeKeys == nil {
		st.NodeKeys = map[string]string{}
	}
	if k, ok := st.NodeKeys[c.Node]; ok && k != c.Key {
		return fmt.Errorf("%w: %s (remove it with `berth delete node %s` to let a new host take the name)", ErrNodeTaken, c.Node, c.Node)
	}
	st.NodeKeys[c.Node] = c.Key
	return nil
}

// AddToken stores a new token (ErrFormatOff while a master older than
// v0.3.0 votes).
func (s *Store) AddToken(t *api.Token) error {
	_, err := s.apply(TokenType, TokenCommand{Add: t})
	return err
}

// RevokeToken marks a token revoked; it stops working at once.
func (s *Store) RevokeToken(id string) error {
	if s.Token(id) == nil {
		return fmt.Errorf("%w: %s", ErrUnknownToken, id)
	}
	_, err := s.apply(TokenType, TokenCommand{Revoke: id})
	return err
}

// Token returns a copy of the token of an ID, or nil.
func (s *Store) Token(id string) *api.Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.state.Tokens[id]; t != nil {
		cp := *t
		return &cp
	}
	return nil
}

// Tokens lists every token, revoked ones included, by ID.
func (s *Store) Tokens() []api.Token {
	s.mu.RLock()
	out := make([]api.Token, 0, len(s.state.Tokens))
	for _, t := range s.state.Tokens {
		out = append(out, *t)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PinNode pins a node name to a key hash; ErrNodeTaken when the name is
// pinned to another.
func (s *Store) PinNode(node, key string) error {
	if s.NodeKey(node) == key {
		return nil
	}
	_, err := s.apply(PinNodeType, PinNodeCommand{Node: node, Key: key})
	return err
}

// NodeKey is the key hash a node name is pinned to ("" for none).
func (s *Store) NodeKey(node string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.NodeKeys[node]
}

// PodNode is the node a pod (by key) is bound to ("" for none).
func (s *Store) PodNode(key string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.state.Pods[key]; p != nil {
		return p.Spec.NodeName
	}
	return ""
}
