// Package agentcli is the command line of the node agent, shared by
// `berth agent` (and `berth up`, `berth sim`) and the lean berth-agent
// binary.
package agentcli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apiresource "k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/node"
	"github.com/berth-dev/berth/node/network"
	"github.com/berth-dev/berth/pki"
)

// Flags are the agent's command-line flags.
type Flags struct {
	Name, Data, Listen, Containerd string
	Labels                         []string
	Imports                        []string
	AllowPrivileged                bool
	HostPaths                      []string
	MaxPods                        int
	Backoff                        node.Backoff
	CPU, Memory                    string
	Hollow                         bool
	HollowLatency                  time.Duration
	ServiceProxy                   bool
	Ingress                        bool
	IngressPorts                   []int
	PodNetwork                     string
	// Token and TokenFile are the join token (--token, --token-file,
	// $BERTH_TOKEN), needed until the node has a certificate.
	Token, TokenFile string
}

// AddJoin adds --token and --token-file.
func (f *Flags) AddJoin(c *cobra.Command) {
	c.Flags().StringVar(&f.Token, "token", "", "join token (default $BERTH_TOKEN); prefer --token-file, which keeps it out of the process list")
	c.Flags().StringVar(&f.TokenFile, "token-file", "", "file holding the join token (a master writes DATA/agent.token)")
}

