package raftstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
)

// TestAccessState: tokens are added once, revoked for good, and survive a
// restart; a node name pinned to one key refuses another until the node
// is removed.
func TestAccessState(t *testing.T) {
	c := newInmem(t)
	s := c.start("m0", Release{})
	if _, err := s.EnableFormat(c.members()); err != nil {
		t.Fatal(err)
	}
	tok := api.Token{TokenInfo: api.TokenInfo{ID: "aaaaaa", Role: api.RoleAgent, Created: time.Now().UTC()}, SecretHash: "h"}
	if err := s.AddToken(&tok); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(&tok); !errors.Is(err, ErrTokenExists) {
		t.Errorf("the same ID twice: %v", err)
	}
	if err := s.RevokeToken("aaaaaa"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken("zzzzzz"); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("revoking an unknown token: %v", err)
	}
	if got := s.Token("aaaaaa"); got == nil || !got.Revoked || got.Usable(time.Now()) {
		t.Errorf("revoked token: %+v", got)
	}
	if _, err := s.RegisterNode(&api.Registration{Name: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PinNode("n1", "key-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.PinNode("n1", "key-a"); err != nil {
		t.Errorf("the same key again: %v", err)
	}
	if err := s.PinNode("n1", "key-b"); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("another key for a pinned name: %v", err)
	}
	s.Close()
	s = c.start("m0", Release{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if s.NodeKey("n1") != "key-a" || len(s.Tokens()) != 1 {
		t.Errorf("after a restart: pin %q, tokens %v", s.NodeKey("n1"), s.Tokens())
	}
	if _, err := s.RemoveNode("n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.PinNode("n1", "key-b"); err != nil {
		t.Errorf("a removed node's name for a new host: %v", err)
	}
}
