package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

type getFlags struct {
	namespace     string
	allNamespaces bool
	output        string
	forObject     string // get events --for pod/NAME
}

func newGetCmd(g *globals) *cobra.Command {
	f := &getFlags{}
	c := &cobra.Command{
		Use:   "get pods|nodes|events|deployments|replicasets|replicationcontrollers|daemonsets|statefulsets|jobs|cronjobs|services|endpoints|ingresses|gateways|httproutes|pv|pvc|storageclasses",
		Short: "list pods, nodes, workloads with their status, services, endpoints, ingresses or storage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch f.output {
			case "", "wide", "json", "yaml":
			default:
				return fmt.Errorf("--output %q: must be wide, json or yaml", f.output)
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			ns := f.namespace
			if f.allNamespaces {
				ns = ""
			}
			return get(cmd.Context(), cl, args[0], ns, f, cmd.OutOrStdout())
		},
	}
	c.Flags().StringVarP(&f.namespace, "namespace", "n", "default", "namespace")
	c.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "every namespace")
	c.Flags().StringVarP(&f.output, "output", "o", "", "output format: wide, json or yaml")
	c.Flags().StringVar(&f.forObject, "for", "", "with get events: only the events of this object (pod/NAME)")
	return c
}

func get(ctx context.Context, cl *client.Client, what, ns string, f *getFlags, out io.Writer) error {
	var items []any
	var table func(*tabwriter.Writer)
	switch strings.ToLower(what) {
	case "pods", "pod", "po":
		l, err := cl.Pods(ctx, ns)
		if err != nil {
			return err
		}
		for _, p := range l.Items {
			items = append(items, p)
		}
		table = func(w *tabwriter.Writer) { podTable(w, l.Items, f) }
	case "events", "event", "ev":
		l, err := cl.Events(ctx, ns, f.forObject)
		if err != nil {
			return err
		}
		for _, e := range l.Items {
			items = append(items, e)
		}
		table = func(w *tabwriter.Writer) { eventTable(w, l.Items, f) }
	case "nodes", "node", "no":
		l, err := cl.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range l.Items {
			items = append(items, n)
		}
		table = func(w *tabwriter.Writer) { nodeTable(w, l.Items, f.output == "wide") }
	default:
		res := findResource(what)
		if res == nil {
			return fmt.Errorf("unknown resource %q: berth get knows pods, nodes, %s", what, workloadNames())
		}
		var rows func(io.Writer, *getFlags)
		var err error
		if items, rows, err = res.fetch(ctx, cl, ns); err != nil {
			return err
		}
		table = func(w *tabwriter.Writer) { rows(w, f) }
	}
	switch f.output {
	case "json", "yaml":
		return printList(out, f.output, items)
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	table(w)
	return w.Flush()
}

// printList prints a Kubernetes List object, as kubectl does.
func printList(out io.Writer, format string, items []any) error {
	if items == nil {
		items = []any{}
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]string{"resourceVersion": ""}}
	var data []byte
	var err error
	if format == "yaml" {
		data, err = yaml.Marshal(list)
	} else {
		data, err = json.MarshalIndent(list, "", "    ")
		data = append(data, '\n')
	}
	if err != nil {
		return err
	}
	_, err = out.Write(data)
	return err
}

func header(w io.Writer, f *getFlags, cols ...string) {
	if f.allNamespaces {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	fmt.Fprintln(w, strings.Join(cols, "\t"))
}

func row(w io.Writer, f *getFlags, ns string, cols ...string) {
	if f.allNamespaces {
		cols = append([]string{ns}, cols...)
	}
	fmt.Fprintln(w, strings.Join(cols, "\t"))
}

func podTable(w io.Writer, pods []corev1.Pod, f *getFlags) {
	cols := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if f.output == "wide" {
		cols = append(cols, "IP", "NODE", "COMMIT")
	}
	header(w, f, cols...)
	for _, p := range pods {
		ready, restarts := 0, int32(0)
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Ready {
				ready++
			}
			restarts += cs.RestartCount
		}
		vals := []string{p.Name, fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)), podStatus(&p), fmt.Sprint(restarts), age(p.CreationTimestamp.Time)}
		if f.output == "wide" {
			nodeName := p.Spec.NodeName
			if nodeName == "" {
				nodeName = "<none>"
			}
			commit := p.Annotations[api.AnnotationCommit]
			if len(commit) > 12 {
				commit = commit[:12]
			}
			vals = append(vals, cmp.Or(p.Status.PodIP, "<none>"), nodeName, commit)
		}
		row(w, f, p.Namespace, vals...)
	}
}

// podStatus is the STATUS column as kubectl computes it, roughly: a
// container's waiting or terminated reason wins over the phase.
func podStatus(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	reason := string(p.Status.Phase)
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			reason = cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
			reason = cs.State.Terminated.Reason
		}
	}
	return reason
}

func age(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t))
}

// nodeTable lists nodes; wide adds each node's pod CIDR.
func nodeTable(w io.Writer, nodes []corev1.Node, wide bool) {
	head := "NAME\tSTATUS\tCPU\tMEMORY\tADDRESS\tTAINTS\tAGE"
	if wide {
		head += "\tPOD-CIDR"
	}
	fmt.Fprintln(w, head)
	for _, n := range nodes {
		status := "NotReady"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				status = "Ready"
			}
		}
		if n.Spec.Unschedulable {
			status += ",SchedulingDisabled"
		}
		addr := agentAddress(&n)
		taints := []string{}
		for _, t := range n.Spec.Taints {
			taints = append(taints, t.ToString())
		}
		if len(taints) == 0 {
			taints = append(taints, "<none>")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s", n.Name, status, n.Status.Capacity.Cpu(), n.Status.Capacity.Memory(), addr,
			strings.Join(taints, ","), age(n.CreationTimestamp.Time))
		if wide {
			fmt.Fprintf(w, "\t%s", cmp.Or(n.Spec.PodCIDR, "<none>"))
		}
		fmt.Fprintln(w)
	}
}

// eventTable is kubectl get events' table, oldest first.
func eventTable(w io.Writer, events []corev1.Event, f *getFlags) {
	header(w, f, "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
	for _, e := range events {
		row(w, f, e.Namespace, age(e.LastTimestamp.Time), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind)+"/"+e.InvolvedObject.Name, eventMessage(&e))
	}
}

// eventMessage is an event's message, with "(xN)" when it repeated.
func eventMessage(e *corev1.Event) string {
	if e.Count > 1 {
		return fmt.Sprintf("%s (x%d)", e.Message, e.Count)
	}
	return e.Message
}

// agentAddress is where a node's agent listens: its InternalIP and the
// port in its daemonEndpoints.
func agentAddress(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if port := n.Status.DaemonEndpoints.KubeletEndpoint.Port; port != 0 {
				return net.JoinHostPort(a.Address, strconv.Itoa(int(port)))
			}
			return a.Address
		}
	}
	return ""
}
