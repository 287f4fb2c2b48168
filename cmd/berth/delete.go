package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newDeleteCmd is `berth delete node NAME`: everything else a cluster
// runs is deleted in Git.
func newDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete node NAME",
		Short: "forget a node that left (its pods are deleted and placed again; other nodes drop their routes to it)",
		Long: "delete node forgets a node, as kubectl delete node does: its pod CIDR is free again, every other node drops its routes " +
			"to it, and its pods are deleted (their controllers place them again). An agent that still runs registers the node again. " +
			"Workloads are deleted in Git, not here.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "node", "nodes", "no":
			default:
				return fmt.Errorf("delete %s: only nodes are deleted here; delete workloads in Git", args[0])
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			if err := cl.RemoveNode(cmd.Context(), args[1]); err != nil {
				return fmt.Errorf("delete node %s: %w", args[1], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "node %s deleted\n", args[1])
			return nil
		},
	}
}
