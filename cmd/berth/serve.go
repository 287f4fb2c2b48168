package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	filippoage "filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/cmd/internal/agentcli"
	"github.com/berth-dev/berth/gitsource"
	"github.com/berth-dev/berth/keyring"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/master"
	"github.com/berth-dev/berth/node"
	"github.com/berth-dev/berth/pki"
	"github.com/berth-dev/berth/reconciler"
)

type masterFlags struct {
	name, data, raft, listen string
	repo, path, branch       string
	poll                     time.Duration
	bootstrap, allowRewrites bool
	trustedKeys              string
	webhookSecret            string
	maxLog                   int
	limits                   manifest.Limits
	rolloutDeadline          time.Duration
	nodeTimeout              time.Duration
	join                     []string
	advertise                string
	snapshotThreshold        uint64
	snapshotInterval         time.Duration
	clusterCIDR              string
	nodeCIDRMaskSize         int
	serviceCIDR, clusterDNS  string
	clusterDomain            string
	credentials              string // where the CA's tokens and kubeconfig go (berth up: the top of --data)
	tokenFile                string
	tlsSANs                  []string
	auditLog                 string
	kekFile                  string
	ageIdentity              string
	nodeCertTTL              time.Duration
}

func (f *masterFlags) config(log *slog.Logger) (master.Config, error) {
	git := gitsource.DefaultConfig()
	git.Repo, git.Path, git.Branch, git.Poll, git.Limits = f.repo, f.path, f.branch, f.poll, f.limits
	if f.trustedKeys != "" {
		keys, err := gitsource.ReadKeyRing(f.trustedKeys)
		if err != nil {
			return master.Config{}, fmt.Errorf("--trusted-keys: %w", err)
		}
		git.TrustedKeys = keys
	}
	ids, err := readAgeIdentities(f.ageIdentity)
	if err != nil {
		return master.Config{}, err
	}
	git.Decrypt = keyring.SOPSFiles(ids)
	if f.repo != "" && !gitsource.IsRemote(f.repo) {
		if abs, err := filepath.Abs(f.repo); err == nil {
			git.Repo = abs
		}
	}
	clusterCIDR, err := netip.ParsePrefix(f.clusterCIDR)
	if err != nil {
		return master.Config{}, fmt.Errorf("--cluster-cidr %q: not an address range such as 10.244.0.0/16", f.clusterCIDR)
	}
	services, err := f.serviceNetwork()
	if err != nil {
		return master.Config{}, err
	}
	var token string
	if f.tokenFile != "" {
		data, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return master.Config{}, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(data))
	}
	return master.Config{Name: f.name, DataDir: f.data, RaftAddr: f.raft, Listen: f.listen, Bootstrap: f.bootstrap,
		CredentialsDir: f.credentials, Token: token, TLSSANs: f.tlsSANs, AuditLog: f.auditLog, KEKFile: f.kekFile, NodeCertLifetime: f.nodeCertTTL,
		PodNetwork:    reconciler.PodNetwork{ClusterCIDR: clusterCIDR, NodeMaskSize: f.nodeCIDRMaskSize},
		Services:      services,
		AllowRewrites: f.allowRewrites, WebhookSecret: f.webhookSecret, MaxLog: f.maxLog,
		RolloutDeadline: f.rolloutDeadline, NodeTimeout: f.nodeTimeout, Join: f.join, Advertise: f.advertise,
		SnapshotThreshold: f.snapshotThreshold, SnapshotInterval: f.snapshotInterval, Git: git, Logger: log}, nil
}

// readAgeIdentities reads --age-identity (none when empty).
func readAgeIdentities(path string) ([]filippoage.Identity, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--age-identity: %w", err)
	}
	ids, err := keyring.ParseAgeIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("--age-identity %s: %w", path, err)
	}
	return ids, nil
}

// serviceNetwork reads --service-cidr, --cluster-dns (the tenth address
// of the range when empty) and --cluster-domain.
func (f *masterFlags) serviceNetwork() (api.ServiceNetwork, error) {
	n := api.ServiceNetwork{Domain: f.clusterDomain}
	var err error
	if n.CIDR, err = netip.ParsePrefix(f.serviceCIDR); err != nil {
		return n, fmt.Errorf("--service-cidr %q: not an address range such as 10.96.0.0/12", f.serviceCIDR)
	}
	n.DNS = api.TenthAddress(n.CIDR)
	if f.clusterDNS != "" {
		if n.DNS, err = netip.ParseAddr(f.clusterDNS); err != nil {
			return n, fmt.Errorf("--cluster-dns %q: not an IPv4 address", f.clusterDNS)
		}
	}
	return n, n.Validate()
}

