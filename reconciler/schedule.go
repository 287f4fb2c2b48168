package reconciler

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/api"
)

// Reasons a node is filtered out, in kube-scheduler's words.
const (
	reasonNotReady      = "node(s) were not ready"
	reasonUnschedulable = "node(s) were unschedulable"
	reasonAffinity      = "node(s) didn't match Pod's node affinity/selector"
	reasonTooManyPods   = "Too many pods"
	reasonPorts         = "node(s) didn't have free ports for the requested pod ports"
	reasonCPU           = "Insufficient cpu"
	reasonMemory        = "Insufficient memory"
	reasonPodAffinity   = "node(s) didn't match pod affinity rules"
	reasonAntiAffinity  = "node(s) didn't match pod anti-affinity rules"
	reasonExistingAnti  = "node(s) didn't satisfy existing pods anti-affinity rules"
	reasonSpread        = "node(s) didn't match pod topology spread constraints"
	reasonVolumeNode    = "node(s) had volume node affinity conflict"
)

// nodeInfo is a node and what is already placed on it.
type nodeInfo struct {
	node      *api.Node
	kube      *corev1.Node // name and labels, for node selectors
	ready     bool
	cpu, mem  int64 // requested milli-CPU and bytes
	capCPU    int64
	capMemory int64
	pods      int
	ports     map[string]bool // "TCP/8080" taken by a hostPort
	owners    map[string]int  // pods per owner ("Kind/namespace/name")
}

// scheduler places pods one at a time, filters then scores, as
// kube-scheduler does, charging each placement to its node so that the
// next pod sees it.
type scheduler struct {
	now    time.Time
	claims map[string]string // "namespace/claim" to the node that holds it
	// storage binds the claims of the pods placed (nil: the cluster does
	// not record volumes yet).
	storage *storage
	nodes   []*nodeInfo
	byName  map[string]*nodeInfo
	placed  []placedPod // pods bound to a node and not finished
	// antiAffinity are the placed pods with required anti-affinity terms,
	// which keep matching pods out of their topology domain.
	antiAffinity []placedPod
	selectors    map[*metav1.LabelSelector]labels.Selector // converted once per pass
	// next is the node the next search for feasible nodes starts at.
	next int
}

// feasibleToFind is how many feasible nodes a pod's search stops at on a
// large cluster, as kube-scheduler's adaptive percentageOfNodesToScore:
// 50% less one point per 125 nodes, at least 5% and at least 100 nodes.
// 1,000 nodes: 420; 5,000: 500. Successive searches start where the last
// stopped, so that every node gets its turn.
func feasibleToFind(nodes int) int {
	const minNodes, basePercent, minPercent = 100, 50, 5
	if nodes <= minNodes {
		return nodes
	}
	percent := max(basePercent-nodes/125, minPercent)
	return max(nodes*percent/100, minNodes)
}

// placedPod is a pod and the node it is on (a Pending pod bound in this
// pass keeps an empty nodeName in the input, which is not changed).
type placedPod struct {
	pod  *corev1.Pod
	node *nodeInfo
}

// schedule binds the plan's new pods and the cluster's Pending pods to
// nodes, or records why each fits nowhere.
func schedule(plan *api.Plan, in Input, now time.Time, st *storage) {
	s := newScheduler(in, now)
	s.storage = st
	deleting := map[string]bool{}
	for _, k := range plan.Delete {
		deleting[k] = true
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		key := api.PodKey(p)
		if p.Spec.NodeName != "" || p.DeletionTimestamp != nil || deleting[key] {
			continue
		}
		if node, why := s.place(p); node != "" {
			plan.Bind = append(plan.Bind, api.Binding{Pod: key, Node: node})
		} else if !sameReason(p, why) {
			plan.Unschedulable = append(plan.Unschedulable, api.PendingReason{Pod: key, Message: why})
		}
	}
	for i := range plan.Create {
		p := &plan.Create[i]
		if p.Spec.NodeName != "" { // bound by its controller (a DaemonSet's pod)
			s.charge(p, s.byName[p.Spec.NodeName])
			if n := s.byName[p.Spec.NodeName]; n != nil {
				s.pinClaims(p, n)
			}
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
			continue
		}
		if node, why := s.place(p); node != "" {
			p.Spec.NodeName = node
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
		} else {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: why,
			})
		}
	}
}

