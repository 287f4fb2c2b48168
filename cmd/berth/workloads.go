package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
)

// resource is a kind `berth get` lists: its names on the command line,
// where the master serves it, and its table.
type resource struct {
	names []string
	fetch func(ctx context.Context, cl *client.Client, ns string) (items []any, table func(io.Writer, *getFlags), err error)
}

// listOf reads the list at path and returns its items and their table.
func listOf[T any](path string, rows func(w io.Writer, f *getFlags, items []T)) func(context.Context, *client.Client, string) ([]any, func(io.Writer, *getFlags), error) {
	return func(ctx context.Context, cl *client.Client, ns string) ([]any, func(io.Writer, *getFlags), error) {
		var l struct {
			Items []T `json:"items"`
		}
		if err := cl.List(ctx, path, ns, &l); err != nil {
			return nil, nil, err
		}
		items := make([]any, len(l.Items))
		for i := range l.Items {
			items[i] = l.Items[i]
		}
		return items, func(w io.Writer, f *getFlags) { rows(w, f, l.Items) }, nil
	}
}

// workloadResources are the workload kinds, with kubectl's columns.
var workloadResources = []resource{
	{[]string{"deployments", "deployment", "deploy"}, listOf(api.PathDeployments, func(w io.Writer, f *getFlags, items []appsv1.Deployment) {
		header(w, f, "NAME", "READY", "UP-TO-DATE", "AVAILABLE")
		for _, d := range items {
			row(w, f, d.Namespace, d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, *d.Spec.Replicas),
				fmt.Sprint(d.Status.UpdatedReplicas), fmt.Sprint(d.Status.AvailableReplicas))
		}
	})},
	{[]string{"replicasets", "replicaset", "rs"}, listOf(api.PathReplicaSets, func(w io.Writer, f *getFlags, items []appsv1.ReplicaSet) {
		header(w, f, "NAME", "DESIRED", "CURRENT", "READY")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, fmt.Sprint(*o.Spec.Replicas), fmt.Sprint(o.Status.Replicas), fmt.Sprint(o.Status.ReadyReplicas))
		}
	})},
	{[]string{"replicationcontrollers", "replicationcontroller", "rc"}, listOf(api.PathReplicationControllers, func(w io.Writer, f *getFlags, items []corev1.ReplicationController) {
		header(w, f, "NAME", "DESIRED", "CURRENT", "READY")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, fmt.Sprint(*o.Spec.Replicas), fmt.Sprint(o.Status.Replicas), fmt.Sprint(o.Status.ReadyReplicas))
		}
	})},
	{[]string{"daemonsets", "daemonset", "ds"}, listOf(api.PathDaemonSets, func(w io.Writer, f *getFlags, items []appsv1.DaemonSet) {
		header(w, f, "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR")
		for _, o := range items {
			st := o.Status
			row(w, f, o.Namespace, o.Name, fmt.Sprint(st.DesiredNumberScheduled), fmt.Sprint(st.CurrentNumberScheduled), fmt.Sprint(st.NumberReady),
				fmt.Sprint(st.UpdatedNumberScheduled), fmt.Sprint(st.NumberAvailable), selectorString(o.Spec.Template.Spec.NodeSelector))
		}
	})},
	{[]string{"statefulsets", "statefulset", "sts"}, listOf(api.PathStatefulSets, func(w io.Writer, f *getFlags, items []appsv1.StatefulSet) {
		header(w, f, "NAME", "READY")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, fmt.Sprintf("%d/%d", o.Status.ReadyReplicas, *o.Spec.Replicas))
		}
	})},
	{[]string{"jobs", "job"}, listOf(api.PathJobs, func(w io.Writer, f *getFlags, items []batchv1.Job) {
		header(w, f, "NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, jobState(&o), jobCompletions(&o), jobDuration(&o), startAge(o.Status.StartTime))
		}
	})},
	{[]string{"cronjobs", "cronjob", "cj"}, listOf(api.PathCronJobs, func(w io.Writer, f *getFlags, items []batchv1.CronJob) {
		header(w, f, "NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE")
		for _, o := range items {
			tz := "<none>"
			if o.Spec.TimeZone != nil {
				tz = *o.Spec.TimeZone
			}
			row(w, f, o.Namespace, o.Name, o.Spec.Schedule, tz, fmt.Sprint(o.Spec.Suspend != nil && *o.Spec.Suspend),
				fmt.Sprint(len(o.Status.Active)), startAge(o.Status.LastScheduleTime))
		}
	})},
	{[]string{"ingresses", "ingress", "ing"}, listOf(api.PathIngresses, func(w io.Writer, f *getFlags, items []networkingv1.Ingress) {
		header(w, f, "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS")
		for _, o := range items {
			class := "<none>"
			if o.Spec.IngressClassName != nil {
				class = *o.Spec.IngressClassName
			}
			var hosts, addrs []string
			for _, r := range o.Spec.Rules {
				hosts = append(hosts, cmp.Or(r.Host, "*"))
			}
			for _, in := range o.Status.LoadBalancer.Ingress {
				addrs = append(addrs, in.IP)
			}
			ports := "80"
			if len(o.Spec.TLS) > 0 {
				ports = "80, 443"
			}
			row(w, f, o.Namespace, o.Name, class, strings.Join(hosts, ","), strings.Join(addrs, ","), ports)
		}
	})},
	{[]string{"gateways", "gateway", "gtw"}, listOf(api.PathGateways, func(w io.Writer, f *getFlags, items []gatewayv1.Gateway) {
		header(w, f, "NAME", "CLASS", "ADDRESS", "PROGRAMMED", "LISTENERS")
		for _, o := range items {
			var addrs, listeners []string
			for _, a := range o.Status.Addresses {
				addrs = append(addrs, a.Value)
			}
			for i, l := range o.Status.Listeners {
				state := "Programmed"
				if c := meta.FindStatusCondition(l.Conditions, "Programmed"); c == nil || c.Status != metav1.ConditionTrue {
					state = "NotProgrammed"
					if c := firstFalse(l.Conditions); c != nil {
						state = c.Reason
					}
				}
				listeners = append(listeners, fmt.Sprintf("%s:%d/%s(%s, %d routes)", l.Name, o.Spec.Listeners[i].Port, o.Spec.Listeners[i].Protocol, state, l.AttachedRoutes))
			}
			row(w, f, o.Namespace, o.Name, string(o.Spec.GatewayClassName), cmp.Or(strings.Join(addrs, ","), "<none>"),
				conditionStatus(o.Status.Conditions, "Programmed"), strings.Join(listeners, " "))
		}
	})},
	{[]string{"httproutes", "httproute"}, listOf(api.PathHTTPRoutes, func(w io.Writer, f *getFlags, items []gatewayv1.HTTPRoute) {
		header(w, f, "NAME", "HOSTNAMES", "PARENTS")
		for _, o := range items {
			var hosts, parents []string
			for _, h := range o.Spec.Hostnames {
				hosts = append(hosts, string(h))
			}
			for _, p := range o.Status.Parents {
				state := "Accepted"
				if c := firstFalse(p.Conditions); c != nil {
					state = c.Type + "=False(" + c.Reason + ")"
				}
				parents = append(parents, fmt.Sprintf("%s:%s", p.ParentRef.Name, state))
			}
			row(w, f, o.Namespace, o.Name, cmp.Or(strings.Join(hosts, ","), "*"), strings.Join(parents, " "))
		}
	})},
	{[]string{"services", "service", "svc"}, listOf(api.PathServices, func(w io.Writer, f *getFlags, items []corev1.Service) {
		header(w, f, "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, string(o.Spec.Type), cmp.Or(o.Spec.ClusterIP, "<none>"), externalIP(&o), servicePorts(o.Spec.Ports), selectorString(o.Spec.Selector))
		}
	})},
	{[]string{"endpoints", "ep"}, listOf(api.PathEndpoints, func(w io.Writer, f *getFlags, items []corev1.Endpoints) {
		header(w, f, "NAME", "ENDPOINTS")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, endpointsString(o.Subsets))
		}
	})},
	{[]string{"endpointslices", "endpointslice"}, listOf(api.PathEndpointSlices, func(w io.Writer, f *getFlags, items []discoveryv1.EndpointSlice) {
		header(w, f, "NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS")
		for _, o := range items {
			row(w, f, o.Namespace, o.Name, string(o.AddressType), slicePorts(o.Ports), sliceAddresses(o.Endpoints))
		}
	})},
}

