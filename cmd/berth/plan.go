package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
)

func newPlanCmd(g *globals) *cobra.Command {
	var repo, commit, path string
	c := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "dry run against the live cluster: what would be created, changed and deleted, and whether every pod fits",
		Long: "plan sends the manifests of a folder (default: the current one), or of a commit (--repo DIR --commit SHA),\n" +
			"to the master, which answers what applying them would do without applying anything.\n" +
			"Exit 0: valid and every pod can be placed; 1: invalid manifests; 2: some pods fit on no node.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, errs, err := readManifests(args, repo, commit, path)
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			out := cmd.OutOrStdout()
			if len(errs) > 0 {
				for _, e := range errs {
					fmt.Fprintln(out, e)
				}
				return exitCode(1)
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			req := &api.PlanRequest{}
			for _, f := range files {
				req.Files = append(req.Files, api.PlanFile{Name: f.Name, Data: f.Data})
			}
			d, err := cl.Plan(cmd.Context(), req)
			if err != nil {
				return err
			}
			return printDryRun(out, d)
		},
	}
	c.Flags().StringVar(&repo, "repo", "", "a local Git repository to read a commit of")
	c.Flags().StringVar(&commit, "commit", "HEAD", "with --repo: the commit (SHA, branch or tag)")
	c.Flags().StringVar(&path, "path", "", "with --repo: the folder of the manifests in the repository")
	return c
}

func printDryRun(out io.Writer, d *api.DryRun) error {
	if len(d.Errors) > 0 {
		for _, e := range d.Errors {
			fmt.Fprintln(out, e)
		}
		fmt.Fprintf(out, "the commit would be refused: %d errors\n", len(d.Errors))
		return exitCode(1)
	}
	printSummary(out, d.Summary, "")
	for _, p := range d.Create {
		if p.Node != "" {
			fmt.Fprintf(out, "  create pod %s on %s\n", p.Pod, p.Node)
		} else {
			fmt.Fprintf(out, "  create pod %s: cannot be placed: %s\n", p.Pod, p.Reason)
		}
	}
	for _, k := range d.Delete {
		fmt.Fprintf(out, "  delete pod %s\n", k)
	}
	fmt.Fprintf(out, "%d pods to create, %d to delete", len(d.Create), len(d.Delete))
	if n := d.Unplaceable(); n > 0 {
		fmt.Fprintf(out, "; %d fit on no node\n", n)
		return exitCode(2)
	}
	fmt.Fprintln(out)
	return nil
}
