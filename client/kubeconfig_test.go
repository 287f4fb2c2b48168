package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/pki"
)

func TestKubeconfigRoundTrip(t *testing.T) {
	ca, _ := pki.NewCA(time.Now())
	certPEM, keyPEM, _ := ca.Issue(pki.Request{Identity: pki.Identity{Kind: pki.KindUser, Name: "ann", Role: "viewer"}, Lifetime: time.Hour}, time.Now())
	k := NewKubeconfig("https://127.0.0.1:7070", "berth", "ann", ca.CertPEM, certPEM, keyPEM)
	path := filepath.Join(t.TempDir(), "config")
	os.WriteFile(path, k.YAML(), 0o600)
	back, err := ReadKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Server() != "https://127.0.0.1:7070" {
		t.Errorf("server %q", back.Server())
	}
	if _, err := back.Options(); err != nil {
		t.Errorf("options: %v", err)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"no context", "apiVersion: v1\nkind: Config\ncurrent-context: x\n", `current-context "x": no such context`},
		{"no user", "kind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: https://a}}]\n", `no user "u"`},
		{"wrong kind", "kind: Pod\n", `kind "Pod"`},
	} {
		if _, err := ParseKubeconfig([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	insecure := "kind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: https://a, insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\n"
	k2, err := ParseKubeconfig([]byte(insecure))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Options(); err == nil || !strings.Contains(err.Error(), "insecure-skip-tls-verify") {
		t.Errorf("insecure-skip-tls-verify: %v", err)
	}
}

// FuzzParseKubeconfig: no input panics, and what parses yields options
// or an error, never a panic.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: https://a, certificate-authority-data: AAAA}}]\nusers: [{name: u, user: {token: t, client-certificate-data: AAAA}}]\n"))
	f.Add([]byte("kind: Config\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKubeconfig(data)
		if err != nil {
			return
		}
		k.Server()
		k.Options()
	})
}
