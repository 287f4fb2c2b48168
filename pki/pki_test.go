package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestCASaveLoad(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v, mode %v; want 0600", err, fi.Mode())
	}
	back, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != ca.Hash() || !back.Cert.Equal(ca.Cert) {
		t.Error("the loaded CA differs from the saved one")
	}
	other := newTestCA(t)
	keyPEM, _ := EncodeKey(other.Key)
	if _, err := ParseCA(ca.CertPEM, keyPEM); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("CA with another CA's key: %v", err)
	}
	if _, err := LoadCA(t.TempDir()); !os.IsNotExist(err) {
		t.Errorf("empty directory: %v, want not exist", err)
	}
}

func TestIssueAndVerify(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	id := Identity{Kind: KindNode, Name: "n0", Role: "agent"}
	certPEM, _, err := ca.Issue(Request{Identity: id, Hosts: []string{"127.0.0.1", "n0.local"}, Lifetime: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.IPAddresses) != 1 || len(cert.DNSNames) != 1 {
		t.Errorf("hosts: %v %v", cert.IPAddresses, cert.DNSNames)
	}
	got, err := Verify(ca.Pool(), cert, nil, now, x509.ExtKeyUsageClientAuth)
	if err != nil || got != id {
		t.Fatalf("Verify = %v, %v; want %v", got, err, id)
	}
	if _, err := Verify(ca.Pool(), cert, nil, now.Add(2*time.Hour), x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("an expired certificate verified")
	}
	if _, err := Verify(newTestCA(t).Pool(), cert, nil, now, x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("a certificate of another CA verified")
	}
	user, _, _ := ca.Issue(Request{Identity: Identity{Kind: KindUser, Name: "ann", Role: "viewer"}, Lifetime: time.Hour}, now)
	uc, _ := ParseCertificate(user)
	if _, err := Verify(ca.Pool(), uc, nil, now, x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("a user's certificate verified for serving")
	}
	if _, err := ca.Sign(nil, Request{Identity: Identity{Kind: "root", Name: "x", Role: "admin"}, Lifetime: time.Hour}, now); err == nil {
		t.Error("an unknown kind was signed")
	}
}

func TestCSR(t *testing.T) {
	key, _ := NewKey()
	id := Identity{Kind: KindNode, Name: "node-1", Role: "agent"}
	csrPEM, err := NewCSR(key, id)
	if err != nil {
		t.Fatal(err)
	}
	csr, got, err := ParseCSR(csrPEM)
	if err != nil || got != id || !publicKeysEqual(csr.PublicKey, key.Public()) {
		t.Fatalf("ParseCSR = %v, %v", got, err)
	}
	for _, bad := range []string{"", "garbage", strings.Replace(string(csrPEM), "CERTIFICATE REQUEST", "CERTIFICATE", 2)} {
		if _, _, err := ParseCSR([]byte(bad)); err == nil {
			t.Errorf("ParseCSR(%.20q) accepted", bad)
		}
	}
}

func TestToken(t *testing.T) {
	ca := newTestCA(t)
	tok, err := NewToken(ca.Hash())
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseToken(tok.String() + "\n")
	if err != nil || back != tok {
		t.Fatalf("ParseToken(String()) = %v, %v", back, err)
	}
	if err := back.CheckCA(ca.CertPEM); err != nil {
		t.Error(err)
	}
	if err := back.CheckCA(newTestCA(t).CertPEM); err == nil {
		t.Error("a token pinned another CA")
	}
	if !SecretMatches(tok.Secret, tok.SecretHash()) || SecretMatches(tok.Secret+"x", tok.SecretHash()) {
		t.Error("SecretMatches")
	}
	for _, c := range []struct{ in, want string }{
		{tok.ID + "." + tok.Secret, "no CA hash"},
		{"K10abc::" + tok.ID + "." + tok.Secret, "64 lower-case hex"},
		{"X10" + tok.CAHash + "::" + tok.ID + "." + tok.Secret, "start with"},
		{"K10" + tok.CAHash + "::" + tok.ID + tok.Secret, "ID.SECRET"},
		{"K10" + tok.CAHash + "::ABCDEF." + tok.Secret, "the ID"},
		{"K10" + tok.CAHash + "::" + tok.ID + ".short", "the secret"},
		{"", "want K10"},
	} {
		_, err := ParseToken(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseToken(%q) = %v; want an error with %q", c.in, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), tok.Secret) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

// FuzzParseToken: no input panics, and whatever parses prints back as
// itself.
func FuzzParseToken(f *testing.F) {
	f.Add("K10" + strings.Repeat("ab", 32) + "::abcdef." + strings.Repeat("x1", 16))
	f.Add("abcdef.0123456789abcdef")
	f.Add("K10::.")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		if again, err := ParseToken(tok.String()); err != nil || again != tok {
			t.Fatalf("%q parsed to %v, which does not parse back: %v", s, tok, err)
		}
	})
}

// FuzzParseCSR: no input panics; what parses names a valid identity.
func FuzzParseCSR(f *testing.F) {
	key, _ := NewKey()
	csr, _ := NewCSR(key, Identity{Kind: KindNode, Name: "n0", Role: "agent"})
	f.Add(csr)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, id, err := ParseCSR(data)
		if err == nil && id.Validate() != nil {
			t.Fatalf("accepted an invalid identity %v", id)
		}
	})
}