// conditionStatus is a condition's status, "Unknown" when missing.
func conditionStatus(cs []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(cs, typ); c != nil {
		return string(c.Status)
	}
	return "Unknown"
}

// firstFalse is the first condition that is False, if any.
func firstFalse(cs []metav1.Condition) *metav1.Condition {
	for i := range cs {
		if cs[i].Status == metav1.ConditionFalse {
			return &cs[i]
		}
	}
	return nil
}

// externalIP is kubectl's EXTERNAL-IP column of a Service: its external
// name, or the addresses a LoadBalancer answers on (<pending> while none).
func externalIP(s *corev1.Service) string {
	if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return cmp.Or(s.Spec.ExternalName, "<none>")
	}
	var ips []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	return cmp.Or(strings.Join(ips, ","), "<pending>")
}

// slicePorts is kubectl's PORTS column of EndpointSlices: "8080,53".
func slicePorts(ports []discoveryv1.EndpointPort) string {
	var parts []string
	for _, p := range ports {
		if p.Port != nil {
			parts = append(parts, fmt.Sprint(*p.Port))
		}
	}
	return cmp.Or(strings.Join(parts, ","), "<unset>")
}

// sliceAddresses is kubectl's ENDPOINTS column of EndpointSlices.
func sliceAddresses(eps []discoveryv1.Endpoint) string {
	var addrs []string
	for _, e := range eps {
		addrs = append(addrs, e.Addresses...)
	}
	return cmp.Or(strings.Join(addrs, ","), "<unset>")
}

