package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/gitsource"
	"github.com/berth-dev/berth/keyring"
	"github.com/berth-dev/berth/manifest"
)

func newValidateCmd() *cobra.Command {
	var repo, commit, path, ageIdentity string
	c := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "check manifests offline, as a master would (exit 1 with every error)",
		Long: "validate decodes and validates the manifests of a folder (default: the current one), or of a commit\n" +
			"of a repository (--repo DIR --commit SHA), with the same checks a master runs. No master is needed.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, errs, err := readManifests(args, repo, commit, path)
			if err != nil {
				return fmt.Errorf("validate: %w", err)
			}
			decrypt := keyring.StubSOPSFiles // the structure of SOPS files, without the key
			if ageIdentity != "" {
				ids, err := readAgeIdentities(ageIdentity)
				if err != nil {
					return err
				}
				decrypt = keyring.SOPSFiles(ids)
			}
			if len(errs) == 0 {
				errs = gitsource.DecryptFiles(files, decrypt)
			}
			if len(errs) == 0 {
				_, errs = manifest.Decode(files)
			}
			for _, e := range errs {
				fmt.Fprintln(cmd.OutOrStdout(), e)
			}
			if len(errs) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s in %s\n", plural(len(errs), "error"), plural(len(files), "file"))
				return exitCode(1)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s valid\n", plural(len(files), "file"))
			return nil
		},
	}
	c.Flags().StringVar(&repo, "repo", "", "a local Git repository to read a commit of")
	c.Flags().StringVar(&commit, "commit", "HEAD", "with --repo: the commit (SHA, branch or tag)")
	c.Flags().StringVar(&path, "path", "", "with --repo: the folder of the manifests in the repository")
	c.Flags().StringVar(&ageIdentity, "age-identity", "", "age identities that open SOPS-encrypted files (without it, their structure is checked)")
	return c
}

// readManifests reads the manifest files of a folder (args[0], default ".")
// or, with repo set, of a commit of a local repository. errs are problems
// with the files (a commit's symlinks); err is a usage error.
func readManifests(args []string, repo, commit, path string) ([]manifest.File, []error, error) {
	if repo != "" {
		if len(args) > 0 {
			return nil, nil, errors.New("give a folder or --repo, not both")
		}
		files, errs := commitFiles(repo, commit, path)
		return files, errs, nil
	}
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is not a folder", dir)
	}
	files, err := manifest.ReadFS(os.DirFS(dir), ".")
	return files, nil, err
}

// commitFiles reads the manifests of one commit of a local repository.
func commitFiles(repo, rev, dir string) ([]manifest.File, []error) {
	r, err := git.PlainOpen(repo)
	if err != nil {
		return nil, []error{fmt.Errorf("opening repository %s: %w", repo, err)}
	}
	hash, err := r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, []error{fmt.Errorf("commit %q in %s: %w", rev, repo, err)}
	}
	c, err := r.CommitObject(*hash)
	if err != nil {
		return nil, []error{fmt.Errorf("commit %s in %s: %w", hash, repo, err)}
	}
	return gitsource.TreeFiles(c, dir)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
