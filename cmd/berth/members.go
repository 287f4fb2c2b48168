package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

func newMembersCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "members",
		Short: "list the masters: Raft state, the leader, applied index and state digest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			ms, err := cl.Members(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tVERSION\tRAFT\tAPI\tSTATE\tVOTER\tINDEX\tSNAPSHOT\tDIGEST")
			for _, m := range ms {
				state, index, snap, digest := selfOf(cmd.Context(), cl, m)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\n", m.Name, releaseName(m.Version), m.RaftAddr, m.APIAddr, state, m.Voter, index, snap, digest)
			}
			return w.Flush()
		},
	}
	c.AddCommand(&cobra.Command{
		Use:   "remove NAME",
		Short: "remove a (dead) master from the Raft configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			if err := cl.RemoveMember(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "master %s removed\n", args[0])
			return nil
		},
	})
	return c
}

// selfOf asks one master for its own view; an unreachable one says so.
func selfOf(ctx context.Context, any *client.Client, m api.MemberStatus) (state, index, snapshot, digest string) {
	if m.APIAddr == "" {
		return "unknown (no API address recorded)", "-", "-", "-"
	}
	cl, err := any.At(m.APIAddr)
	if err != nil {
		return "unknown", "-", "-", "-"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := cl.Self(ctx)
	if err != nil {
		return "unreachable", "-", "-", "-"
	}
	if s.Halted != "" {
		return "Halted: " + s.Halted, fmt.Sprint(s.Index), fmt.Sprint(s.Snapshot), s.Digest[:12]
	}
	return s.State, fmt.Sprint(s.Index), fmt.Sprint(s.Snapshot), s.Digest[:12]
}
