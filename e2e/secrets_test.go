//go:build e2e

package e2e

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

const sentinel = "sentinel-5d1e9a"

func vaultRepo(password string) string {
	return `apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: ` + password + `}
---
apiVersion: v1
kind: Pod
metadata: {name: vault}
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{name: creds, secret: {secretName: creds}}]
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0"]
    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}]
    volumeMounts: [{name: creds, mountPath: /etc/creds}]
`
}

// TestSecretsStayOffDisk: a Secret committed to Git reaches its pod (a
// tmpfs volume, an env var), and its value is in no file on disk under
// the master's or the agent's data directory (Raft log, snapshots, pod
// folders), nor in their logs, nor in what history, show, diff and get
// events print — also after the data key is rotated.
func TestSecretsStayOffDisk(t *testing.T) {
	c := newCluster(t)
	audit := filepath.Join(c.dir, "audit.log")
	c.startMaster("--snapshot-threshold", "4", "--snapshot-interval", "200ms", "--audit-log", audit)
	c.startAgent()
	first := c.commit("vault", map[string]string{"vault.yaml": vaultRepo(sentinel)})
	c.waitCommit(first, 0)
	out := c.execUntil("vault", "app", []string{`/etc/creds/password: "` + sentinel + `"`},
		"/app", "-cat", "/etc/creds/password,/proc/mounts", "-exit", "0")
	if !strings.Contains(out, "tmpfs /etc/creds tmpfs") {
		t.Errorf("the Secret volume is not a tmpfs in the container:\n%s", out)
	}
	c.execUntil("vault", "app", []string{"PASSWORD=" + sentinel}, "/app", "-cat", "/proc/self/environ", "-exit", "0")

	if out, code := c.berth("keys", "rotate"); code != 0 {
		t.Fatalf("berth keys rotate: %d\n%s", code, out)
	}
	testutil.WaitFor(t, 30*time.Second, "every Secret sealed under the new key", func() bool {
		out, _ := c.berth("keys", "status")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return len(lines) == 3 && strings.HasSuffix(lines[1], " 0") && strings.Contains(lines[2], "true") && strings.HasSuffix(lines[2], " 1")
	})
	second := c.commit("new password", map[string]string{"vault.yaml": vaultRepo(sentinel + "-2")})
	c.waitCommit(second, 0)
	c.execUntil("vault", "app", []string{`/etc/creds/password: "` + sentinel + `-2"`}, "/app", "-cat", "/etc/creds/password", "-exit", "0")
	testutil.WaitFor(t, 30*time.Second, "a snapshot", func() bool {
		s, err := c.client.Self(c.ctx())
		return err == nil && s.Snapshot > 0
	})

	diff, _ := c.berth("diff", first, second, "--repo", c.repo)
	if !strings.Contains(diff, "(redacted)") {
		t.Errorf("berth diff does not show the changed Secret value as redacted:\n%s", diff)
	}
	for _, args := range [][]string{{"history"}, {"show", first}, {"show", second}, {"get", "events"}, {"describe", "pod", "vault"}} {
		out, _ := c.berth(args...)
		diff += out
	}
	if strings.Contains(diff, sentinel) {
		t.Errorf("a Secret value is printed by berth diff, history, show, get events or describe:\n%s", diff)
	}
	files := append(onDisk(t, filepath.Join(c.dir, "master")), onDisk(t, filepath.Join(c.dir, "agent"))...)
	files = append(files, c.master.log.Name(), c.agent.log.Name(), audit)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, form := range []string{sentinel, base64.StdEncoding.EncodeToString([]byte(sentinel))} {
			if strings.Contains(string(data), form) {
				t.Errorf("%s holds the Secret's value", f)
			}
		}
	}
	t.Logf("%d files checked", len(files))
}

// onDisk lists the regular files under dir that are on a disk, not on a
// tmpfs (where Secret volumes are, as the kubelet's).
func onDisk(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		var st syscall.Statfs_t
		if syscall.Statfs(path, &st) == nil && st.Type == 0x01021994 { // tmpfs
			return nil
		}
		out = append(out, path)
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no files under %s", dir)
	}
	return out
}

const sopsPod = `apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{name: creds, secret: {secretName: db}}]
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0"]
    volumeMounts: [{name: creds, mountPath: /etc/creds}]
`

// TestSOPSSecretFromGit: a Secret encrypted with SOPS to an age recipient
// (written by the sops CLI) reaches its pod in plaintext, on a tmpfs; a
// commit whose SOPS file was changed after encryption is refused whole,
// naming the file and the reason, and the last good commit stays live.
func TestSOPSSecretFromGit(t *testing.T) {
	fixtures := filepath.Join(moduleRoot, "keyring", "testdata", "sops")
	encrypted, err := os.ReadFile(filepath.Join(fixtures, "secret.sops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t)
	c.startMaster("--age-identity", filepath.Join(fixtures, "age.key"))
	c.startAgent()
	good := c.commit("sops secret", map[string]string{"secret.yaml": string(encrypted), "pod.yaml": sopsPod})
	c.waitCommit(good, 0)
	out := c.execUntil("reader", "app", []string{`/etc/creds/password: "sentinel-sops-7c2b"`, `/etc/creds/token: "secret-token"`},
		"/app", "-cat", "/etc/creds/password,/etc/creds/token,/proc/mounts", "-exit", "0")
	if !strings.Contains(out, "tmpfs /etc/creds tmpfs") {
		t.Errorf("the Secret volume is not a tmpfs:\n%s", out)
	}
	bad := c.commit("tampered", map[string]string{"secret.yaml": strings.Replace(string(encrypted), "app: web", "app: evil", 1)})
	msg := c.waitCommit(bad, 1)
	if !strings.Contains(msg, "secret.yaml") || !strings.Contains(msg, "MAC does not match") {
		t.Errorf("the refusal does not name the file and the reason:\n%s", msg)
	}
	if s := c.status(); s.LiveCommit != good {
		t.Errorf("live commit %s after a refused one; want %s", s.LiveCommit, good)
	}
}
