package main

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/cmd/internal/agentcli"
	"github.com/berth-dev/berth/node"
)

// newSimCmd runs many hollow agents in one process, for scale tests.
func newSimCmd(g *globals) *cobra.Command {
	f := &agentcli.Flags{}
	var nodes int
	c := &cobra.Command{
		Use:   "sim --nodes N --data DIR",
		Short: "run N hollow node agents in one process (scale tests; containers run without processes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 {
				return fmt.Errorf("--nodes %d: want at least 1", nodes)
			}
			if f.Data == "" {
				return fmt.Errorf("sim: --data is required")
			}
			ctx, cancel := signalContext()
			defer cancel()
			log := g.logger()
			var wg sync.WaitGroup
			errs := make(chan error, nodes)
			for i := range nodes {
				nf := *f
				nf.Name, nf.Data, nf.Hollow = fmt.Sprintf("%s%04d", f.Name, i), filepath.Join(f.Data, fmt.Sprintf("%04d", i)), true
				cfg, err := agentcli.Config(&nf, log.With("node", nf.Name))
				if err != nil {
					return err
				}
				// Each hollow node has its own client and certificate, as
				// a real agent does: its own connections, and its own
				// choice of master.
				cl, _, err := agentcli.Connect(ctx, &nf, g.servers(), log)
				if err != nil {
					return err
				}
				a, err := node.New(cfg, cl, node.NewHollowRuntime(f.HollowLatency))
				if err != nil {
					return err
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := a.Run(ctx); err != nil && ctx.Err() == nil {
						errs <- fmt.Errorf("hollow node %s: %w", cfg.Name, err)
						cancel()
					}
				}()
			}
			log.Info("hollow nodes running", "nodes", nodes)
			wg.Wait()
			close(errs)
			return <-errs
		},
	}
	c.Flags().IntVar(&nodes, "nodes", 100, "how many hollow nodes")
	c.Flags().StringVar(&f.Name, "name-prefix", "hollow-", "node names are this and a number")
	c.Flags().StringVar(&f.Data, "data", "", "data directory; each node gets a folder in it (required)")
	f.AddJoin(c)
	f.Add(c)
	c.Flags().Lookup("hollow").Hidden = true // always hollow
	return c
}
