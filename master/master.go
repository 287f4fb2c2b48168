// Package master is the control-plane process: it wires the Raft store, the
// Git source, the leader loops and the HTTP API.
package master

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/gitsource"
	"github.com/berth-dev/berth/keyring"
	"github.com/berth-dev/berth/kubeapi"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
	"github.com/berth-dev/berth/ui"
)

// Config configures a master.
type Config struct {
	Name      string
	DataDir   string
	RaftAddr  string
	Listen    string
	Bootstrap bool
	// Join lists API addresses of masters of an existing cluster; a
	// master with an empty data directory asks them to add it.
	Join []string
	// Advertise is the API address other masters and clients reach this
	// one at (default: the listening address).
	Advertise string
	// SnapshotThreshold, SnapshotInterval and TrailingLogs tune Raft's
	// snapshots and log compaction (Raft's defaults when zero).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// AllowRewrites applies a new head that does not descend from the
	// live commit (a force push) instead of refusing it.
	AllowRewrites bool
	// RolloutDeadline is how long an applied commit may take to converge
	// before its rollout is recorded as failed (0: never).
	RolloutDeadline time.Duration
	// NodeTimeout is how long a node may miss heartbeats before it is
	// NotReady and tainted unreachable (api.NodeReadyTimeout when zero).
	NodeTimeout time.Duration
	// MaxLog is how many revision log entries are kept (at least).
	MaxLog int
	// WebhookSecret checks push notifications; empty accepts any.
	WebhookSecret string
	// PodNetwork is where nodes get their pod CIDRs (--cluster-cidr,
	// --node-cidr-mask-size; Kubernetes' defaults when zero), once the
	// cluster's format records them.
	PodNetwork reconciler.PodNetwork
	// Services is where Services live (--service-cidr, --cluster-dns,
	// --cluster-domain; Kubernetes' defaults where unset): commits are
	// checked against it, cluster IPs come from it, and agents get its DNS
	// address and domain with their assignments.
	Services api.ServiceNetwork
	// CredentialsDir is where a master that makes the CA writes
	// agent.token, master.token and admin.kubeconfig (DataDir when empty;
	// `berth up` keeps its master in a folder of its data directory and
	// writes them at the top).
	CredentialsDir string
	// Token is the master join token (--token-file) a master with --join
	// and no CA of its own exchanges for its certificate and the CA.
	Token string
	// TLSSANs are more names and addresses for this master's serving
	// certificate (it always has loopback, the host name, --listen's and
	// --advertise's hosts).
	TLSSANs []string
	// AuditLog, when set, is the file every API request is recorded in.
	AuditLog string
	// KEKFile is the key-encryption key's file (DATA/pki/kek when empty).
	KEKFile string
	// NodeCertLifetime is how long agents' certificates are valid
	// (pki.NodeCertLifetime when zero).
	NodeCertLifetime time.Duration
	// Release is the release the master plays (this build's when zero);
	// tests set an older one.
	Release raftstore.Release
	Git     gitsource.Config
	Logger  *slog.Logger
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Name == "" || c.DataDir == "" || c.RaftAddr == "" || c.Listen == "" {
		return errors.New("master: --name, --data, --raft and --listen are required")
	}
	if c.Bootstrap && len(c.Join) > 0 {
		return errors.New("master: --bootstrap starts a new cluster and --join enters an existing one: give one of them")
	}
	if err := c.PodNetwork.Validate(); err != nil {
		return fmt.Errorf("master: %w", err)
	}
	if err := c.Services.Validate(); err != nil {
		return fmt.Errorf("master: %w", err)
	}
	return c.Git.Validate()
}