func sameReason(p *corev1.Pod, why string) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Message == why
		}
	}
	return false
}

func newScheduler(in Input, now time.Time) *scheduler {
	var git []corev1.Node
	if in.Desired != nil {
		git = in.Desired.Nodes
	}
	nodes := api.WithGit(in.Nodes, git)
	s := &scheduler{now: now, byName: map[string]*nodeInfo{}, claims: cloneOrNew(in.Claims), selectors: map[*metav1.LabelSelector]labels.Selector{}}
	for i := range nodes {
		n := &nodes[i]
		info := &nodeInfo{
			node: n, kube: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}},
			ready: n.ReadyWithin(now, in.nodeTimeout()) && n.NetworkReady(), capCPU: n.CPU.MilliValue(), capMemory: n.Memory.Value(),
			ports: map[string]bool{}, owners: map[string]int{},
		}
		s.nodes = append(s.nodes, info)
		s.byName[n.Name] = info
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		if info := s.byName[p.Spec.NodeName]; info != nil && !finished(p) {
			s.charge(p, info)
		}
	}
	return s
}

// charge records a pod on its node: its requests, its host ports, its
// owner, and its anti-affinity terms.
func (s *scheduler) charge(p *corev1.Pod, n *nodeInfo) {
	if n == nil {
		return
	}
	cpu, mem := requests(p)
	n.cpu += cpu
	n.mem += mem
	n.pods++
	for _, port := range hostPorts(p) {
		n.ports[port] = true
	}
	if kind, name := owner(p); kind != "" {
		n.owners[ownerKey(kind, p.Namespace, name)]++
	}
	s.placed = append(s.placed, placedPod{p, n})
	if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
		s.antiAffinity = append(s.antiAffinity, placedPod{p, n})
	}
}

func hostPorts(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.HostPort != 0 {
				out = append(out, fmt.Sprintf("%s/%d", port.Protocol, port.HostPort))
			}
		}
	}
	return out
}

func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// requests is what a pod asks of a node, as Kubernetes counts it: the sum
// of its containers' requests, or the largest init container's if that is
// more (init containers run one at a time, before the others). A limit
// stands in for a missing request.
func requests(p *corev1.Pod) (milliCPU, memory int64) {
	for _, c := range p.Spec.Containers {
		milliCPU += quantity(c.Resources, corev1.ResourceCPU).MilliValue()
		memory += quantity(c.Resources, corev1.ResourceMemory).Value()
	}
	for _, c := range p.Spec.InitContainers {
		milliCPU = max(milliCPU, quantity(c.Resources, corev1.ResourceCPU).MilliValue())
		memory = max(memory, quantity(c.Resources, corev1.ResourceMemory).Value())
	}
	return milliCPU, memory
}

func quantity(r corev1.ResourceRequirements, name corev1.ResourceName) *resource.Quantity {
	if q, ok := r.Requests[name]; ok {
		return &q
	}
	if q, ok := r.Limits[name]; ok {
		return &q
	}
	return &resource.Quantity{}
}

// place picks the feasible node with the best score (ties by name) and
// charges the pod to it. When none fits it returns the reason, in the
// words kube-scheduler uses.
//
// A pod without inter-pod affinity or spread rules is scored on the first
// feasibleToFind feasible nodes only; one with them, on every feasible
// node (their scores compare domains across the cluster).
func (s *scheduler) place(p *corev1.Pod) (string, string) {
	if s.storage != nil {
		if why := s.storage.claimMissing(p); why != "" {
			return "", why
		}
	}
	f := s.newFilter(p)
	want := len(s.nodes)
	if f.terms == nil {
		want = feasibleToFind(len(s.nodes))
	}
	counts := map[string]int{}
	var feasible []*nodeInfo
	checked := 0
	for ; checked < len(s.nodes) && len(feasible) < want; checked++ {
		n := s.nodes[(s.next+checked)%len(s.nodes)]
		if why := f.check(n); why != "" {
			counts[why]++
			continue
		}
		feasible = append(feasible, n)
	}
	if len(s.nodes) > 0 {
		s.next = (s.next + checked) % len(s.nodes)
	}
	if len(feasible) == 0 {
		return "", unschedulableMessage(len(s.nodes), counts)
	}
	best := s.best(p, f, feasible)
	s.charge(p, best)
	s.pinClaims(p, best)
	return best.node.Name, ""
}