// JoinToken is the token from --token-file, --token or $BERTH_TOKEN ("" for
// none: a node that has its certificate needs none).
func (f *Flags) JoinToken() (string, error) {
	if f.TokenFile != "" {
		data, err := os.ReadFile(f.TokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	if f.Token != "" {
		return f.Token, nil
	}
	return os.Getenv("BERTH_TOKEN"), nil
}

// Connect gets the node's credentials (kept under DATA/pki, or new ones
// for the join token) and returns a client of the masters that shows
// them. It keeps trying while the masters cannot answer yet (starting,
// or the token not yet recorded); a token that does not match the
// masters' CA, or is refused, ends it.
func Connect(ctx context.Context, f *Flags, servers []string, log *slog.Logger) (*client.Client, *client.Credentials, error) {
	// A node that keeps its certificate needs no token: a token file gone
	// since it joined matters only if the certificate does not do.
	token, tokenErr := f.JoinToken()
	id := pki.Identity{Kind: pki.KindNode, Name: f.Name, Role: api.RoleAgent}
	if err := id.Validate(); err != nil {
		return nil, nil, fmt.Errorf("--name: %w", err)
	}
	var creds *client.Credentials
	var err error
	delay := 200 * time.Millisecond
	for {
		creds, err = client.Join(ctx, servers, token, filepath.Join(f.Data, "pki"), id)
		if err == nil || !client.JoinRetryable(err) || ctx.Err() != nil {
			break
		}
		log.Warn("joining the cluster; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
	if errors.Is(err, client.ErrNoToken) && tokenErr != nil {
		err = tokenErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("agent %s: %w", f.Name, err)
	}
	cl, err := client.New(servers, client.WithTLS(creds.ClientTLS()))
	return cl, creds, err
}

// AddIdentity adds --name, --data and --listen.
func (f *Flags) AddIdentity(c *cobra.Command) {
	c.Flags().StringVar(&f.Name, "name", "", "node name (required)")
	c.Flags().StringVar(&f.Data, "data", "", "data directory (required)")
	c.Flags().StringVar(&f.Listen, "listen", "127.0.0.1:0", "address the agent serves logs on")
}

// Add adds the agent's flags (all but --name, --data and --listen) to c.
func (f *Flags) Add(c *cobra.Command) {
	c.Flags().StringVar(&f.Containerd, "containerd", "", "containerd socket (default "+node.DefaultContainerdSocket+")")
	c.Flags().StringSliceVar(&f.Labels, "labels", nil, "node labels, k=v,…")
	c.Flags().StringSliceVar(&f.Imports, "import", nil, "image archives (OCI or docker save) to import into containerd at start")
	c.Flags().BoolVar(&f.AllowPrivileged, "allow-privileged", false, "let pods run privileged containers on this node")
	c.Flags().StringSliceVar(&f.HostPaths, "allow-host-path", nil, "path prefixes hostPath volumes may use (none by default)")
	c.Flags().IntVar(&f.MaxPods, "max-pods", api.DefaultMaxPods, "most pods the scheduler puts on this node")
	c.Flags().DurationVar(&f.Backoff.Initial, "backoff-initial", node.DefaultBackoffInitial, "restart back-off of a crashing container, doubling from this (shorten for tests)")
	c.Flags().DurationVar(&f.Backoff.Max, "backoff-max", node.DefaultBackoffMax, "longest restart back-off")
	c.Flags().StringVar(&f.CPU, "cpu", "", "CPU capacity offered to the scheduler (default: the machine's cores)")
	c.Flags().StringVar(&f.Memory, "memory", "", "memory capacity offered to the scheduler (default: the machine's)")
	c.Flags().BoolVar(&f.Hollow, "hollow", false, "a hollow node for scale tests: containers \"run\" without processes (no containerd)")
	c.Flags().DurationVar(&f.HollowLatency, "hollow-latency", 100*time.Millisecond, "with --hollow: how long a container start takes")
	c.Flags().StringVar(&f.PodNetwork, "pod-network", string(network.HostGW), "give each pod its own network namespace and address from the node's pod CIDR, through CNI, and reach other nodes' pods by host-gw (routes to their nodes on one L2 segment) or vxlan (a tunnel, for nodes in different subnets); off: pods share the node's network")
	c.Flags().Lookup("pod-network").NoOptDefVal = string(network.HostGW)
	c.Flags().BoolVar(&f.ServiceProxy, "service-proxy", true, "program nftables (the nft command) so that Services' cluster IPs and node ports answer on this node")
	c.Flags().BoolVar(&f.Ingress, "ingress", true, "serve the cluster's Ingresses on this node's --ingress-ports, on all its addresses")
	c.Flags().IntSliceVar(&f.IngressPorts, "ingress-ports", []int{80, 443}, "the Ingress proxy's HTTP and HTTPS ports")
}

func parseLabels(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q is not k=v", kv)
		}
		out[k] = v
	}
	return out, nil
}

// Run joins the cluster (see Connect), connects to containerd (or, with
// --hollow, makes a hollow runtime), imports images and runs the agent.
func Run(ctx context.Context, f *Flags, servers []string, log *slog.Logger) error {
	if f.Containerd == "" {
		f.Containerd = node.DefaultContainerdSocket
	}
	cfg, err := Config(f, log)
	if err != nil {
		return err
	}
	if f.Hollow {
		return runAgent(ctx, f, cfg, servers, node.NewHollowRuntime(f.HollowLatency), log)
	}
	if f.Containerd, err = filepath.Abs(f.Containerd); err != nil {
		return fmt.Errorf("--containerd %q: %w", f.Containerd, err)
	}
	rt, err := node.NewContainerd(ctx, f.Containerd, f.Name, filepath.Join(f.Data, "runc"))
	if err != nil {
		return err
	}
	defer rt.Close()
	rt.AllowPrivileged = f.AllowPrivileged
	if rt.LogBinary, err = LogBinary(); err != nil {
		return err
	}
	for _, archive := range f.Imports {
		names, err := rt.Import(ctx, archive)
		if err != nil {
			return err
		}
		log.Info("imported images", "archive", archive, "images", names)
	}
	if len(f.Imports) > 0 {
		debug.FreeOSMemory() // the import's buffers are garbage now: give them back
	}
	return runAgent(ctx, f, cfg, servers, rt, log)
}

// runAgent joins the cluster (once the runtime is known to work, so that
// a broken node says so at once) and runs the agent, renewing its
// certificate while it runs.
func runAgent(ctx context.Context, f *Flags, cfg node.Config, servers []string, rt node.Runtime, log *slog.Logger) error {
	cl, creds, err := Connect(ctx, f, servers, log)
	if err != nil {
		return err
	}
	cfg.TLS = creds.PeerTLS()
	ctx, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() { defer close(renewed); creds.RenewLoop(ctx, cl, log) }()
	defer func() { stop(); <-renewed }()
	a, err := node.New(cfg, cl, rt)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// Config checks the agent's flags and turns them into its config.
func Config(f *Flags, log *slog.Logger) (node.Config, error) {
	if f.Name == "" || f.Data == "" {
		return node.Config{}, errors.New("agent: --name and --data are required")
	}
	labels, err := parseLabels(f.Labels)
	if err != nil {
		return node.Config{}, err
	}
	if f.MaxPods < 1 {
		return node.Config{}, fmt.Errorf("--max-pods %d: must be at least 1", f.MaxPods)
	}
	if f.Backoff.Initial <= 0 || f.Backoff.Max < f.Backoff.Initial {
		return node.Config{}, fmt.Errorf("--backoff-initial %v, --backoff-max %v: want 0 < initial <= max", f.Backoff.Initial, f.Backoff.Max)
	}
	podNetwork, mode, err := parsePodNetwork(f.PodNetwork)
	if err != nil {
		return node.Config{}, err
	}
	cfg := node.Config{Name: f.Name, DataDir: f.Data, Listen: f.Listen, Labels: labels, MaxPods: f.MaxPods,
		HostPaths: f.HostPaths, Backoff: f.Backoff, Hollow: f.Hollow, ServiceProxy: f.ServiceProxy, PodNetwork: podNetwork, NetworkMode: mode, Logger: log}
	if f.Ingress {
		if cfg.IngressHTTP, cfg.IngressHTTPS, err = parseIngressPorts(f.IngressPorts); err != nil {
			return node.Config{}, err
		}
	}
	for _, q := range []struct {
		flag, value string
		dst         *apiresource.Quantity
	}{{"--cpu", f.CPU, &cfg.CPU}, {"--memory", f.Memory, &cfg.Memory}} {
		if q.value == "" {
			continue
		}
		v, err := apiresource.ParseQuantity(q.value)
		if err != nil || v.Sign() <= 0 {
			return node.Config{}, fmt.Errorf("%s %q: want a positive quantity such as 4 or 8Gi", q.flag, q.value)
		}
		*q.dst = v
	}
	return cfg, nil
}

// parseIngressPorts reads --ingress-ports: the HTTP port, then the HTTPS
// port, both between 1 and 65535 and different.
func parseIngressPorts(ports []int) (http, https int, err error) {
	if len(ports) != 2 || ports[0] == ports[1] {
		return 0, 0, fmt.Errorf("--ingress-ports %v: want two different ports, HTTP then HTTPS, such as 80,443", ports)
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return 0, 0, fmt.Errorf("--ingress-ports %v: port %d is not between 1 and 65535", ports, p)
		}
	}
	return ports[0], ports[1], nil
}

// parsePodNetwork reads --pod-network: off, host-gw or vxlan.
func parsePodNetwork(s string) (bool, network.Mode, error) {
	if s == "off" || s == "false" {
		return false, "", nil
	}
	if s == "true" {
		return true, network.HostGW, nil
	}
	m, err := network.ParseMode(s)
	if err != nil {
		return false, "", fmt.Errorf("--pod-network %q: want off, %s or %s", s, network.HostGW, network.VXLAN)
	}
	return true, m, nil
}

// LogBinary is the logging binary the shim runs for each container:
// berth-logger next to this binary (it starts in a few milliseconds), or
// else this binary itself (its hidden log-to command).
func LogBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the berth binary for container logs: %w", err)
	}
	small := filepath.Join(filepath.Dir(exe), "berth-logger")
	if fi, err := os.Stat(small); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return small, nil
	}
	return exe, nil
}
