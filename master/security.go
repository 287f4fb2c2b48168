package master

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/keyring"
	"github.com/berth-dev/berth/pki"
)

// Files a master keeps at the top of its data directory, mode 0600: what
// an operator hands to agents, masters and users.
const (
	AgentTokenFile  = "agent.token"
	MasterTokenFile = "master.token"
	AdminKubeconfig = "admin.kubeconfig"
	pkiDir          = "pki"
)

// security is a master's part of the cluster PKI: the CA (every master
// holds it, so any master signs), this master's certificate, and the
// join tokens of its data directory that the leader makes sure Raft has.
type security struct {
	ca    *pki.CA
	cert  atomic.Pointer[tls.Certificate]
	pool  *x509.CertPool
	peers *http.Client // to other masters and to agents, with this master's certificate
	// tokens are the tokens of DATA/agent.token and DATA/master.token.
	tokens map[string]pki.Token
	// kek wraps the data keys that seal Secrets at rest.
	kek keyring.KEK
	// plainRaft: this master ran a release without TLS on this data
	// directory, so until the whole cluster runs format 3 it also speaks
	// plain Raft with the masters that are not upgraded yet.
	plainRaft bool
}

// setupSecurity loads or makes the CA (a master joining with --join and
// no CA of its own fetches it), mints the bootstrap tokens and the admin
// kubeconfig when it makes the CA, and issues this master's certificate.
func setupSecurity(cfg *Config, log *slog.Logger) (*security, error) {
	dir := filepath.Join(cfg.DataDir, pkiDir)
	_, statErr := os.Stat(filepath.Join(cfg.DataDir, "raft", "raft.db"))
	hadState := statErr == nil
	s := &security{tokens: map[string]pki.Token{}}
	ca, err := pki.LoadCA(dir)
	switch {
	case err == nil:
		s.ca = ca
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("the cluster CA in %s: %w", dir, err)
	case len(cfg.Join) > 0:
		if s.ca, err = joinPKI(cfg, dir); err != nil {
			return nil, err
		}
		s.plainRaft = hadState
	default:
		if s.ca, err = makePKI(cfg, dir); err != nil {
			return nil, err
		}
		s.plainRaft = hadState
		if hadState {
			log.Warn("this data directory predates TLS: made a cluster CA and tokens; Raft also accepts plain connections until every master runs v0.3.0", "ca", filepath.Join(dir, pki.CACertFile))
		}
	}
	if s.kek, err = loadKEK(cfg, true); err != nil { // made with the CA (or by a master of a dev build before it)
		return nil, err
	}
	s.pool = s.ca.Pool()
	if err := s.issueSelf(cfg); err != nil {
		return nil, err
	}
	s.peers = &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientConfig(s.pool, s.cert.Load),
		DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext, MaxIdleConnsPerHost: 4, ForceAttemptHTTP2: true}}
	for _, f := range []string{AgentTokenFile, MasterTokenFile} {
		if data, err := os.ReadFile(filepath.Join(cfg.credentialsDir(), f)); err == nil {
			if tok, err := pki.ParseToken(string(data)); err == nil {
				s.tokens[f] = tok
			}
		}
	}
	return s, nil
}

// makePKI makes the CA, the bootstrap tokens and the admin kubeconfig.
func makePKI(cfg *Config, dir string) (*pki.CA, error) {
	ca, err := pki.NewCA(time.Now())
	if err != nil {
		return nil, err
	}
	if err := ca.Save(dir); err != nil {
		return nil, fmt.Errorf("writing the cluster CA: %w", err)
	}
	for _, f := range []string{AgentTokenFile, MasterTokenFile} {
		tok, err := pki.NewToken(ca.Hash())
		if err != nil {
			return nil, err
		}
		if err := pki.WriteFile(filepath.Join(cfg.credentialsDir(), f), []byte(tok.String()+"\n")); err != nil {
			return nil, err
		}
	}
	certPEM, keyPEM, err := ca.Issue(pki.Request{Identity: pki.Identity{Kind: pki.KindUser, Name: "admin", Role: api.RoleAdmin},
		Lifetime: pki.UserCertLifetime}, time.Now())
	if err != nil {
		return nil, err
	}
	kc := client.NewKubeconfig("https://"+clientAddr(cfg), "berth", "admin", ca.CertPEM, certPEM, keyPEM)
	if err := pki.WriteFile(filepath.Join(cfg.credentialsDir(), AdminKubeconfig), kc.YAML()); err != nil {
		return nil, err
	}
	return ca, nil
}

