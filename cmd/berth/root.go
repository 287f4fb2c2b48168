package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/node/crilog"
)

// exitCode is an error that ends berth with a given status and no message
// (the command printed what it had to say).
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

func asExit(err error, code *exitCode) bool { return errors.As(err, code) }

type globals struct {
	server     string
	kubeconfig string
	logLevel   string
	pprof      string
	stale      bool
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "berth runs containers from a Git repository of Kubernetes manifests",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.server, "server", "", "master URL(s), comma-separated (default $BERTH_SERVER, else the kubeconfig's server)")
	root.PersistentFlags().StringVar(&g.kubeconfig, "kubeconfig", "", "credentials of the client commands (default $KUBECONFIG; a bootstrap master writes DATA/admin.kubeconfig)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().BoolVar(&g.stale, "stale", false, "read from whichever master answers, from its own state, without asking the leader (may lag)")
	root.PersistentFlags().StringVar(&g.pprof, "pprof", "", "serve net/http/pprof on this loopback address (master, agent, sim, up)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return g.servePprof() }
	root.AddCommand(newMasterCmd(g), newAgentCmd(g), newUpCmd(g),
		newGetCmd(g), newStatusCmd(g), newWaitCmd(g), newLogsCmd(g), newValidateCmd(), newHistoryCmd(g), newShowCmd(g), newRollbackCmd(), newRevertCmd(), newPlanCmd(g), newDescribeCmd(g), newDiffCmd(), newRolloutCmd(g), newLogToCmd(), newSimCmd(g), newMembersCmd(g), newDeleteCmd(g), newVersionCmd(),
		newTokenCmd(g), newKubeconfigCmd(g), newWhoAmICmd(g), newKeysCmd(g))
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print berth's release, and the commit it was built from",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), api.BuildInfo())
		},
	}
}

func (g *globals) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// servers returns the master URLs from --server, $BERTH_SERVER or the
// default.
func (g *globals) servers() []string {
	if s := g.serverOverride(); s != "" {
		return strings.Split(s, ",")
	}
	return []string{api.DefaultServer}
}

// serverOverride is --server, else $BERTH_SERVER.
func (g *globals) serverOverride() string {
	if g.server != "" {
		return g.server
	}
	return os.Getenv("BERTH_SERVER")
}

// client is a client of the masters with the credentials of --kubeconfig
// or $KUBECONFIG, at --server or $BERTH_SERVER if given, else at the
// kubeconfig's server.
func (g *globals) client() (*client.Client, error) {
	path, flag := g.kubeconfig, "--kubeconfig"
	if path == "" {
		path, flag = os.Getenv("KUBECONFIG"), "$KUBECONFIG"
	}
	if path == "" {
		return nil, errors.New("no credentials: give --kubeconfig FILE or set $KUBECONFIG (a bootstrap master writes DATA/admin.kubeconfig; berth kubeconfig makes more)")
	}
	if i := strings.IndexByte(path, os.PathListSeparator); i >= 0 {
		path = path[:i] // kubectl merges a list; berth takes the first file
	}
	k, err := client.ReadKubeconfig(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	opts, err := k.Options()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	servers := []string{k.Server()}
	if s := g.serverOverride(); s != "" {
		servers = strings.Split(s, ",")
	}
	c, err := client.New(servers, opts...)
	if c != nil {
		c.Stale = g.stale
	}
	return c, err
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// newLogToCmd is the hidden command containerd's shim runs to write a
// container's output to its log file (see crilog.RunShimLogger).
func newLogToCmd() *cobra.Command {
	return &cobra.Command{
		Use:    crilog.LogCommand + " PATH",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE:   func(_ *cobra.Command, args []string) error { return crilog.RunShimLogger(args[0]) },
	}
}

// servePprof serves the Go profiler on --pprof, which must be a loopback
// address: profiles show secrets in memory.
func (g *globals) servePprof() error {
	if g.pprof == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(g.pprof)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof %q: want a loopback address such as 127.0.0.1:6060", g.pprof)
	}
	ln, err := net.Listen("tcp", g.pprof)
	if err != nil {
		return fmt.Errorf("--pprof %q: %w", g.pprof, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	return nil
}
