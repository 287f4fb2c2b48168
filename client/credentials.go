package client

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/pki"
)

// Credentials are a node's or a master's: the cluster CA it trusts and
// the certificate that names it, kept in a directory (ca.crt, KIND.key,
// KIND.crt) and renewed before they expire.
type Credentials struct {
	Identity pki.Identity
	CAPEM    []byte
	Pool     *x509.CertPool
	dir      string
	key      crypto.Signer
	cert     atomic.Pointer[tls.Certificate]
}

// ErrNoToken is returned by Join when it needs a join token and has none.
var ErrNoToken = errors.New("no join token")

// Join gets the credentials of an identity: those kept in dir when they
// are valid, else new ones from the masters at servers in exchange for a
// join token. The CA is pinned by the token's hash before the token's
// secret is sent; the key is made here and never leaves dir.
func Join(ctx context.Context, servers []string, token string, dir string, id pki.Identity) (*Credentials, error) {
	c := &Credentials{Identity: id, dir: dir}
	if err := c.load(); err == nil {
		return c, nil
	} else if token == "" {
		return nil, fmt.Errorf("%w: none kept in %s (%v): give --token-file (the master writes DATA/%s.token)", ErrNoToken, dir, err, tokenFileRole(id))
	}
	tok, err := pki.ParseToken(token)
	if err != nil {
		return nil, err
	}
	if c.CAPEM, err = FetchCA(ctx, servers, tok); err != nil {
		return nil, err
	}
	c.Pool = x509.NewCertPool()
	c.Pool.AppendCertsFromPEM(c.CAPEM)
	if c.key, err = loadOrMakeKey(filepath.Join(dir, string(id.Kind)+".key")); err != nil {
		return nil, err
	}
	cl, err := New(servers, WithTLS(pki.ClientConfig(c.Pool, nil)), WithBearer(tok.String()))
	if err != nil {
		return nil, err
	}
	if err := c.request(ctx, cl); err != nil {
		return nil, err
	}
	if err := pki.WriteFile(filepath.Join(dir, pki.CACertFile), c.CAPEM); err != nil {
		return nil, err
	}
	return c, nil
}

func tokenFileRole(id pki.Identity) string {
	if id.Kind == pki.KindMaster {
		return "master"
	}
	return "agent"
}

// JoinRetryable tells a join error that may pass (a master not up, a
// token not recorded yet, the cluster's format not on yet: 401, 409, 5xx,
// no answer) from one that will not (another cluster's CA, a malformed
// token, no token, any other refusal).
func JoinRetryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusConflict || apiErr.Status >= 500
	}
	return !errors.Is(err, pki.ErrCAMismatch) && !errors.Is(err, pki.ErrBadToken) && !errors.Is(err, ErrNoToken)
}

// FetchCA reads the CA bundle from the first master that answers, without
// trusting it yet, and checks it against the token's hash: nothing secret
// is sent before that check.
func FetchCA(ctx context.Context, servers []string, tok pki.Token) ([]byte, error) {
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}} // checked by hash below
	defer insecure.CloseIdleConnections()
	var errs []string
	for _, s := range servers {
		if !strings.Contains(s, "://") {
			s = "https://" + s
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s, "/")+api.PathCA, nil)
		if err != nil {
			return nil, fmt.Errorf("server %q: %w", s, err)
		}
		resp, err := insecure.Do(req)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		bundle, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Sprintf("%s%s: HTTP %d %v", s, api.PathCA, resp.StatusCode, err))
			continue
		}
		if err := tok.CheckCA(bundle); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		return bundle, nil
	}
	return nil, fmt.Errorf("reading the cluster CA: %s", strings.Join(errs, "; "))
}