func addRepoFlags(c *cobra.Command, f *masterFlags) {
	c.Flags().StringVar(&f.repo, "repo", "", "Git repository: a local path or a URL (file:// counts as remote)")
	c.Flags().StringVar(&f.path, "path", "", "folder of the manifests inside the repository (default: its root)")
	c.Flags().StringVar(&f.branch, "branch", "", "branch to follow (default: the branch HEAD points to)")
	c.Flags().DurationVar(&f.poll, "poll", 5*time.Second, "poll interval: fallback for a local repository, fetch interval for a remote one")
	def := manifest.DefaultLimits()
	c.Flags().IntVar(&f.maxLog, "max-log", 10000, "revision log entries to keep")
	c.Flags().DurationVar(&f.nodeTimeout, "node-timeout", api.NodeReadyTimeout, "a node without a heartbeat this long is NotReady and tainted node.kubernetes.io/unreachable:NoExecute")
	c.Flags().DurationVar(&f.rolloutDeadline, "rollout-deadline", 10*time.Minute, "a commit not converged this long after it was applied has its rollout recorded as failed")
	c.Flags().Int64Var(&f.limits.MaxFileBytes, "max-file-bytes", def.MaxFileBytes, "largest manifest file")
	c.Flags().Int64Var(&f.limits.MaxCommitBytes, "max-commit-bytes", def.MaxCommitBytes, "most manifest bytes in one commit")
	c.Flags().IntVar(&f.limits.MaxObjects, "max-objects", def.MaxObjects, "most objects in one commit")
	c.Flags().StringVar(&f.trustedKeys, "trusted-keys", "", "armored OpenPGP public keys: every commit from the live one to a new head must be signed by one of them")
	c.Flags().StringVar(&f.webhookSecret, "webhook-secret", os.Getenv("BERTH_WEBHOOK_SECRET"), "secret of push webhooks (POST /berth/v1/hooks/git); default $BERTH_WEBHOOK_SECRET")
	c.Flags().StringVar(&f.clusterCIDR, "cluster-cidr", reconciler.DefaultClusterCIDR.String(), "the range of pod addresses; each node gets a part of it")
	c.Flags().IntVar(&f.nodeCIDRMaskSize, "node-cidr-mask-size", reconciler.DefaultNodeMaskSize, "prefix length of each node's part of --cluster-cidr")
	c.Flags().StringVar(&f.serviceCIDR, "service-cidr", api.ServiceCIDR.String(), "the range of Services' cluster IPs")
	c.Flags().StringVar(&f.clusterDNS, "cluster-dns", "", "the address pods reach the cluster DNS at, in --service-cidr (default: its tenth address, 10.96.0.10)")
	c.Flags().StringVar(&f.clusterDomain, "cluster-domain", api.ClusterDomain, "the cluster's DNS domain")
	c.Flags().StringVar(&f.ageIdentity, "age-identity", "", "age identities (AGE-SECRET-KEY-1…) that open SOPS-encrypted manifests (any file with a sops: stanza)")
	c.Flags().BoolVar(&f.allowRewrites, "allow-rewrites", false, "apply a new head that does not descend from the live commit (a force push) instead of refusing it")
	c.Flags().StringSliceVar(&f.tlsSANs, "tls-san", nil, "more host names and addresses for the API's certificate (it has loopback, the host name, --listen's and --advertise's)")
	c.Flags().StringVar(&f.auditLog, "audit-log", "", "append one JSON line per API request to this file")
	c.Flags().StringVar(&f.kekFile, "kek-file", "", "the key-encryption key that wraps the data keys of Secrets (default DATA/pki/kek, made with the CA)")
	c.Flags().DurationVar(&f.nodeCertTTL, "node-cert-ttl", pki.NodeCertLifetime, "lifetime of agents' certificates; agents renew them after two thirds")
	c.Flags().Lookup("node-cert-ttl").Hidden = true // for tests of renewal
}

