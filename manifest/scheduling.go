package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// schedulingFields are the pod spec fields that steer the scheduler,
// relative to a pod spec.
var schedulingFields = concat(
	prefixed("affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[].", nodeSelectorTermFields),
	[]string{"affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[].weight"},
	prefixed("affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[].preference.", nodeSelectorTermFields),
	podAffinityFields("affinity.podAffinity."),
	podAffinityFields("affinity.podAntiAffinity."),
	[]string{"topologySpreadConstraints[].maxSkew", "topologySpreadConstraints[].topologyKey", "topologySpreadConstraints[].whenUnsatisfiable"},
	prefixed("topologySpreadConstraints[].labelSelector.", labelSelectorFields),
)

var nodeSelectorTermFields = []string{
	"matchExpressions[].key", "matchExpressions[].operator", "matchExpressions[].values[]",
	"matchFields[].key", "matchFields[].operator", "matchFields[].values[]",
}

var labelSelectorFields = []string{
	"matchLabels.*", "matchExpressions[].key", "matchExpressions[].operator", "matchExpressions[].values[]",
}

func podAffinityFields(prefix string) []string {
	term := concat(prefixed("labelSelector.", labelSelectorFields), []string{"namespaces[]", "topologyKey"})
	return concat(
		prefixed(prefix+"requiredDuringSchedulingIgnoredDuringExecution[].", term),
		[]string{prefix + "preferredDuringSchedulingIgnoredDuringExecution[].weight"},
		prefixed(prefix+"preferredDuringSchedulingIgnoredDuringExecution[].podAffinityTerm.", term),
	)
}

// validateScheduling checks affinity and topology spread constraints as
// Kubernetes does: valid selectors and operators, weights 1-100, a
// topology key on every term, maxSkew above 0.
func validateScheduling(s *corev1.PodSpec, field string) []*fieldError {
	var fes []*fieldError
	if a := s.Affinity; a != nil {
		fes = append(fes, validateNodeAffinity(a.NodeAffinity, field+".affinity.nodeAffinity")...)
		if a.PodAffinity != nil {
			fes = append(fes, validatePodAffinity(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
				a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, field+".affinity.podAffinity")...)
		}
		if a.PodAntiAffinity != nil {
			fes = append(fes, validatePodAffinity(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
				a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, field+".affinity.podAntiAffinity")...)
		}
	}
	for i, c := range s.TopologySpreadConstraints {
		f := fmt.Sprintf("%s.topologySpreadConstraints[%d]", field, i)
		if c.MaxSkew <= 0 {
			fes = append(fes, &fieldError{f + ".maxSkew", "must be greater than zero"})
		}
		fes = append(fes, validateTopologyKey(c.TopologyKey, f+".topologyKey")...)
		switch c.WhenUnsatisfiable {
		case corev1.DoNotSchedule, corev1.ScheduleAnyway:
		default:
			fes = append(fes, &fieldError{f + ".whenUnsatisfiable", fmt.Sprintf("unsupported value %q: supported values: \"DoNotSchedule\", \"ScheduleAnyway\"", c.WhenUnsatisfiable)})
		}
		fes = append(fes, validateSelector(c.LabelSelector, f+".labelSelector")...)
	}
	return fes
}

func validateNodeAffinity(na *corev1.NodeAffinity, field string) []*fieldError {
	if na == nil {
		return nil
	}
	var fes []*fieldError
	if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
		f := field + ".requiredDuringSchedulingIgnoredDuringExecution"
		if len(req.NodeSelectorTerms) == 0 {
			fes = append(fes, &fieldError{f + ".nodeSelectorTerms", "must have at least one node selector term"})
		} else if _, err := nodeaffinity.NewNodeSelector(req); err != nil {
			fes = append(fes, &fieldError{f, err.Error()})
		}
	}
	pref := na.PreferredDuringSchedulingIgnoredDuringExecution
	for i, t := range pref {
		fes = append(fes, validateWeight(t.Weight, fmt.Sprintf("%s.preferredDuringSchedulingIgnoredDuringExecution[%d].weight", field, i))...)
	}
	if _, err := nodeaffinity.NewPreferredSchedulingTerms(pref); err != nil {
		fes = append(fes, &fieldError{field + ".preferredDuringSchedulingIgnoredDuringExecution", err.Error()})
	}
	return fes
}

