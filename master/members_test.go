package master

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestThreeMasters joins two masters to a first one (one through a
// follower), then talks only to a follower: a registration (a write) and
// a status read reach the leader, a stale read answers from the follower,
// and once all have applied the same index their state digests agree.
func TestThreeMasters(t *testing.T) {
	c1, repo := startMaster(t, func(c *Config) { c.Name = "m1" })
	waitStatus(t, c1, func(s *api.Status) bool { return s.LiveCommit != "" })
	join := func(name string, via *client.Client) *client.Client {
		dir, _ := dataDirs.Load(c1) // the bootstrap master's token joins through any master
		token, err := os.ReadFile(filepath.Join(dir.(string), MasterTokenFile))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := startMaster(t, func(c *Config) {
			c.Name, c.Bootstrap, c.Join, c.Git.Repo = name, false, []string{strings.TrimPrefix(via.Servers()[0], "https://")}, repo
			c.Token = string(token)
		})
		return c
	}
	c2 := join("m2", c1)
	c3 := join("m3", c2)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ms, err := c3.Members(ctx)
	if err != nil || len(ms) != 3 {
		t.Fatalf("members %v %+v", err, ms)
	}
	leaders := 0
	for _, m := range ms {
		if m.Leader {
			leaders++
			if m.Name != "m1" {
				t.Errorf("leader %s; want m1", m.Name)
			}
		}
		if m.APIAddr == "" {
			t.Errorf("%s has no API address recorded", m.Name)
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders", leaders)
	}
	if err := c3.Register(ctx, &api.Registration{Name: "n1"}); err != nil {
		t.Fatalf("a write through a follower: %v", err)
	}
	s := waitStatus(t, c3, func(s *api.Status) bool { return s.Nodes == 1 })
	c2.Stale = true
	testutil.Await(t, 10*time.Second, func() error {
		st, err := c2.Status(ctx, 0, 0)
		if err != nil {
			return err
		}
		if st.Nodes != 1 || st.Index < s.Index {
			return fmt.Errorf("the stale read never saw the node: %d nodes at index %d", st.Nodes, st.Index)
		}
		return nil
	})
	testutil.Await(t, 10*time.Second, func() error {
		var selves []*api.SelfStatus
		for _, c := range []*client.Client{c1, c2, c3} {
			self, err := c.Self(ctx)
			if err != nil {
				return err
			}
			selves = append(selves, self)
		}
		if selves[0].Index != selves[1].Index || selves[1].Index != selves[2].Index {
			return fmt.Errorf("the masters never reached one index: %d %d %d", selves[0].Index, selves[1].Index, selves[2].Index)
		}
		if selves[0].Digest != selves[1].Digest || selves[1].Digest != selves[2].Digest {
			t.Fatalf("digests differ at index %d: %+v", selves[0].Index, selves)
		}
		if selves[0].State != "Leader" || selves[1].State != "Follower" {
			t.Errorf("states %s %s %s", selves[0].State, selves[1].State, selves[2].State)
		}
		return nil
	})
}