// pinClaims records that the claims of a pod placed on a node keep
// their data there (the next pod of the pass that shares one follows),
// and binds those that waited for this first consumer.
func (s *scheduler) pinClaims(p *corev1.Pod, n *nodeInfo) {
	for _, key := range api.ClaimsOf(p) {
		if s.claims[key] == "" {
			s.claims[key] = n.node.Name
		}
	}
	if s.storage != nil {
		s.storage.placed(p, n.kube)
	}
}

func share(used, capacity int64) float64 {
	if capacity <= 0 {
		return 1
	}
	return float64(used) / float64(capacity)
}

func unschedulableMessage(nodes int, counts map[string]int) string {
	if nodes == 0 {
		return "0/0 nodes are available: no nodes are registered."
	}
	reasons := make([]string, 0, len(counts))
	for r, n := range counts {
		reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(reasons)
	return fmt.Sprintf("0/%d nodes are available: %s.", nodes, strings.Join(reasons, ", "))
}

// filter is what one pod needs of a node, worked out once per pod.
type filter struct {
	s        *scheduler
	pod      *corev1.Pod
	cpu, mem int64
	ports    []string
	affinity nodeaffinity.RequiredNodeAffinity
	terms    *podTerms // nil when the pod has no affinity or spread rules
	// dataOn is the node that holds the pod's claims ("" when none does).
	dataOn string
}

func (s *scheduler) newFilter(p *corev1.Pod) *filter {
	f := &filter{s: s, pod: p, ports: hostPorts(p), affinity: nodeaffinity.GetRequiredNodeAffinity(p)}
	f.cpu, f.mem = requests(p)
	f.terms = s.podTermsOf(p)
	for _, v := range p.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil && s.claims[api.Key(p.Namespace, c.ClaimName)] != "" {
			f.dataOn = s.claims[api.Key(p.Namespace, c.ClaimName)]
		}
	}
	return f
}

// check returns why the node cannot take the pod, or "".
func (f *filter) check(n *nodeInfo) string {
	switch {
	case !n.ready:
		return reasonNotReady
	case n.node.Unschedulable:
		return reasonUnschedulable
	}
	if ok, _ := f.affinity.Match(n.kube); !ok {
		return reasonAffinity
	}
	if f.dataOn != "" && f.dataOn != n.node.Name {
		return reasonVolumeNode
	}
	if f.s.storage != nil {
		if why := f.s.storage.nodeFor(f.pod, n.kube); why != "" {
			return why
		}
	}
	if t := untolerated(n.node.Taints, f.pod.Spec.Tolerations); t != nil {
		return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
	}
	if n.pods+1 > n.node.PodCapacity() {
		return reasonTooManyPods
	}
	for _, port := range f.ports {
		if n.ports[port] {
			return reasonPorts
		}
	}
	switch {
	case n.cpu+f.cpu > n.capCPU:
		return reasonCPU
	case n.mem+f.mem > n.capMemory:
		return reasonMemory
	}
	if f.terms != nil {
		return f.terms.check(n)
	}
	return ""
}

// untolerated returns the first NoSchedule or NoExecute taint that no
// toleration tolerates (PreferNoSchedule only prefers: it never filters).
func untolerated(taints []corev1.Taint, tolerations []corev1.Toleration) *corev1.Taint {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectPreferNoSchedule && !tolerated(t, tolerations) {
			return t
		}
	}
	return nil
}

// tolerated applies Kubernetes' matching of tolerations to a taint
// (corev1.Toleration.ToleratesTaint, without the alpha Lt and Gt
// operators, off by default in Kubernetes too).
func tolerated(t *corev1.Taint, tolerations []corev1.Toleration) bool {
	for j := range tolerations {
		if tolerations[j].ToleratesTaint(klog.Background(), t, false) {
			return true
		}
	}
	return false
}

// cloneOrNew copies a map, or makes one in place of nil.
func cloneOrNew(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