func validatePodAffinity(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm, field string) []*fieldError {
	var fes []*fieldError
	for i, t := range required {
		fes = append(fes, validatePodAffinityTerm(&t, fmt.Sprintf("%s.requiredDuringSchedulingIgnoredDuringExecution[%d]", field, i))...)
	}
	for i, w := range preferred {
		f := fmt.Sprintf("%s.preferredDuringSchedulingIgnoredDuringExecution[%d]", field, i)
		fes = append(fes, validateWeight(w.Weight, f+".weight")...)
		fes = append(fes, validatePodAffinityTerm(&w.PodAffinityTerm, f+".podAffinityTerm")...)
	}
	return fes
}

func validatePodAffinityTerm(t *corev1.PodAffinityTerm, field string) []*fieldError {
	fes := validateTopologyKey(t.TopologyKey, field+".topologyKey")
	for i, ns := range t.Namespaces {
		for _, msg := range validation.IsDNS1123Label(ns) {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.namespaces[%d]", field, i), fmt.Sprintf("%q: %s", ns, msg)})
		}
	}
	return append(fes, validateSelector(t.LabelSelector, field+".labelSelector")...)
}

func validateTopologyKey(key, field string) []*fieldError {
	if key == "" {
		return []*fieldError{{field, "required: can not be empty"}}
	}
	var fes []*fieldError
	for _, msg := range validation.IsQualifiedName(key) {
		fes = append(fes, &fieldError{field, fmt.Sprintf("%q: %s", key, msg)})
	}
	return fes
}

func validateSelector(sel *metav1.LabelSelector, field string) []*fieldError {
	if sel == nil {
		return nil
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return []*fieldError{{field, err.Error()}}
	}
	return nil
}

// validateHostNetworkPorts checks that a container in the node's network
// (hostNetwork) asks for no hostPort other than its containerPort, as the
// apiserver does: there is no mapping there.
func validateHostNetworkPorts(c *corev1.Container, cf string) []*fieldError {
	var fes []*fieldError
	for i, p := range c.Ports {
		if p.HostPort != 0 && p.HostPort != p.ContainerPort {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.ports[%d].hostPort", cf, i),
				fmt.Sprintf("%d: must equal containerPort %d when hostNetwork is true", p.HostPort, p.ContainerPort)})
		}
	}
	return fes
}

func validateWeight(w int32, field string) []*fieldError {
	if w < 1 || w > 100 {
		return []*fieldError{{field, "must be in the range 1-100"}}
	}
	return nil
}

// validatePorts checks container ports: numbers in range, names unique
// IANA service names.
func validatePorts(c *corev1.Container, cf string, names map[string]bool) []*fieldError {
	var fes []*fieldError
	for i, p := range c.Ports {
		f := fmt.Sprintf("%s.ports[%d]", cf, i)
		for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
			fes = append(fes, &fieldError{f + ".containerPort", fmt.Sprintf("%d: %s", p.ContainerPort, msg)})
		}
		switch p.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			fes = append(fes, &fieldError{f + ".protocol", fmt.Sprintf("unsupported value %q: supported values: \"SCTP\", \"TCP\", \"UDP\"", p.Protocol)})
		}
		if p.Name == "" {
			continue
		}
		for _, msg := range validation.IsValidPortName(p.Name) {
			fes = append(fes, &fieldError{f + ".name", fmt.Sprintf("%q: %s", p.Name, msg)})
		}
		if names[p.Name] {
			fes = append(fes, &fieldError{f + ".name", fmt.Sprintf("duplicate port name %q", p.Name)})
		}
		names[p.Name] = true
	}
	return fes
}
