package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

func newRolloutCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "rollout", Short: "follow the rollout of a workload"}
	var namespace string
	var timeout time.Duration
	status := &cobra.Command{
		Use:   "status deployment/NAME|daemonset/NAME|statefulset/NAME",
		Short: "watch a rollout until it is done (exit 0), its progress deadline is exceeded (1) or --timeout passes (2)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, ok := strings.Cut(args[0], "/")
			if !ok || name == "" {
				return fmt.Errorf("%q: want KIND/NAME, for example deployment/web", args[0])
			}
			check, err := rolloutCheck(kind)
			if err != nil {
				return err
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return watchRollout(ctx, cl, check, namespace, name, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	status.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	status.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait (0: until done)")
	c.AddCommand(status)
	return c
}

// rolloutState is where a rollout stands: a message, whether it is done,
// and an error when it cannot finish.
type rolloutState struct {
	msg  string
	done bool
	err  error
}

// errNotFound says the workload is not in the live revision;
// errDeadline that its rollout exceeded its progress deadline.
var (
	errNotFound = errors.New("not found")
	errDeadline = errors.New("exceeded its progress deadline")
)

// rolloutCheck returns the function that reads a kind's rollout state,
// worded as kubectl words it.
func rolloutCheck(kind string) (func(context.Context, *client.Client, string, string) rolloutState, error) {
	switch strings.ToLower(kind) {
	case "deployment", "deployments", "deploy":
		return checkOne(api.PathDeployments, "deployment", deploymentRollout), nil
	case "daemonset", "daemonsets", "ds":
		return checkOne(api.PathDaemonSets, "daemon set", daemonSetRollout), nil
	case "statefulset", "statefulsets", "sts":
		return checkOne(api.PathStatefulSets, "statefulset", statefulSetRollout), nil
	}
	return nil, fmt.Errorf("%q: berth rollout status knows deployment, daemonset and statefulset", kind)
}

// checkOne reads the list at path and the state of the named item.
func checkOne[T any, P interface {
	*T
	GetName() string
}](path, noun string, state func(*T) rolloutState) func(context.Context, *client.Client, string, string) rolloutState {
	return func(ctx context.Context, cl *client.Client, ns, name string) rolloutState {
		var l struct {
			Items []T `json:"items"`
		}
		if err := cl.List(ctx, path, ns, &l); err != nil {
			return rolloutState{err: err}
		}
		for i := range l.Items {
			if P(&l.Items[i]).GetName() == name {
				return state(&l.Items[i])
			}
		}
		return rolloutState{err: fmt.Errorf("%s %q %w in namespace %q", noun, name, errNotFound, ns)}
	}
}

func deploymentRollout(d *appsv1.Deployment) rolloutState {
	st, want := d.Status, *d.Spec.Replicas
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return rolloutState{err: fmt.Errorf("deployment %q %w", d.Name, errDeadline)}
		}
	}
	switch {
	case st.UpdatedReplicas < want:
		return rolloutState{msg: fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...", d.Name, st.UpdatedReplicas, want)}
	case st.Replicas > st.UpdatedReplicas:
		return rolloutState{msg: fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...", d.Name, st.Replicas-st.UpdatedReplicas)}
	case st.AvailableReplicas < st.UpdatedReplicas:
		return rolloutState{msg: fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...", d.Name, st.AvailableReplicas, st.UpdatedReplicas)}
	}
	return rolloutState{msg: fmt.Sprintf("deployment %q successfully rolled out", d.Name), done: true}
}

func daemonSetRollout(ds *appsv1.DaemonSet) rolloutState {
	st := ds.Status
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return rolloutState{msg: fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...", ds.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return rolloutState{msg: fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...", ds.Name, st.NumberAvailable, st.DesiredNumberScheduled)}
	}
	return rolloutState{msg: fmt.Sprintf("daemon set %q successfully rolled out", ds.Name), done: true}
}

func statefulSetRollout(s *appsv1.StatefulSet) rolloutState {
	st, want := s.Status, *s.Spec.Replicas
	if st.ReadyReplicas < want || st.Replicas != want {
		return rolloutState{msg: fmt.Sprintf("Waiting for %d pods to be ready...", want-min(st.ReadyReplicas, want))}
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if st.UpdatedReplicas < want-*ru.Partition {
			return rolloutState{msg: fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", st.UpdatedReplicas, want-*ru.Partition)}
		}
		return rolloutState{msg: fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...", st.UpdatedReplicas), done: true}
	}
	if st.UpdatedReplicas < want {
		return rolloutState{msg: fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...", st.UpdatedReplicas, st.UpdateRevision)}
	}
	return rolloutState{msg: fmt.Sprintf("statefulset rolling update complete %d pods at revision %s...", st.UpdatedReplicas, st.UpdateRevision), done: true}
}

// watchRollout prints each new state until the rollout is done, fails
// (exit 1) or the context ends (exit 2). It wakes on every change of the
// cluster through blocking status queries, and at least every second.
func watchRollout(ctx context.Context, cl *client.Client, check func(context.Context, *client.Client, string, string) rolloutState, ns, name string, out, errOut io.Writer) error {
	var index uint64
	last := ""
	for {
		st := check(ctx, cl, ns, name)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintf(errOut, "berth rollout status: timed out: %s\n", last)
			return exitCode(2)
		case st.err != nil && errors.Is(st.err, errNotFound):
			return st.err
		case st.err != nil && errors.Is(st.err, errDeadline):
			fmt.Fprintln(errOut, "error:", st.err)
			return exitCode(1)
		case st.err != nil:
			fmt.Fprintln(errOut, "berth rollout status:", st.err)
		case st.msg != last:
			fmt.Fprintln(out, st.msg)
			last = st.msg
		}
		if st.done {
			return nil
		}
		if s, err := cl.Status(ctx, index, time.Second); err == nil {
			index = s.Index
		} else if ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}
