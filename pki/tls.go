package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// aeadSuites are the TLS 1.2 suites berth accepts: ECDHE key exchange with
// an AEAD cipher only (TLS 1.3's suites are all AEAD and not configurable).
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// base is what every berth TLS config shares: TLS 1.2 or newer (1.3
// preferred, as Go prefers it) with AEAD suites only.
func base() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites}
}

// ServerConfig is the TLS config of a server whose certificate getCert
// returns. Client certificates are asked for but not required at the
// handshake: the server checks them per request (see Verify), so that a
// request without credentials, or with a certificate of another CA, gets
// an HTTP 401 that says why rather than a failed handshake.
func ServerConfig(getCert func() *tls.Certificate) *tls.Config {
	c := base()
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return getCert(), nil }
	c.ClientAuth = tls.RequestClientCert
	c.NextProtos = []string{"h2", "http/1.1"}
	return c
}

// ClientConfig is the TLS config of a client that trusts pool and shows
// the certificate getCert returns (none when getCert is nil or returns
// nil). Server names are checked as usual.
func ClientConfig(pool *x509.CertPool, getCert func() *tls.Certificate) *tls.Config {
	c := base()
	c.RootCAs = pool
	if getCert != nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert := getCert(); cert != nil {
				return cert, nil
			}
			return &tls.Certificate{}, nil
		}
	}
	return c
}

// PeerConfig is the TLS config of a connection between berth processes
// that know each other by identity rather than by address (Raft between
// masters, a master reading a node's logs): both sides show a
// certificate, and the peer's must come from pool and name an identity
// that want accepts. Server names are not checked: the identity is.
func PeerConfig(pool *x509.CertPool, getCert func() *tls.Certificate, want func(Identity) error) *tls.Config {
	c := base()
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return getCert(), nil }
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return getCert(), nil }
	c.ClientAuth = tls.RequireAnyClientCert
	c.InsecureSkipVerify = true // replaced by VerifyConnection below
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("peer showed no certificate")
		}
		// Masters' and nodes' certificates serve both ends; a user's is
		// for clients only and names a kind that want refuses.
		id, err := Verify(pool, cs.PeerCertificates[0], cs.PeerCertificates[1:], time.Now(), x509.ExtKeyUsageClientAuth)
		if err != nil {
			return fmt.Errorf("peer certificate: %w", err)
		}
		return want(id)
	}
	return c
}

// WantKind accepts identities of one kind (and, when name is not empty,
// that name).
func WantKind(kind Kind, name string) func(Identity) error {
	return func(id Identity) error {
		if id.Kind != kind || (name != "" && id.Name != name) {
			want := string(kind) + ":" + name
			if name == "" {
				want = string(kind) + ":*"
			}
			return fmt.Errorf("peer is %s, want %s", id, want)
		}
		return nil
	}
}
