package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manifest"
)

func newDiffCmd() *cobra.Command {
	var repo, path string
	c := &cobra.Command{
		Use:   "diff REV1 REV2",
		Short: "field-level diff of two commits' manifests, as berth decodes them (defaults filled in)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sets [2]*api.ObjectSet
			for i, rev := range args {
				files, errs := commitFiles(repo, rev, path)
				if len(errs) == 0 {
					sets[i], errs = manifest.Decode(files)
				}
				if len(errs) > 0 {
					return fmt.Errorf("diff: %s does not decode: %w", rev, errs[0])
				}
			}
			out := cmd.OutOrStdout()
			changes := api.FieldDiff(sets[0], sets[1])
			for _, c := range changes {
				switch {
				case c.Field == "" && c.Old == "":
					fmt.Fprintf(out, "+ %s\n", c.Object)
				case c.Field == "":
					fmt.Fprintf(out, "- %s\n", c.Object)
				default:
					fmt.Fprintf(out, "~ %s %s: %s -> %s\n", c.Object, c.Field, orNone(c.Old), orNone(c.New))
				}
			}
			if len(changes) == 0 {
				fmt.Fprintln(out, "no difference in the decoded objects")
			}
			return nil
		},
	}
	c.Flags().StringVar(&repo, "repo", ".", "the local Git repository")
	c.Flags().StringVar(&path, "path", "", "the folder of the manifests in the repository")
	return c
}
