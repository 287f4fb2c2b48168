package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

// newTokenCmd manages join and access tokens (admins).
func newTokenCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "create, list and revoke join and access tokens (admins)"}
	var req api.TokenRequest
	create := &cobra.Command{
		Use:   "create --role agent|master|viewer|operator|admin",
		Short: "mint a token; it is printed once, as the last line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			a, err := cl.CreateToken(cmd.Context(), &req)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "token %s: role %s", a.Info.ID, a.Info.Role)
			if a.Info.Node != "" {
				fmt.Fprintf(out, ", node %s only", a.Info.Node)
			}
			if !a.Info.Expires.IsZero() {
				fmt.Fprintf(out, ", expires %s", a.Info.Expires.Format(time.RFC3339))
			}
			fmt.Fprintln(out)
			fmt.Fprintln(out, a.Token)
			return nil
		},
	}
	create.Flags().StringVar(&req.Role, "role", "", "what the token grants: agent (joins a node), master (joins a master), viewer, operator or admin")
	create.Flags().DurationVar(&req.TTL, "ttl", 0, "the token expires this long from now (default: never)")
	create.Flags().StringVar(&req.Node, "node", "", "an agent token that joins this node name only")
	create.Flags().StringVar(&req.Description, "description", "", "what the token is for")
	list := &cobra.Command{
		Use:   "list",
		Short: "list the tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			ts, err := cl.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "ID\tROLE\tNODE\tEXPIRES\tSTATE\tDESCRIPTION")
			now := time.Now()
			for _, t := range ts {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, dash(t.Node), expires(t.Expires), tokenState(t, now), t.Description)
			}
			return w.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "revoke a token: it stops working at once (certificates it got stay valid until they expire)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			if err := cl.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s revoked\n", args[0])
			return nil
		},
	}
	c.AddCommand(create, list, revoke)
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func expires(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func tokenState(t api.TokenInfo, now time.Time) string {
	switch {
	case t.Revoked:
		return "revoked"
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return "expired"
	}
	return "valid"
}

// newKubeconfigCmd prints a kubeconfig for a new user certificate.
func newKubeconfigCmd(g *globals) *cobra.Command {
	req := api.KubeconfigRequest{}
	c := &cobra.Command{
		Use:   "kubeconfig --role viewer|operator|admin [--ttl D] [--name NAME]",
		Short: "print a kubeconfig with a new client certificate of a role (admins)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			if req.Name == "" {
				req.Name = req.Role
			}
			a, err := cl.Kubeconfig(cmd.Context(), &req)
			if err != nil {
				return err
			}
			k := client.NewKubeconfig(cl.Servers()[0], "berth", req.Name, []byte(a.CA), []byte(a.Certificate), []byte(a.Key))
			_, err = cmd.OutOrStdout().Write(k.YAML())
			return err
		},
	}
	c.Flags().StringVar(&req.Role, "role", api.RoleViewer, "viewer (reads all but Secret values), operator (also Secret values, plan, logs) or admin (also members, nodes, tokens)")
	c.Flags().DurationVar(&req.TTL, "ttl", 0, "the certificate's lifetime (default: a year)")
	c.Flags().StringVar(&req.Name, "name", "", "the user's name, as the audit log shows it (default: the role)")
	return c
}

// newWhoAmICmd prints the identity the masters see.
func newWhoAmICmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "print who the masters take you for: identity and role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			id, err := cl.WhoAmI(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (role %s, by %s)\n", id["identity"], id["role"], id["via"])
			return nil
		},
	}
}

// newKeysCmd shows and rotates the data keys that seal Secrets (admins).
func newKeysCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "the data keys that seal Secrets at rest (admins)"}
	print := func(cmd *cobra.Command, s *api.KeysStatus) error {
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
		fmt.Fprintln(w, "KEY\tPRIMARY\tCREATED\tSECRETS")
		for _, k := range s.Keys {
			fmt.Fprintf(w, "%s\t%v\t%s\t%d\n", k.ID, k.Primary, k.Created.Format(time.RFC3339), k.Secrets)
		}
		if s.Plaintext > 0 {
			fmt.Fprintf(w, "(none)\t-\t-\t%d\n", s.Plaintext)
		}
		return w.Flush()
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "how many Secrets each key seals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			s, err := cl.Keys(cmd.Context())
			if err != nil {
				return err
			}
			return print(cmd, s)
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "add a primary data key; the leader seals every Secret again under it, in the background",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			s, err := cl.RotateKey(cmd.Context())
			if err != nil {
				return err
			}
			return print(cmd, s)
		},
	}
	c.AddCommand(status, rotate)
	return c
}
