package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "status",
		Short: "show the live commit and whether the cluster converged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "json" {
				return fmt.Errorf("--output %q: must be json", output)
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			s, err := cl.Status(cmd.Context(), 0, 0)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), s)
			}
			printStatus(cmd.OutOrStdout(), s)
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return c
}

// printJSON prints v as indented JSON (-o json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printStatus(w io.Writer, s *api.Status) {
	fmt.Fprintf(w, "live commit:  %s\n", orNone(s.LiveCommit))
	fmt.Fprintf(w, "seen commit:  %s\n", orNone(s.SeenCommit))
	fmt.Fprintf(w, "converged:    %v\n", s.Converged)
	for _, f := range s.Failures {
		fmt.Fprintf(w, "failed:       %s\n", f)
	}
	fmt.Fprintf(w, "pods:         %d ready of %d\n", s.ReadyPods, s.Pods)
	fmt.Fprintf(w, "nodes:        %d ready of %d\n", s.ReadyNodes, s.Nodes)
	if len(s.Masters) > 0 {
		fmt.Fprintf(w, "masters:      %s; cluster format %d\n", mastersLine(s.Masters), s.Format)
	}
	for _, r := range s.Rejected {
		fmt.Fprintf(w, "rejected %s:\n", r.Commit)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// mastersLine lists the masters with their releases: "m1 v0.1.0
// (leader), m2 v0.1.0".
func mastersLine(ms []api.MemberStatus) string {
	var parts []string
	for _, m := range ms {
		p := m.Name + " " + releaseName(m.Version)
		if m.Leader {
			p += " (leader)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// releaseName shows a master's release; one before v0.1.0 did not say.
func releaseName(v string) string {
	if v == "" {
		return "<v0.1.0"
	}
	return v
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func newWaitCmd(g *globals) *cobra.Command {
	var commit string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "wait",
		Short: "wait until a commit is live and converged (exit 1: rejected or a Job failed, 2: timeout)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return wait(ctx, cl, commit, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&commit, "commit", "", "commit SHA (full or abbreviated); default: the newest commit seen")
	c.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait")
	return c
}

// wait polls the status with blocking queries until the commit converged
// (nil), was rejected (exit 1) or the time ran out (exit 2).
func wait(ctx context.Context, cl *client.Client, commit string, out, errOut io.Writer) error {
	var index uint64
	var last *api.Status
	for {
		s, err := cl.Status(ctx, index, 10*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return timedOut(errOut, commit, last)
			}
			fmt.Fprintln(errOut, "berth wait:", err)
			select {
			case <-ctx.Done():
				return timedOut(errOut, commit, last)
			case <-time.After(time.Second):
			}
			continue
		}
		last, index = s, s.Index
		want := commit
		if want == "" {
			want = s.SeenCommit
		}
		for _, r := range s.Rejected {
			if want != "" && strings.HasPrefix(r.Commit, want) {
				fmt.Fprintf(errOut, "commit %s was rejected:\n", r.Commit)
				for _, e := range r.Errors {
					fmt.Fprintln(errOut, "  "+e)
				}
				return exitCode(1)
			}
		}
		if want != "" && strings.HasPrefix(s.LiveCommit, want) && len(s.Failures) > 0 {
			fmt.Fprintf(errOut, "commit %s cannot converge:\n", s.LiveCommit)
			for _, f := range s.Failures {
				fmt.Fprintln(errOut, "  "+f)
			}
			return exitCode(1)
		}
		if want != "" && strings.HasPrefix(s.LiveCommit, want) && s.Converged {
			fmt.Fprintf(out, "commit %s is live and converged (%d pods ready)\n", s.LiveCommit, s.ReadyPods)
			return nil
		}
	}
}

func timedOut(errOut io.Writer, commit string, last *api.Status) error {
	if last == nil {
		fmt.Fprintln(errOut, "berth wait: timed out: no master answered")
	} else {
		fmt.Fprintf(errOut, "berth wait: timed out waiting for %s (live %s, converged %v, %d/%d pods ready)\n",
			orNone(commit), orNone(last.LiveCommit), last.Converged, last.ReadyPods, last.Pods)
	}
	return exitCode(2)
}

func newLogsCmd(g *globals) *cobra.Command {
	var container, namespace, sinceTime string
	var follow, previous, timestamps bool
	var tail, limit int64
	var since time.Duration
	c := &cobra.Command{
		Use:   "logs POD",
		Short: "print a container's log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			set := func(k string, on bool, v string) {
				if on {
					q.Set(k, v)
				}
			}
			set("container", container != "", container)
			set("follow", follow, "true")
			set("previous", previous, "true")
			set("timestamps", timestamps, "true")
			set("tailLines", tail >= 0, strconv.FormatInt(tail, 10))
			set("limitBytes", limit > 0, strconv.FormatInt(limit, 10))
			set("sinceSeconds", since > 0, strconv.Itoa(int(max(since.Seconds(), 1))))
			set("sinceTime", sinceTime != "", sinceTime)
			cl, err := g.client()
			if err != nil {
				return err
			}
			rc, err := cl.Logs(cmd.Context(), namespace, args[0], q)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	c.Flags().StringVarP(&container, "container", "c", "", "container (default: the first)")
	c.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming new lines")
	c.Flags().BoolVarP(&previous, "previous", "p", false, "the log of the container's previous run")
	c.Flags().BoolVar(&timestamps, "timestamps", false, "prefix each line with its RFC 3339 time")
	c.Flags().Int64Var(&tail, "tail", -1, "only the last N lines (-1: all)")
	c.Flags().Int64Var(&limit, "limit-bytes", 0, "at most N bytes (0: no limit)")
	c.Flags().DurationVar(&since, "since", 0, "only lines newer than this, e.g. 5m")
	c.Flags().StringVar(&sinceTime, "since-time", "", "only lines after this RFC 3339 time")
	return c
}
