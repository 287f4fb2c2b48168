package ui

import (
	"net/http"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
)

// Cluster is the live cluster as the UI shows it: the objects with their
// status, as the Kubernetes API serves them.
type Cluster struct {
	Nodes        []corev1.Node
	Pods         []corev1.Pod
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	DaemonSets   []appsv1.DaemonSet
	Jobs         []batchv1.Job
	Services     []corev1.Service
	Ingresses    []networkingv1.Ingress
	Claims       []corev1.PersistentVolumeClaim
}

// podsShown is how many pods of one revision of a workload a page lists.
const podsShown = 20

// podRow is a pod as the tree lists it.
type podRow struct {
	Name, Phase, Node, Commit string
	Ready                     bool
	Restarts                  int32
}

// revisionGroup is a workload's pods of one template: a Deployment's
// ReplicaSet, a StatefulSet's or DaemonSet's revision.
type revisionGroup struct {
	Name string
	Pods []podRow
	More int // pods not listed
}

// workloadNode is a workload with its pods by revision; Mixed when more
// than one revision has pods (a rollout in progress).
type workloadNode struct {
	Kind, Name       string
	Ready, Desired   int
	Revisions        []revisionGroup
	Mixed, Unhealthy bool
}

// namespaceRow is a namespace of the cluster page.
type namespaceRow struct {
	Name                 string
	Workloads, Pods, Run int
}

// nodeRow is a node of the cluster page.
type nodeRow struct {
	Name, CPU, Memory string
	Ready             bool
	Pods, MaxPods     int
}

// clusterData is the cluster page.
type clusterData struct {
	Nodes      []nodeRow
	Namespaces []namespaceRow
}

