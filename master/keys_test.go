package master

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/pki"
)

const sealedSecret = `apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: sentinel-8f3e1c}
---
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  volumes: [{name: creds, secret: {secretName: db}}]
  containers: [{name: app, image: kubia:v1}]
`

// TestSecretsSealedAtRest: a Secret committed to Git enters Raft sealed
// under the cluster's data key, reaches its node in plaintext, and is
// sealed again under a new key after a rotation; its value is in no file
// under the master's data directory (Raft log, snapshots).
func TestSecretsSealedAtRest(t *testing.T) {
	var dir string
	c, repo := startMaster(t, func(cfg *Config) {
		dir, cfg.SnapshotThreshold, cfg.SnapshotInterval = cfg.DataDir, 4, 100*time.Millisecond
	})
	sha := testutil.GitCommit(t, repo, "db.yaml", sealedSecret)
	waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit == sha })
	ctx := context.Background()
	keys, err := c.Keys(ctx)
	if err != nil || len(keys.Keys) != 1 || keys.Keys[0].Secrets != 1 || keys.Plaintext != 0 {
		t.Fatalf("keys status after the commit: %+v, %v", keys, err)
	}
	n1 := clientAs(t, dir, strings.TrimPrefix(c.Servers()[0], "https://"), pki.Identity{Kind: pki.KindNode, Name: "n1", Role: api.RoleAgent})
	secretOf := func() string {
		a := registerAndAssign(t, n1, "n1", 1)
		if len(a.Secrets) != 1 {
			t.Fatalf("assignments hold %d Secrets", len(a.Secrets))
		}
		return string(a.Secrets[0].Data["password"])
	}
	if got := secretOf(); got != "sentinel-8f3e1c" {
		t.Errorf("the node got %q", got)
	}

	first := keys.Keys[0].ID
	if _, err := c.RotateKey(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Await(t, 15*time.Second, func() error {
		keys, err = c.Keys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys.Keys {
			if k.Primary == (k.ID == first) || (k.Primary && k.Secrets != 1) || (!k.Primary && k.Secrets != 0) {
				return fmt.Errorf("keys after rotation: %+v", keys)
			}
		}
		return nil
	})
	if got := secretOf(); got != "sentinel-8f3e1c" {
		t.Errorf("after rotation the node got %q", got)
	}
	testutil.Await(t, 15*time.Second, func() error {
		if s, err := c.Self(ctx); err != nil || s.Snapshot == 0 {
			return fmt.Errorf("no snapshot yet (%v)", err)
		}
		return nil
	})
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(path)
		for _, form := range []string{"sentinel-8f3e1c", base64.StdEncoding.EncodeToString([]byte("sentinel-8f3e1c"))} {
			if strings.Contains(string(data), form) {
				t.Errorf("%s holds the Secret's value", path)
			}
		}
		return nil
	})
}