// joinPKI gets the CA from the cluster at cfg.Join: a master certificate
// for the master token, then, over mutual TLS, the CA's key.
func joinPKI(cfg *Config, dir string) (*pki.CA, error) {
	if cfg.Token == "" {
		return nil, errors.New("master: --join needs the cluster's master token (--token-file DATA/master.token of a master)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := pki.Identity{Kind: pki.KindMaster, Name: cfg.Name, Role: api.RoleMaster}
	var creds *client.Credentials
	err := retry(ctx, func() error {
		var err error
		creds, err = client.Join(ctx, cfg.Join, cfg.Token, filepath.Join(dir, "join"), id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("master: joining %s: %w", strings.Join(cfg.Join, ","), err)
	}
	cl, err := client.New(cfg.Join, client.WithTLS(creds.ClientTLS()))
	if err != nil {
		return nil, err
	}
	var secrets api.ClusterSecrets
	if err := retry(ctx, func() error { return cl.ClusterSecrets(ctx, &secrets) }); err != nil {
		return nil, fmt.Errorf("master: reading the cluster CA from %s: %w", strings.Join(cfg.Join, ","), err)
	}
	ca, err := pki.ParseCA([]byte(secrets.CACert), []byte(secrets.CAKey))
	if err != nil {
		return nil, fmt.Errorf("master: the cluster CA from %s: %w", strings.Join(cfg.Join, ","), err)
	}
	kek, err := keyring.ParseKEK(secrets.KEK)
	if err != nil {
		return nil, fmt.Errorf("master: the cluster's %w from %s", err, strings.Join(cfg.Join, ","))
	}
	if cfg.KEKFile == "" {
		if err := pki.WriteFile(filepath.Join(dir, kekFile), []byte(kek.String()+"\n")); err != nil {
			return nil, err
		}
	}
	if err := ca.Save(dir); err != nil {
		return nil, err
	}
	for f, tok := range secrets.Tokens {
		if f != AgentTokenFile && f != MasterTokenFile {
			continue
		}
		if err := pki.WriteFile(filepath.Join(cfg.credentialsDir(), f), []byte(tok+"\n")); err != nil {
			return nil, err
		}
	}
	os.RemoveAll(filepath.Join(dir, "join"))
	return ca, nil
}

// retry calls f until it succeeds, fails for good (client.JoinRetryable),
// or ctx ends.
func retry(ctx context.Context, f func() error) error {
	delay := 200 * time.Millisecond
	for {
		err := f()
		if err == nil || !client.JoinRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 3*time.Second)
	}
}

// issueSelf gives this master a new certificate, for the names and
// addresses clients may use to reach it.
func (s *security) issueSelf(cfg *Config) error {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	for _, a := range []string{cfg.Listen, cfg.Advertise, cfg.RaftAddr} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
			hosts = append(hosts, h)
		}
	}
	hosts = append(hosts, cfg.TLSSANs...)
	cert, err := s.ca.IssueTLS(pki.Request{Identity: pki.Identity{Kind: pki.KindMaster, Name: cfg.Name, Role: api.RoleMaster},
		Hosts: hosts, Lifetime: pki.MasterCertLifetime}, time.Now())
	if err != nil {
		return fmt.Errorf("issuing this master's certificate: %w", err)
	}
	s.cert.Store(&cert)
	return nil
}

func (c *Config) credentialsDir() string {
	if c.CredentialsDir != "" {
		return c.CredentialsDir
	}
	return c.DataDir
}

// clientAddr is the address clients reach this master at: --advertise,
// else --listen with an unspecified host read as loopback.
func clientAddr(cfg *Config) string {
	if cfg.Advertise != "" {
		return cfg.Advertise
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return cfg.Listen
}

// serverTLS is the API's TLS config.
func (s *security) serverTLS() *tls.Config { return pki.ServerConfig(s.cert.Load) }

// raftTLS is the TLS config of Raft between masters: both ends show a
// master's certificate.
func (s *security) raftTLS() *tls.Config {
	return pki.PeerConfig(s.pool, s.cert.Load, pki.WantKind(pki.KindMaster, ""))
}

// agentTLS is the TLS config to reach the agent of a node, which must show
// that node's certificate.
func (s *security) agentTLS(node string) *tls.Config {
	return pki.PeerConfig(s.pool, s.cert.Load, pki.WantKind(pki.KindNode, node))
}

// peerURL is the URL of another master's API address.
func peerURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "https://" + addr
}

// agentClient is an HTTP client of one node's agent (its logs, stats,
// metrics): TLS with this master's certificate, the agent's checked as
// that node's. Its caller closes its idle connections when done.
func (m *Master) agentClient(node string) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: m.sec.agentTLS(node),
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
}
