package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

func newDescribeCmd(g *globals) *cobra.Command {
	var namespace string
	c := &cobra.Command{
		Use:   "describe pod NAME",
		Short: "a pod in detail: its node, the commit it comes from, its conditions and containers",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k := strings.ToLower(args[0]); k != "pod" && k != "pods" && k != "po" {
				return fmt.Errorf("describe: %q: berth describe knows pods", args[0])
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			l, err := cl.Pods(cmd.Context(), namespace)
			if err != nil {
				return err
			}
			for i := range l.Items {
				if l.Items[i].Name == args[1] {
					describePod(cmd.OutOrStdout(), &l.Items[i])
					events, err := cl.Events(cmd.Context(), namespace, "pod/"+args[1])
					if err != nil {
						return err
					}
					describeEvents(cmd.OutOrStdout(), events.Items)
					return nil
				}
			}
			return fmt.Errorf("pod %s/%s not found", namespace, args[1])
		},
	}
	c.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	return c
}

func describePod(w io.Writer, p *corev1.Pod) {
	row := func(k, v string) { fmt.Fprintf(w, "%-15s%s\n", k+":", v) }
	row("Name", p.Name)
	row("Namespace", p.Namespace)
	row("Node", orNone(p.Spec.NodeName)+hostIP(p))
	row("IP", orNone(p.Status.PodIP))
	row("QoS Class", orNone(string(p.Status.QOSClass)))
	row("Commit", orNone(p.Annotations[api.AnnotationCommit]))
	row("Controlled By", orNone(p.Annotations[api.AnnotationOwner]))
	row("Created", p.CreationTimestamp.UTC().Format("2006-01-02 15:04:05Z"))
	row("Labels", keyValues(p.Labels))
	row("Status", podStatus(p))
	row("Restart Policy", string(p.Spec.RestartPolicy))
	fmt.Fprintln(w, "Conditions:")
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(w, "  %-16s%s", c.Type, c.Status)
		if c.Reason != "" {
			fmt.Fprintf(w, "  %s: %s", c.Reason, c.Message)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Containers:")
	statuses := map[string]corev1.ContainerStatus{}
	for _, cs := range p.Status.ContainerStatuses {
		statuses[cs.Name] = cs
	}
	for _, c := range p.Spec.Containers {
		cs := statuses[c.Name]
		fmt.Fprintf(w, "  %s:\n", c.Name)
		fmt.Fprintf(w, "    Image:          %s\n", c.Image)
		fmt.Fprintf(w, "    Container ID:   %s\n", orNone(cs.ContainerID))
		fmt.Fprintf(w, "    State:          %s\n", containerState(cs.State))
		if cs.LastTerminationState.Terminated != nil {
			fmt.Fprintf(w, "    Last State:     %s\n", containerState(cs.LastTerminationState))
		}
		fmt.Fprintf(w, "    Ready:          %v\n", cs.Ready)
		fmt.Fprintf(w, "    Restart Count:  %d\n", cs.RestartCount)
		for _, pr := range []struct {
			name  string
			probe *corev1.Probe
		}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
			if pr.probe != nil {
				fmt.Fprintf(w, "    %-16s%s\n", pr.name+":", probeString(pr.probe))
			}
		}
		if len(c.VolumeMounts) > 0 {
			fmt.Fprintln(w, "    Mounts:")
			for _, m := range c.VolumeMounts {
				mode := "rw"
				if m.ReadOnly {
					mode = "ro"
				}
				fmt.Fprintf(w, "      %s from %s (%s)\n", m.MountPath, m.Name, mode)
			}
		}
	}
}

func hostIP(p *corev1.Pod) string {
	if p.Status.HostIP == "" {
		return ""
	}
	return "/" + p.Status.HostIP
}

// probeString renders a probe as kubectl describe does.
func probeString(p *corev1.Probe) string {
	var h string
	switch {
	case p.HTTPGet != nil:
		h = fmt.Sprintf("http-get %s://:%s%s", strings.ToLower(string(p.HTTPGet.Scheme)), p.HTTPGet.Port.String(), p.HTTPGet.Path)
	case p.TCPSocket != nil:
		h = fmt.Sprintf("tcp-socket :%s", p.TCPSocket.Port.String())
	case p.Exec != nil:
		h = fmt.Sprintf("exec %v", p.Exec.Command)
	}
	return fmt.Sprintf("%s delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", h,
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
}

// describeEvents is the Events section of kubectl describe.
func describeEvents(w io.Writer, events []corev1.Event) {
	if len(events) == 0 {
		fmt.Fprintln(w, "Events:         <none>")
		return
	}
	fmt.Fprintln(w, "Events:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  Type\tReason\tAge\tFrom\tMessage")
	fmt.Fprintln(tw, "  ----\t------\t----\t----\t-------")
	for _, e := range events {
		from := e.Source.Component
		if e.Source.Host != "" {
			from += ", " + e.Source.Host
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, age(e.LastTimestamp.Time), from, eventMessage(&e))
	}
	tw.Flush()
}

func containerState(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "Running since " + s.Running.StartedAt.UTC().Format("2006-01-02 15:04:05Z")
	case s.Terminated != nil:
		t := s.Terminated
		return fmt.Sprintf("Terminated (%s, exit code %d) at %s", t.Reason, t.ExitCode, t.FinishedAt.UTC().Format("2006-01-02 15:04:05Z"))
	case s.Waiting != nil:
		if s.Waiting.Message != "" {
			return "Waiting (" + s.Waiting.Reason + "): " + s.Waiting.Message
		}
		return "Waiting (" + s.Waiting.Reason + ")"
	}
	return "<none>"
}

func keyValues(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