// Master is one running master.
type Master struct {
	cfg         Config
	log         *slog.Logger
	store       *raftstore.Store
	src         *gitsource.Source
	listener    net.Listener
	server      *http.Server
	services    serviceTables
	statusCache statusCache
	passes      passes
	agentWrites *agentWrites
	prom        *metrics // Prometheus metrics (/metrics)
	ui          *ui.Server
	releases    releases
	ready       chan struct{} // closed once the log is replayed (WaitReady)
	sec         *security
	ring        *keyring.Ring // the data keys, unwrapped with the KEK
	guard       *auth.Guard
	kube        *kubeapi.Server // the Kubernetes API
	liveApplied liveApplied     // when the live commit was applied
	audit       io.Closer       // the audit log's file, if any
	tokensKept  atomic.Bool     // the data directory's tokens are in Raft
}

// New opens the repository, the Raft store and the API listener.
func New(cfg Config) (*Master, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = api.NodeReadyTimeout
	}
	if cfg.MaxLog == 0 {
		cfg.MaxLog = 10000
	}
	if !cfg.PodNetwork.ClusterCIDR.IsValid() {
		cfg.PodNetwork.ClusterCIDR = reconciler.DefaultClusterCIDR
	}
	if cfg.PodNetwork.NodeMaskSize == 0 {
		cfg.PodNetwork.NodeMaskSize = reconciler.DefaultNodeMaskSize
	}
	if cfg.Git.Limits == (manifest.Limits{}) {
		cfg.Git.Limits = manifest.DefaultLimits()
	}
	cfg.Services = cfg.Services.OrDefault()
	cfg.Git.Limits.Services = cfg.Services
	if cfg.Git.DataDir == "" {
		cfg.Git.DataDir = filepath.Join(cfg.DataDir, "git")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	src, err := gitsource.New(cfg.Git)
	if err != nil {
		return nil, err
	}
	sec, err := setupSecurity(&cfg, cfg.Logger)
	if err != nil {
		return nil, err
	}
	m := &Master{cfg: cfg, log: cfg.Logger, src: src, ready: make(chan struct{}), sec: sec, ring: keyring.NewRing(sec.kek), prom: newMetrics()}
	if err := m.open(); err != nil {
		return nil, err
	}
	return m, nil
}

