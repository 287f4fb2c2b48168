package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
)

func newHistoryCmd(g *globals) *cobra.Command {
	var output string
	var limit int
	c := &cobra.Command{
		Use:   "history",
		Short: "the revision log: every commit berth saw, newest first, and what became of it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "json" {
				return fmt.Errorf("--output %q: must be json", output)
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			log, err := cl.Revisions(cmd.Context())
			if err != nil {
				return err
			}
			var newest []api.LogEntry
			for i := len(log) - 1; i >= 0 && (limit <= 0 || len(newest) < limit); i-- {
				newest = append(newest, log[i])
			}
			if output == "json" {
				if newest == nil {
					newest = []api.LogEntry{}
				}
				return printJSON(cmd.OutOrStdout(), newest)
			}
			printHistory(cmd.OutOrStdout(), newest)
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	c.Flags().IntVar(&limit, "limit", 0, "show at most N entries (0: all)")
	return c
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func printHistory(out io.Writer, entries []api.LogEntry) {
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "COMMIT\tOUTCOME\tROLLOUT\tAUTHOR\tSEEN\tMESSAGE")
	for _, e := range entries {
		rollout := "-"
		if e.Rollout != nil {
			rollout = string(e.Rollout.State)
		} else if e.Outcome == api.OutcomeApplied {
			rollout = "in progress"
		}
		outcome := string(e.Outcome)
		if e.Rewrite {
			outcome += " (rewrite)"
		}
		msg := firstLine(e.Message)
		if e.RevertOf != "" {
			msg = "[revert of " + short(e.RevertOf) + "] " + msg
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", short(e.Commit), outcome, rollout, e.Author, age(e.SeenAt), msg)
	}
	w.Flush()
}

func newShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show REV",
		Short: "one entry of the revision log: the commit, its outcome, its rollout and what it changed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			log, err := cl.Revisions(cmd.Context())
			if err != nil {
				return err
			}
			for i := len(log) - 1; i >= 0; i-- {
				if args[0] != "" && strings.HasPrefix(log[i].Commit, args[0]) {
					printEntry(cmd.OutOrStdout(), &log[i])
					return nil
				}
			}
			return fmt.Errorf("commit %q is not in the revision log", args[0])
		},
	}
}

func printEntry(out io.Writer, e *api.LogEntry) {
	fmt.Fprintf(out, "commit     %s\n", e.Commit)
	if len(e.Parents) > 0 {
		fmt.Fprintf(out, "parents    %s\n", strings.Join(e.Parents, " "))
	}
	fmt.Fprintf(out, "author     %s <%s> at %s\n", e.Author, e.AuthorEmail, e.AuthorTime.Format("2006-01-02 15:04:05Z07:00"))
	fmt.Fprintf(out, "committer  %s <%s> at %s\n", e.Committer, e.CommitterEmail, e.CommitTime.Format("2006-01-02 15:04:05Z07:00"))
	if e.RevertOf != "" {
		fmt.Fprintf(out, "reverts    %s\n", e.RevertOf)
	}
	if e.Signature != "" {
		fmt.Fprintf(out, "signature  %s\n", e.Signature)
	}
	fmt.Fprintf(out, "seen       %s\n", e.SeenAt.Format("2006-01-02 15:04:05.000Z07:00"))
	fmt.Fprintf(out, "outcome    %s", e.Outcome)
	if e.Rewrite {
		fmt.Fprint(out, " (history rewrite)")
	}
	fmt.Fprintln(out)
	if !e.AppliedAt.IsZero() {
		fmt.Fprintf(out, "applied    %s (raft index %d)\n", e.AppliedAt.Format("2006-01-02 15:04:05.000Z07:00"), e.RaftIndex)
	}
	if r := e.Rollout; r != nil {
		fmt.Fprintf(out, "rollout    %s at %s", r.State, r.At.Format("2006-01-02 15:04:05.000Z07:00"))
		if r.By != "" {
			fmt.Fprintf(out, " by %s", r.By)
		}
		if r.Reason != "" {
			fmt.Fprintf(out, ": %s", r.Reason)
		}
		fmt.Fprintln(out)
	}
	for _, err := range e.Errors {
		fmt.Fprintf(out, "error      %s\n", err)
	}
	printSummary(out, e.Summary, "  ")
	fmt.Fprintf(out, "\n    %s\n", strings.ReplaceAll(e.Message, "\n", "\n    "))
}

// printSummary lists the objects a revision adds (+), changes (~) and
// removes (-).
func printSummary(out io.Writer, s *api.Summary, indent string) {
	if s == nil {
		return
	}
	for _, group := range []struct {
		mark string
		keys []string
	}{{"+", s.Added}, {"~", s.Changed}, {"-", s.Removed}} {
		for _, k := range group.keys {
			fmt.Fprintf(out, "%s%s %s\n", indent, group.mark, k)
		}
	}
}
