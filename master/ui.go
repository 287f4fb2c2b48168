package master

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/reconciler"
	"github.com/berth-dev/berth/ui"
)

// uiSource is what the web UI reads (ui.Source): the revision log, the
// live commit, and the objects of any commit, decoded from Git (a few
// kept, as a diff page asks for the same ones again).
type uiSource struct {
	m *Master

	mu      sync.Mutex
	objects map[string]*api.ObjectSet
}

// uiObjectsKept bounds the decoded commits the UI keeps.
const uiObjectsKept = 32

func (u *uiSource) Log() []api.LogEntry { return u.m.store.Log() }

func (u *uiSource) LiveCommit() string { return u.m.store.LiveCommit() }

func (u *uiSource) Index() uint64 { return u.m.store.PodsIndex() }

func (u *uiSource) Wait(ctx context.Context, after uint64) { u.m.store.WaitPodsChange(ctx, after) }

// Objects decodes a commit's manifests (a prefix of 7 or more hex digits
// names a commit of the log).
func (u *uiSource) Objects(commit string) (*api.ObjectSet, error) {
	commit = u.fullCommit(commit)
	u.mu.Lock()
	objs, ok := u.objects[commit]
	u.mu.Unlock()
	if ok {
		return objs, nil
	}
	rev, err := u.m.src.Load(commit)
	if err != nil {
		return nil, err
	}
	if len(rev.Errors) > 0 {
		return nil, fmt.Errorf("it does not decode (%d errors; the first: %s)", len(rev.Errors), rev.Errors[0])
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.objects == nil || len(u.objects) >= uiObjectsKept {
		u.objects = map[string]*api.ObjectSet{}
	}
	u.objects[commit] = rev.Objects
	return rev.Objects, nil
}

// fullCommit is the commit of the log a prefix names, or commit as it is.
func (u *uiSource) fullCommit(commit string) string {
	if len(commit) >= 40 || len(commit) < 7 {
		return commit
	}
	for _, e := range u.m.store.Log() {
		if strings.HasPrefix(e.Commit, commit) {
			return e.Commit
		}
	}
	return commit
}

// Cluster is the live cluster as the Kubernetes API shows it: nodes with
// their conditions, pods marked not ready on nodes that are down and,
// for a namespace, its workloads with their status (computed over that
// namespace's objects only), Services and Ingresses with their
// addresses, and claims with theirs.
func (u *uiSource) Cluster(namespace string) *ui.Cluster {
	m := u.m
	v := m.store.View(false)
	now := time.Now()
	kn := m.kubeNodes(v, now)
	c := &ui.Cluster{Nodes: kn, Pods: reconciler.MarkPodsNotReady(v.Pods, m.creditedNodes(v, now), now, m.nodeTimeout(v))}
	if namespace == "" {
		return c
	}
	in := m.input(v, now)
	in.Desired = objectsOf(v.Desired, namespace)
	in.Pods = slices.DeleteFunc(slices.Clone(v.Pods), func(p corev1.Pod) bool { return p.Namespace != namespace })
	ws := reconciler.WorkloadStatus(in, now)
	c.Deployments, c.StatefulSets, c.DaemonSets, c.Jobs = ws.Deployments, ws.StatefulSets, ws.DaemonSets, ws.Jobs
	c.Services = withLoadBalancers(in.Desired.Services, kn)
	c.Claims = reconciler.Storage(in.Desired, v.Volumes, v.PVCs).Claims
	lb := ingressAddresses(kn)
	for _, ing := range in.Desired.Ingresses {
		ing = *ing.DeepCopy()
		ing.Status.LoadBalancer = lb
		c.Ingresses = append(c.Ingresses, ing)
	}
	return c
}

// objectsOf is the objects of one namespace that the UI shows with
// their status.
func objectsOf(d *api.ObjectSet, ns string) *api.ObjectSet {
	return &api.ObjectSet{Nodes: d.Nodes, StorageClasses: d.StorageClasses, PersistentVolumes: d.PersistentVolumes,
		Deployments: ofNamespace(d.Deployments, ns), ReplicaSets: ofNamespace(d.ReplicaSets, ns), StatefulSets: ofNamespace(d.StatefulSets, ns),
		DaemonSets: ofNamespace(d.DaemonSets, ns), Jobs: ofNamespace(d.Jobs, ns), CronJobs: ofNamespace(d.CronJobs, ns),
		ReplicationControllers: ofNamespace(d.ReplicationControllers, ns), Pods: ofNamespace(d.Pods, ns),
		Services: ofNamespace(d.Services, ns), Ingresses: ofNamespace(d.Ingresses, ns), PersistentVolumeClaims: ofNamespace(d.PersistentVolumeClaims, ns)}
}

// ofNamespace keeps the objects of one namespace.
func ofNamespace[T any, P interface {
	*T
	GetNamespace() string
}](items []T, ns string) []T {
	var out []T
	for i := range items {
		if P(&items[i]).GetNamespace() == ns {
			out = append(out, items[i])
		}
	}
	return out
}

// Events are the events of one object.
func (u *uiSource) Events(namespace, kind, name string) []corev1.Event {
	return u.m.store.Events(func(e *corev1.Event) bool {
		o := e.InvolvedObject
		return o.Namespace == namespace && o.Kind == kind && o.Name == name
	})
}

// PodLog reads a pod's log from its node's agent, as GET /v1/logs does:
// its last tail lines, then what it writes, until ctx ends.
func (u *uiSource) PodLog(ctx context.Context, namespace, pod string, tail int) (io.ReadCloser, error) {
	node, addr, _, err := u.m.podAgent(namespace, pod)
	if err != nil {
		return nil, err
	}
	target := "https://" + addr + api.AgentPathLogs + url.PathEscape(namespace) + "/" + url.PathEscape(pod) +
		"?follow=true&tailLines=" + strconv.Itoa(tail)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	agent := u.m.agentClient(node)
	resp, err := agent.Do(req)
	if err != nil {
		agent.CloseIdleConnections()
		return nil, fmt.Errorf("the log of %s/%s on node %s: %w", namespace, pod, node, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		agent.CloseIdleConnections()
		return nil, fmt.Errorf("the log of %s/%s on node %s: HTTP %d: %s", namespace, pod, node, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return closeBoth{resp.Body, agent}, nil
}

// closeBoth is a log's body whose Close also drops its client's
// connection to the agent.
type closeBoth struct {
	io.ReadCloser
	client *http.Client
}

func (c closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.client.CloseIdleConnections()
	return err
}
