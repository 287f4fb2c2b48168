//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gpgKey makes a signing key with gpg in a temporary GNUPGHOME (set for
// the test's git commands) and returns its fingerprint and the path of its
// armored public key.
func gpgKey(t *testing.T, dir string) (string, string) {
	t.Helper()
	home := filepath.Join(dir, "gnupg")
	os.MkdirAll(home, 0o700)
	t.Setenv("GNUPGHOME", home)
	t.Cleanup(func() { exec.Command("gpgconf", "--kill", "gpg-agent").Run() })
	gpg := func(args ...string) string {
		out, err := exec.Command("gpg", append([]string{"--batch", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...).Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return string(out)
	}
	gpg("--quick-gen-key", "Signer <signer@example.com>", "ed25519", "sign", "never")
	var fpr string
	for _, line := range strings.Split(gpg("--list-secret-keys", "--with-colons"), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	keys := filepath.Join(dir, "trusted.asc")
	os.WriteFile(keys, []byte(gpg("--armor", "--export", fpr)), 0o644)
	return fpr, keys
}

// TestSignedCommits: with --trusted-keys, every commit from the live one
// to the new head must be signed; an unsigned commit between two signed
// ones is named in the refusal.
func TestSignedCommits(t *testing.T) {
	c := newCluster(t)
	fpr, keys := gpgKey(t, c.dir)
	c.startMaster("--trusted-keys", keys)
	c.startAgent()
	signed := func(msg string, files map[string]string) string {
		for name, data := range files {
			os.WriteFile(filepath.Join(c.repo, name), []byte(data), 0o644)
		}
		c.git("add", "-A")
		c.git("-c", "user.signingkey="+fpr, "commit", "-q", "-S", "-m", msg)
		return c.git("rev-parse", "HEAD")
	}
	a := signed("signed web", map[string]string{"web.yaml": deployment("web", 1, "v1")})
	c.waitCommit(a, 0)
	if e := entry(c.history(), a); e == nil || e.Signature != "verified "+fpr[len(fpr)-16:] {
		t.Fatalf("signed commit entry %+v", e)
	}

	// signed, unsigned, signed: seen at once, refused for the middle one.
	parent := a
	var shas []string
	for i, sign := range []bool{true, false, true} {
		os.WriteFile(filepath.Join(c.repo, "web.yaml"), []byte(deployment("web", 2+i, "v1")), 0o644)
		c.git("add", "-A")
		args := []string{"commit-tree", c.git("write-tree"), "-p", parent, "-m", "step"}
		if sign {
			args = append(args, "-S"+fpr)
		}
		parent = c.git(args...)
		shas = append(shas, parent)
	}
	c.git("update-ref", "refs/heads/main", parent)
	c.git("reset", "-q", "--hard", parent)
	out := c.waitCommit(parent, 1)
	if !strings.Contains(out, "commit "+shas[1]+" is not signed by a trusted key (unsigned)") {
		t.Fatalf("berth wait:\n%s", out)
	}
	if s := c.status(); s.LiveCommit != a {
		t.Fatalf("live commit moved to %s", s.LiveCommit)
	}
	// A signed commit on top does not launder the unsigned one below it.
	e := signed("signed on top", map[string]string{"other.yaml": deployment("other", 1, "v1")})
	out = c.waitCommit(e, 1)
	if !strings.Contains(out, "commit "+shas[1]+" is not signed") {
		t.Fatalf("berth wait:\n%s", out)
	}
}