// serveTLS accepts one TLS connection with cfg and reports its handshake.
func serveTLS(t *testing.T, cfg *tls.Config) (string, chan error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer conn.Close()
		errc <- conn.(*tls.Conn).Handshake()
	}()
	return ln.Addr().String(), errc
}

func TestServerRefusesOldTLSAndNonAEAD(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.IssueTLS(Request{Identity: Identity{Kind: KindMaster, Name: "m0", Role: "master"}, Hosts: []string{"127.0.0.1"}, Lifetime: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	server := ServerConfig(func() *tls.Certificate { return &cert })
	for _, c := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"TLS 1.3", &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 AEAD", &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.1", &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}, false},
		{"TLS 1.2 CBC", &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, errc := serveTLS(t, server)
			conn, err := tls.Dial("tcp", addr, c.client)
			if err == nil {
				conn.Close()
			}
			serr := <-errc
			if (err == nil) != c.ok || (serr == nil) != c.ok {
				t.Errorf("client: %v, server: %v; want success %v", err, serr, c.ok)
			}
		})
	}
}

func TestPeerConfigChecksIdentity(t *testing.T) {
	ca := newTestCA(t)
	issue := func(kind Kind, name string) *tls.Certificate {
		c, err := ca.IssueTLS(Request{Identity: Identity{Kind: kind, Name: name, Role: string(kind)}, Lifetime: time.Hour}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	m0, m1, n0 := issue(KindMaster, "m0"), issue(KindMaster, "m1"), issue(KindNode, "n0")
	wantMaster := WantKind(KindMaster, "")
	server := PeerConfig(ca.Pool(), func() *tls.Certificate { return m0 }, wantMaster)
	for _, c := range []struct {
		name string
		cert *tls.Certificate
		pool *x509.CertPool
		ok   bool
	}{
		{"master", m1, ca.Pool(), true},
		{"node", n0, ca.Pool(), false},
		{"other CA", issueOther(t), ca.Pool(), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, errc := serveTLS(t, server)
			conn, err := tls.Dial("tcp", addr, PeerConfig(c.pool, func() *tls.Certificate { return c.cert }, wantMaster))
			if err == nil {
				// TLS 1.3: the client learns of a refused certificate on its first read.
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = conn.Read(make([]byte, 1))
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					err = nil
				}
				conn.Close()
			}
			if serr := <-errc; (serr == nil) != c.ok {
				t.Errorf("server handshake: %v (client: %v); want success %v", serr, err, c.ok)
			}
		})
	}
}

func issueOther(t *testing.T) *tls.Certificate {
	c, err := newTestCA(t).IssueTLS(Request{Identity: Identity{Kind: KindMaster, Name: "m9", Role: "master"}, Lifetime: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &c
}