// open starts the audit log, the API's TLS listener and the Raft store
// with its TLS transport.
func (m *Master) open() error {
	cfg := m.cfg
	var audit *auth.AuditLog
	if cfg.AuditLog != "" {
		var err error
		if audit, m.audit, err = auth.OpenAuditLog(cfg.AuditLog); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		m.closeAudit()
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	var opened atomic.Pointer[raftstore.Store]
	plain := func() bool {
		s := opened.Load()
		return m.sec.plainRaft && (s == nil || s.ClusterFormat() < raftstore.FormatAccess)
	}
	stream, err := newTLSStream(cfg.RaftAddr, m.sec.raftTLS(), plain, cfg.Logger.With("component", "raft"))
	if err != nil {
		ln.Close()
		m.closeAudit()
		return err
	}
	store, err := raftstore.New(raftstore.Config{
		Name: cfg.Name, DataDir: filepath.Join(cfg.DataDir, "raft"), RaftAddr: cfg.RaftAddr,
		Transport: raft.NewNetworkTransport(stream, 3, 10*time.Second, slogWriter{cfg.Logger}),
		Bootstrap: cfg.Bootstrap, MaxLog: cfg.MaxLog, LogOutput: slogWriter{cfg.Logger},
		SnapshotThreshold: cfg.SnapshotThreshold, SnapshotInterval: cfg.SnapshotInterval, TrailingLogs: cfg.TrailingLogs,
		Logger: cfg.Logger, Release: cfg.Release, ObserveApply: func(d time.Duration) { m.prom.raftApply.Observe(d.Seconds()) },
	})
	if err != nil {
		stream.Close()
		ln.Close()
		m.closeAudit()
		return err
	}
	opened.Store(store)
	m.store, m.agentWrites = store, newAgentWrites(store)
	m.prom.register(m)
	m.listener = tls.NewListener(ln, m.sec.serverTLS())
	m.guard = &auth.Guard{Auth: &auth.Authenticator{Pool: func() *x509.CertPool { return m.sec.pool }, Token: m.token}, Audit: audit}
	m.kube = kubeapi.New(kubeapi.Config{Source: &kubeSource{m: m}, Repo: cfg.Git.Repo, Branch: m.src.Branch(),
		OpenSecret: m.openSecret, SealedAnnotation: keyring.SealedAnnotation, Metrics: m.clusterStats, Logger: cfg.Logger})
	m.ui = ui.New(ui.Config{Source: &uiSource{m: m}, Auth: m.guard.Auth, Audit: audit, Logger: cfg.Logger})
	m.server = newServer(m.routes(), cfg.Logger)
	return nil
}

func (m *Master) closeAudit() {
	if m.audit != nil {
		m.audit.Close()
	}
}

// Addr is the API's listening address.
func (m *Master) Addr() string { return m.listener.Addr().String() }

// Run serves the API and runs the leader loops while this master leads,
// until ctx ends; then it shuts everything down.
func (m *Master) Run(ctx context.Context) error {
	// Blocking queries end with serveCtx, so shutdown does not wait out
	// the agents' long polls.
	serveCtx, endQueries := context.WithCancel(context.Background())
	defer endQueries()
	m.server.BaseContext = func(net.Listener) context.Context { return serveCtx }
	errc := make(chan error, 1)
	go func() { errc <- m.server.Serve(m.listener) }()
	if len(m.cfg.Join) > 0 && !m.store.HadState() {
		if err := m.join(ctx); err != nil {
			m.server.Close()
			m.store.Close()
			m.closeAudit()
			return err
		}
	}
	if err := m.store.WaitReady(ctx); err != nil {
		m.server.Close()
		m.store.Close()
		m.closeAudit()
		return err
	}
	close(m.ready)
	m.log.Info("master running", "api", m.Addr(), "raft", m.cfg.RaftAddr, "repo", m.cfg.Git.Repo, "branch", m.src.Branch())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.leadership(ctx) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	case <-m.store.Halted():
		err = m.store.HaltError()
	}
	endQueries()
	m.kube.Close()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.server.Shutdown(shutdown)
	wg.Wait()
	if cerr := m.store.Close(); err == nil {
		err = cerr
	}
	m.closeAudit()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// leadership starts the leader loops when this master gains leadership and
// stops them when it loses it.
func (m *Master) leadership(ctx context.Context) {
	var stop context.CancelFunc
	var wg sync.WaitGroup
	revoke := func() {
		if stop != nil {
			stop()
			wg.Wait()
			stop = nil
		}
	}
	defer revoke()
	check := time.NewTicker(500 * time.Millisecond) // LeaderCh may drop signals
	defer check.Stop()
	for {
		leading := m.store.IsLeader()
		if leading && stop == nil {
			if err := m.store.Barrier(10 * time.Second); err != nil {
				m.log.Warn("barrier failed", "err", err)
			} else {
				m.recordSelf()
				lctx, cancel := context.WithCancel(ctx)
				stop = cancel
				m.log.Info("leadership gained: starting leader loops")
				// The first pass of the release loop turns the cluster's
				// format on and makes its first data key: a commit with
				// Secrets waits for it, to enter Raft sealed.
				firstPass := make(chan struct{})
				wg.Add(3)
				go func() { defer wg.Done(); m.gitLoop(lctx, firstPass) }()
				go func() { defer wg.Done(); m.reconcileLoop(lctx) }()
				go func() { defer wg.Done(); m.releaseLoop(lctx, firstPass) }()
			}
		} else if !leading && stop != nil {
			m.log.Info("leadership lost: stopping leader loops")
			revoke()
		}
		select {
		case <-ctx.Done():
			return
		case <-m.store.LeaderCh():
		case <-check.C:
		}
	}
}

// slogWriter sends Raft's log lines to slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(string(trimNewline(p)), "component", "raft")
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
