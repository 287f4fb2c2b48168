package reconciler

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// ordinal is a StatefulSet pod's index, from its name "<set>-<i>", or -1.
func ordinal(set, name string) int {
	rest, ok := strings.CutPrefix(name, set+"-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 0 || strconv.Itoa(i) != rest {
		return -1
	}
	return i
}

func healthy(p *corev1.Pod) bool {
	return p != nil && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && PodReady(p)
}

// statefulSet keeps pods NAME-0 … NAME-(n-1), one per ordinal at any time:
// a pod is only created once no pod of that name exists, terminating ones
// included. OrderedReady creates them in order, each running and ready
// before the next, and scales down from the highest ordinal, one at a
// time, only while all are healthy; Parallel does neither wait. A
// RollingUpdate replaces pods from the highest ordinal down to the
// partition, one at a time, each once all are healthy.
func (r *pass) statefulSet(s *appsv1.StatefulSet) {
	n := int(derefInt32(s.Spec.Replicas, 1))
	ordered := s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	hash := templateHash(&s.Spec.Template)
	pods := map[int]*corev1.Pod{}
	var condemned []int
	for _, p := range r.owned[ownerKey("StatefulSet", s.Namespace, s.Name)] {
		i := ordinal(s.Name, p.Name)
		pods[i] = p
		if i >= n || i < 0 {
			condemned = append(condemned, i)
		}
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodFailed {
			r.delete(p) // recreated under the same name once it is gone
		}
	}
	for i := 0; i < n; i++ {
		p := pods[i]
		if p == nil {
			r.create(r.statefulPod(s, i, hash))
		}
		if ordered && (p == nil || !healthy(p)) {
			return
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(condemned)))
	for _, i := range condemned {
		if p := pods[i]; p.DeletionTimestamp == nil {
			r.delete(p)
		}
		if ordered {
			return // the next one waits for this one to be gone
		}
	}
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return
	}
	partition := 0
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	for i := n - 1; i >= 0; i-- {
		if !healthy(pods[i]) {
			return
		}
	}
	for i := n - 1; i >= partition; i-- {
		if pods[i].Labels[api.LabelControllerRevisionHash] != revisionName(s.Name, hash) {
			r.delete(pods[i])
			return
		}
	}
}

// ClaimName is the claim of ordinal i for a claim template, named as
// Kubernetes names the PersistentVolumeClaim: "<template>-<set>-<i>".
func ClaimName(template, set string, i int) string { return api.ClaimName(template, set, i) }

func revisionName(set, hash string) string { return set + "-" + hash }

// statefulPod is ordinal i of a StatefulSet, with the labels, hostname
// and subdomain Kubernetes gives it.
func (r *pass) statefulPod(s *appsv1.StatefulSet, i int, hash string) corev1.Pod {
	name := fmt.Sprintf("%s-%d", s.Name, i)
	p := r.templatePod(&s.Spec.Template, s.Namespace, name, "StatefulSet/"+s.Name, map[string]string{
		api.LabelControllerRevisionHash: revisionName(s.Name, hash),
		api.LabelStatefulSetPodName:     name,
		api.LabelPodIndex:               strconv.Itoa(i),
	})
	// Its DNS name is NAME.SERVICE (the headless Service of serviceName).
	p.Spec.Hostname, p.Spec.Subdomain = name, s.Spec.ServiceName
	p.Spec.Volumes = api.WithClaimVolumes(p.Spec.Volumes, s.Spec.VolumeClaimTemplates, func(t string) string { return ClaimName(t, s.Name, i) })
	return p
}