// request sends a CSR for the key through cl and keeps the certificate.
func (c *Credentials) request(ctx context.Context, cl *Client) error {
	csr, err := pki.NewCSR(c.key, c.Identity)
	if err != nil {
		return err
	}
	var a api.CertificateAnswer
	if err := cl.call(ctx, http.MethodPost, api.PathCertificates, nil, api.CertificateRequest{CSR: string(csr)}, &a); err != nil {
		return fmt.Errorf("asking for the certificate of %s: %w", c.Identity, err)
	}
	cert, err := pki.ParseCertificate([]byte(a.Certificate))
	if err != nil {
		return fmt.Errorf("the master's answer: %w", err)
	}
	if _, err := pki.Verify(c.Pool, cert, nil, time.Now(), x509.ExtKeyUsageClientAuth); err != nil {
		return fmt.Errorf("the certificate the master issued: %w", err)
	}
	if err := pki.WriteFile(c.certPath(), []byte(a.Certificate)); err != nil {
		return err
	}
	c.cert.Store(&tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: c.key, Leaf: cert})
	return nil
}

func (c *Credentials) certPath() string { return filepath.Join(c.dir, string(c.Identity.Kind)+".crt") }

// load reads kept credentials; an error says why they do not do.
func (c *Credentials) load() error {
	caPEM, err := os.ReadFile(filepath.Join(c.dir, pki.CACertFile))
	if err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(c.certPath(), filepath.Join(c.dir, string(c.Identity.Kind)+".key"))
	if err != nil {
		return err
	}
	c.CAPEM, c.Pool = caPEM, x509.NewCertPool()
	if !c.Pool.AppendCertsFromPEM(caPEM) {
		return errors.New("ca.crt holds no certificate")
	}
	got, err := pki.Verify(c.Pool, pair.Leaf, nil, time.Now(), x509.ExtKeyUsageClientAuth)
	if err != nil {
		return err
	}
	if got.Kind != c.Identity.Kind || got.Name != c.Identity.Name {
		return fmt.Errorf("the kept certificate names %s, not %s", got, c.Identity)
	}
	c.key = pair.PrivateKey.(crypto.Signer)
	c.cert.Store(&pair)
	return nil
}

// Certificate is the current certificate (renewals replace it).
func (c *Credentials) Certificate() *tls.Certificate { return c.cert.Load() }

// KeyHash is the hash of the public key (SHA-256 of its DER): what
// masters pin a node name to.
func KeyHash(pub crypto.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ClientTLS is the TLS config to reach masters with these credentials.
func (c *Credentials) ClientTLS() *tls.Config { return pki.ClientConfig(c.Pool, c.Certificate) }

// PeerTLS is the TLS config of a server that only masters may reach (an
// agent's log endpoint).
func (c *Credentials) PeerTLS() *tls.Config {
	return pki.PeerConfig(c.Pool, c.Certificate, pki.WantKind(pki.KindMaster, ""))
}

// RenewLoop renews the certificate through cl (which shows the current
// one) once two thirds of its life have passed, until ctx ends; a failed
// renewal is tried again a minute later.
func (c *Credentials) RenewLoop(ctx context.Context, cl *Client, log *slog.Logger) {
	for {
		leaf := c.Certificate().Leaf
		issued := leaf.NotBefore.Add(pki.Backdate)
		at := issued.Add(leaf.NotAfter.Sub(issued) * 2 / 3)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		if err := c.Renew(ctx, cl); err != nil {
			log.Warn("renewing the certificate failed; retrying in a minute", "identity", c.Identity.String(), "expires", leaf.NotAfter, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
			continue
		}
		log.Info("certificate renewed", "identity", c.Identity.String(), "expires", c.Certificate().Leaf.NotAfter)
	}
}

// Renew asks for a new certificate for the same key through cl, which
// shows the current one.
func (c *Credentials) Renew(ctx context.Context, cl *Client) error { return c.request(ctx, cl) }

// loadOrMakeKey reads the key at path, or makes one and writes it (0600).
func loadOrMakeKey(path string) (crypto.Signer, error) {
	if data, err := os.ReadFile(path); err == nil {
		return pki.ParseKey(data)
	}
	key, err := pki.NewKey()
	if err != nil {
		return nil, err
	}
	pemKey, err := pki.EncodeKey(key)
	if err != nil {
		return nil, err
	}
	return key, pki.WriteFile(path, pemKey)
}