// cluster shows the nodes and the namespaces.
func (s *Server) cluster(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	c := s.cfg.Source.Cluster("")
	d := clusterData{}
	perNode := map[string]int{}
	for _, p := range c.Pods {
		perNode[p.Spec.NodeName]++
	}
	for _, n := range c.Nodes {
		max, _ := n.Status.Capacity.Pods().AsInt64()
		d.Nodes = append(d.Nodes, nodeRow{Name: n.Name, CPU: n.Status.Capacity.Cpu().String(), Memory: n.Status.Capacity.Memory().String(),
			Ready: nodeReady(&n), Pods: perNode[n.Name], MaxPods: int(max)})
	}
	d.Namespaces = namespaceRows(c)
	s.render(w, http.StatusOK, "cluster", page{Title: "Cluster", Who: id.String(), Live: true, Data: d})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// namespaceRows counts each namespace's workloads and pods.
func namespaceRows(c *Cluster) []namespaceRow {
	rows := map[string]*namespaceRow{}
	row := func(ns string) *namespaceRow {
		if rows[ns] == nil {
			rows[ns] = &namespaceRow{Name: ns}
		}
		return rows[ns]
	}
	for _, o := range c.Deployments {
		row(o.Namespace).Workloads++
	}
	for _, o := range c.StatefulSets {
		row(o.Namespace).Workloads++
	}
	for _, o := range c.DaemonSets {
		row(o.Namespace).Workloads++
	}
	for _, o := range c.Jobs {
		row(o.Namespace).Workloads++
	}
	for _, p := range c.Pods {
		r := row(p.Namespace)
		r.Pods++
		if p.Status.Phase == corev1.PodRunning {
			r.Run++
		}
	}
	out := make([]namespaceRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// namespaceData is a namespace's page: its workloads (a page of them),
// Services, Ingresses and claims.
type namespaceData struct {
	Name           string
	Workloads      []workloadNode
	TotalWorkloads int
	Page, Pages    int
	PrevPage, Next int
	Services       []corev1.Service
	Ingresses      []networkingv1.Ingress
	Claims         []corev1.PersistentVolumeClaim
}

// namespace shows a namespace's workloads as a tree (workload, revision,
// pods), paged on the server, and its Services, Ingresses and claims.
func (s *Server) namespace(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ns := r.PathValue("namespace")
	c := s.cfg.Source.Cluster(ns)
	all := workloadTree(c, ns)
	d := namespaceData{Name: ns, TotalWorkloads: len(all)}
	d.Pages = max(1, (len(all)+pageSize-1)/pageSize)
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	d.Page = min(n, d.Pages)
	d.Workloads = all[min((d.Page-1)*pageSize, len(all)):min(d.Page*pageSize, len(all))]
	if d.Page > 1 {
		d.PrevPage = d.Page - 1
	}
	if d.Page < d.Pages {
		d.Next = d.Page + 1
	}
	for _, o := range c.Services {
		if o.Namespace == ns {
			d.Services = append(d.Services, o)
		}
	}
	for _, o := range c.Ingresses {
		if o.Namespace == ns {
			d.Ingresses = append(d.Ingresses, o)
		}
	}
	for _, o := range c.Claims {
		if o.Namespace == ns {
			d.Claims = append(d.Claims, o)
		}
	}
	s.render(w, http.StatusOK, "namespace", page{Title: "Namespace " + ns, Who: id.String(), Live: true, Data: d})
}

// workloadTree groups a namespace's pods under their workloads and, in
// each, by template revision; pods of no workload of Git come last, as
// "Pods".
func workloadTree(c *Cluster, ns string) []workloadNode {
	byOwner := map[string][]*corev1.Pod{}
	for i := range c.Pods {
		if p := &c.Pods[i]; p.Namespace == ns {
			byOwner[p.Annotations[api.AnnotationOwner]] = append(byOwner[p.Annotations[api.AnnotationOwner]], p)
		}
	}
	var out []workloadNode
	add := func(kind, name string, desired int, revision func(*corev1.Pod) string) {
		owner := kind + "/" + name
		out = append(out, newWorkloadNode(kind, name, desired, byOwner[owner], revision))
		delete(byOwner, owner)
	}
	for _, o := range c.Deployments {
		if o.Namespace == ns {
			add("Deployment", o.Name, replicas(o.Spec.Replicas), func(p *corev1.Pod) string { return o.Name + "-" + p.Labels[api.LabelPodTemplateHash] })
		}
	}
	for _, o := range c.StatefulSets {
		if o.Namespace == ns {
			add("StatefulSet", o.Name, replicas(o.Spec.Replicas), func(p *corev1.Pod) string { return p.Labels[api.LabelControllerRevisionHash] })
		}
	}
	for _, o := range c.DaemonSets {
		if o.Namespace == ns {
			add("DaemonSet", o.Name, int(o.Status.DesiredNumberScheduled), func(p *corev1.Pod) string { return p.Labels[api.LabelControllerRevisionHash] })
		}
	}
	for _, o := range c.Jobs {
		if o.Namespace == ns {
			add("Job", o.Name, replicas(o.Spec.Completions), func(*corev1.Pod) string { return o.Name })
		}
	}
	var rest []*corev1.Pod
	for _, pods := range byOwner {
		rest = append(rest, pods...)
	}
	if len(rest) > 0 {
		sort.Slice(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
		out = append(out, newWorkloadNode("Pods", "other pods", len(rest), rest, func(*corev1.Pod) string { return "" }))
	}
	return out
}

func replicas(r *int32) int {
	if r == nil {
		return 1
	}
	return int(*r)
}

// newWorkloadNode groups a workload's pods by revision, newest pods'
// revision first.
func newWorkloadNode(kind, name string, desired int, pods []*corev1.Pod, revision func(*corev1.Pod) string) workloadNode {
	w := workloadNode{Kind: kind, Name: name, Desired: desired}
	groups := map[string]*revisionGroup{}
	var order []string
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		rev := revision(p)
		g := groups[rev]
		if g == nil {
			g = &revisionGroup{Name: rev}
			groups[rev] = g
			order = append(order, rev)
		}
		row := podRow{Name: p.Name, Phase: string(p.Status.Phase), Node: p.Spec.NodeName, Commit: p.Annotations[api.AnnotationCommit], Ready: podReady(p)}
		if p.DeletionTimestamp != nil {
			row.Phase = "Terminating"
		}
		for _, cs := range p.Status.ContainerStatuses {
			row.Restarts += cs.RestartCount
		}
		if row.Ready {
			w.Ready++
		}
		if len(g.Pods) < podsShown {
			g.Pods = append(g.Pods, row)
		} else {
			g.More++
		}
	}
	for _, rev := range order {
		w.Revisions = append(w.Revisions, *groups[rev])
	}
	w.Mixed = len(w.Revisions) > 1
	w.Unhealthy = w.Ready < w.Desired
	return w
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