func newMasterCmd(g *globals) *cobra.Command {
	f := &masterFlags{}
	c := &cobra.Command{
		Use:   "master",
		Short: "run a master: Raft state, the Git watch, the reconciler and the API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(g.logger())
			if err != nil {
				return err
			}
			m, err := master.New(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			return m.Run(ctx)
		},
	}
	c.Flags().StringVar(&f.name, "name", "master-0", "this master's Raft server name")
	c.Flags().StringVar(&f.data, "data", "", "data directory (required)")
	c.Flags().StringVar(&f.raft, "raft", "127.0.0.1:7071", "Raft address")
	c.Flags().StringVar(&f.listen, "listen", "127.0.0.1:7070", "API address")
	c.Flags().BoolVar(&f.bootstrap, "bootstrap", false, "bootstrap a new cluster with this master as its first member")
	c.Flags().StringSliceVar(&f.join, "join", nil, "API addresses of masters of an existing cluster to join (a new data directory, or one without the cluster CA)")
	c.Flags().StringVar(&f.tokenFile, "token-file", "", "with --join: file holding the cluster's master token (DATA/master.token of a master)")
	c.Flags().StringVar(&f.advertise, "advertise", "", "API address other masters reach this one at (default: --listen)")
	c.Flags().Uint64Var(&f.snapshotThreshold, "snapshot-threshold", 8192, "new Raft log entries that make a snapshot (the log is then compacted)")
	c.Flags().DurationVar(&f.snapshotInterval, "snapshot-interval", 2*time.Minute, "how often the snapshot threshold is checked")
	addRepoFlags(c, f)
	return c
}

func newAgentCmd(g *globals) *cobra.Command {
	f := &agentcli.Flags{}
	c := &cobra.Command{
		Use:   "agent",
		Short: "run a node agent that runs its pods through containerd (bin/berth-agent is the same, smaller)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			return agentcli.Run(ctx, f, g.servers(), g.logger()) // its own credentials, never $KUBECONFIG
		},
	}
	f.AddIdentity(c)
	f.AddJoin(c)
	f.Add(c)
	return c
}

func newUpCmd(g *globals) *cobra.Command {
	mf := &masterFlags{}
	af := &agentcli.Flags{}
	var data string
	c := &cobra.Command{
		Use:   "up",
		Short: "run one master and one agent in one process, for a local repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			return runUp(ctx, g.logger(), data, mf, af)
		},
	}
	c.Flags().StringVar(&data, "data", ".berth", "data directory")
	c.Flags().StringVar(&mf.listen, "listen", "127.0.0.1:7070", "API address")
	c.Flags().StringVar(&mf.raft, "raft", "127.0.0.1:0", "Raft address (default: a free port on loopback)")
	c.Flags().StringVar(&af.Name, "node-name", "node-0", "name of the local node")
	addRepoFlags(c, mf)
	af.Add(c)
	return c
}

func runUp(ctx context.Context, log *slog.Logger, data string, mf *masterFlags, af *agentcli.Flags) error {
	if mf.repo == "" {
		return errors.New("up: --repo is required")
	}
	data, err := filepath.Abs(data)
	if err != nil {
		return fmt.Errorf("--data %q: %w", data, err)
	}
	mf.name, mf.data, mf.bootstrap, mf.credentials = "master-0", filepath.Join(data, "master"), true, data
	af.Data, af.Listen = filepath.Join(data, "agent"), "127.0.0.1:0"
	if af.Containerd == "" {
		if node.Answers(node.DefaultContainerdSocket) {
			af.Containerd = node.DefaultContainerdSocket
		} else {
			d, err := node.StartContainerd(ctx, filepath.Join(data, "containerd"))
			if err != nil {
				return err
			}
			defer d.Stop()
			af.Containerd = d.Socket
			log.Info("started containerd", "socket", d.Socket)
		}
	}
	cfg, err := mf.config(log.With("component", "master"))
	if err != nil {
		return err
	}
	m, err := master.New(cfg)
	if err != nil {
		return err
	}
	af.TokenFile = filepath.Join(data, master.AgentTokenFile)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var merr error
	wg.Add(1)
	go func() { defer wg.Done(); merr = m.Run(ctx); cancel() }()
	aerr := agentcli.Run(ctx, af, []string{m.Addr()}, log.With("component", "agent"))
	cancel()
	wg.Wait()
	if aerr != nil && !errors.Is(aerr, context.Canceled) {
		return aerr
	}
	return merr
}