// servicePorts is kubectl's PORT(S) column: "80:30080/TCP,53/UDP".
func servicePorts(ports []corev1.ServicePort) string {
	if len(ports) == 0 {
		return "<none>"
	}
	var parts []string
	for _, p := range ports {
		s := fmt.Sprint(p.Port)
		if p.NodePort != 0 {
			s += fmt.Sprintf(":%d", p.NodePort)
		}
		parts = append(parts, s+"/"+string(p.Protocol))
	}
	return strings.Join(parts, ",")
}

// endpointsString is kubectl's ENDPOINTS column: the ready addresses with
// their ports, at most three, then "+ N more...".
func endpointsString(subsets []corev1.EndpointSubset) string {
	var all []string
	for _, s := range subsets {
		for _, a := range s.Addresses {
			for _, p := range s.Ports {
				all = append(all, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
		}
	}
	switch {
	case len(all) == 0:
		return "<none>"
	case len(all) > 3:
		return strings.Join(all[:3], ",") + fmt.Sprintf(" + %d more...", len(all)-3)
	}
	return strings.Join(all, ",")
}

func findResource(name string) *resource {
	for _, list := range [][]resource{workloadResources, storageResources} {
		for i := range list {
			if slices.Contains(list[i].names, strings.ToLower(name)) {
				return &list[i]
			}
		}
	}
	return nil
}

func selectorString(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// jobState is the STATUS column of kubectl get jobs.
func jobState(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return string(c.Type)
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return "Suspended"
	}
	return "Running"
}

func jobCompletions(j *batchv1.Job) string {
	if j.Spec.Completions == nil {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
}

func jobDuration(j *batchv1.Job) string {
	if j.Status.StartTime == nil {
		return ""
	}
	end := time.Now()
	if j.Status.CompletionTime != nil {
		end = j.Status.CompletionTime.Time
	}
	return duration.HumanDuration(end.Sub(j.Status.StartTime.Time))
}

func startAge(t *metav1.Time) string {
	if t == nil {
		return "<none>"
	}
	return age(t.Time)
}

func workloadNames() string {
	var names []string
	for _, r := range append(workloadResources, storageResources...) {
		names = append(names, r.names[0])
	}
	return strings.Join(names, ", ")
}
