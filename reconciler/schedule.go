package reconciler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-dev/berth/api"
)

// nodeFit is a node and what is already requested on it.
type nodeFit struct {
	node      *api.Node
	ready     bool
	cpu, mem  int64 // requested milli-CPU and bytes
	capCPU    int64
	capMemory int64
}

// schedule binds the plan's new pods and the cluster's Pending pods to
// nodes, or records why each fits nowhere.
func schedule(plan *api.Plan, in Input, now time.Time) {
	fits := nodeFits(in, now)
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
		if node, why := place(p, fits); node != "" {
			plan.Bind = append(plan.Bind, api.Binding{Pod: key, Node: node})
		} else if !sameReason(p, why) {
			plan.Unschedulable = append(plan.Unschedulable, api.PendingReason{Pod: key, Message: why})
		}
	}
	for i := range plan.Create {
		p := &plan.Create[i]
		if p.Spec.NodeName != "" { // bound by its controller (a DaemonSet's pod)
			charge(p, fits)
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
			continue
		}
		if node, why := place(p, fits); node != "" {
			p.Spec.NodeName = node
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
		} else {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: why,
			})
		}
	}
}

// charge counts a bound pod's requests against its node.
func charge(p *corev1.Pod, fits []*nodeFit) {
	cpu, mem := requests(p)
	for _, f := range fits {
		if f.node.Name == p.Spec.NodeName {
			f.cpu += cpu
			f.mem += mem
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

func nodeFits(in Input, now time.Time) []*nodeFit {
	var git []corev1.Node
	if in.Desired != nil {
		git = in.Desired.Nodes
	}
	nodes := api.WithGit(in.Nodes, git)
	fits := make([]*nodeFit, 0, len(nodes))
	byName := map[string]*nodeFit{}
	for i := range nodes {
		n := &nodes[i]
		f := &nodeFit{node: n, ready: n.Ready(now), capCPU: n.CPU.MilliValue(), capMemory: n.Memory.Value()}
		fits = append(fits, f)
		byName[n.Name] = f
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		if f := byName[p.Spec.NodeName]; f != nil && !finished(p) {
			cpu, mem := requests(p)
			f.cpu += cpu
			f.mem += mem
		}
	}
	return fits
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

// place picks the feasible node with the lowest share of its capacity in
// use (ties by name) and charges the pod to it. When none fits it returns
// the reason, in the words kube-scheduler uses.
func place(p *corev1.Pod, fits []*nodeFit) (string, string) {
	cpu, mem := requests(p)
	sel := labels.SelectorFromSet(p.Spec.NodeSelector)
	counts := map[string]int{}
	var best *nodeFit
	var bestScore float64
	for _, f := range fits {
		switch {
		case !f.ready:
			counts["node(s) were not ready"]++
			continue
		case f.node.Unschedulable:
			counts["node(s) were unschedulable"]++
			continue
		case !sel.Matches(labels.Set(f.node.Labels)):
			counts["node(s) didn't match Pod's node selector"]++
			continue
		}
		if t := untolerated(f.node.Taints, p.Spec.Tolerations); t != nil {
			counts[fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)]++
			continue
		}
		short := false
		if f.cpu+cpu > f.capCPU {
			counts["Insufficient cpu"]++
			short = true
		}
		if f.mem+mem > f.capMemory {
			counts["Insufficient memory"]++
			short = true
		}
		if short {
			continue
		}
		score := share(f.cpu+cpu, f.capCPU) + share(f.mem+mem, f.capMemory)
		if best == nil || score < bestScore || (score == bestScore && f.node.Name < best.node.Name) {
			best, bestScore = f, score
		}
	}
	if best != nil {
		best.cpu += cpu
		best.mem += mem
		return best.node.Name, ""
	}
	return "", unschedulableMessage(len(fits), counts)
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

// untolerated returns the first NoSchedule or NoExecute taint that no
// toleration tolerates (PreferNoSchedule only prefers: it never filters).
func untolerated(taints []corev1.Taint, tolerations []corev1.Toleration) *corev1.Taint {
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for j := range tolerations {
			if tolerates(&tolerations[j], t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return t
		}
	}
	return nil
}

// tolerates applies Kubernetes' matching of a toleration to a taint: the
// effect (empty matches all), the key (empty with Exists matches all), and
// the value for Equal.
func tolerates(tol *corev1.Toleration, t *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != t.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case corev1.TolerationOpEqual, "":
		return tol.Value == t.Value
	}
	return false
}
