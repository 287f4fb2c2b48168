// Command berth-agent is the node agent alone: `berth agent` without the
// master, the Git source and the client commands linked in, so that a node
// spends less memory on it (the binary's pages are most of an idle agent's
// resident memory).
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/cmd/internal/agentcli"
	"github.com/berth-dev/berth/node/crilog"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "berth-agent:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	f := &agentcli.Flags{}
	var servers, logLevel string
	c := &cobra.Command{
		Use:           "berth-agent --name NAME --server URL[,URL…] --data DIR",
		Short:         "run a berth node agent: it runs the pods bound to its node through containerd",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if servers == "" {
				servers = os.Getenv("BERTH_SERVER")
			}
			if servers == "" {
				servers = api.DefaultServer
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: %w", logLevel, err)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			return agentcli.Run(ctx, f, strings.Split(servers, ","), log)
		},
	}
	c.Flags().StringVar(&servers, "server", "", "master URL(s), comma-separated (default $BERTH_SERVER or "+api.DefaultServer+")")
	c.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.AddIdentity(c)
	f.AddJoin(c)
	f.Add(c)
	c.AddCommand(&cobra.Command{ // the shim's logger when bin/berth-logger is missing
		Use:    crilog.LogCommand + " PATH",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE:   func(_ *cobra.Command, args []string) error { return crilog.RunShimLogger(args[0]) },
	})
	return c
}
