package master

import (
	"context"
	"fmt"
	"slices"
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
