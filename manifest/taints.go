package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

var taintEffects = map[corev1.TaintEffect]bool{
	corev1.TaintEffectNoSchedule: true, corev1.TaintEffectPreferNoSchedule: true, corev1.TaintEffectNoExecute: true,
}

func validateTaints(taints []corev1.Taint) []*fieldError {
	var fes []*fieldError
	seen := map[string]bool{}
	for i, t := range taints {
		f := fmt.Sprintf("spec.taints[%d]", i)
		for _, msg := range validation.IsQualifiedName(t.Key) {
			fes = append(fes, &fieldError{f + ".key", fmt.Sprintf("%q: %s", t.Key, msg)})
		}
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			fes = append(fes, &fieldError{f + ".value", fmt.Sprintf("%q: %s", t.Value, msg)})
		}
		if !taintEffects[t.Effect] {
			fes = append(fes, &fieldError{f + ".effect", fmt.Sprintf("unsupported value %q: supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"", t.Effect)})
		}
		if id := t.Key + ":" + string(t.Effect); seen[id] {
			fes = append(fes, &fieldError{f, fmt.Sprintf("taints must be unique by key and effect: %s", id)})
		} else {
			seen[id] = true
		}
	}
	return fes
}

func validateTolerations(ts []corev1.Toleration, field string) []*fieldError {
	var fes []*fieldError
	for i, t := range ts {
		f := fmt.Sprintf("%s[%d]", field, i)
		if t.Key != "" {
			for _, msg := range validation.IsQualifiedName(t.Key) {
				fes = append(fes, &fieldError{f + ".key", fmt.Sprintf("%q: %s", t.Key, msg)})
			}
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if t.Key == "" {
				fes = append(fes, &fieldError{f + ".operator", "must be Exists when `key` is empty, which means \"match all values and all keys\""})
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				fes = append(fes, &fieldError{f + ".value", "must be empty when `operator` is 'Exists'"})
			}
		default:
			fes = append(fes, &fieldError{f + ".operator", fmt.Sprintf("unsupported value %q: supported values: \"Equal\", \"Exists\"", t.Operator)})
		}
		if t.Effect != "" && !taintEffects[t.Effect] {
			fes = append(fes, &fieldError{f + ".effect", fmt.Sprintf("unsupported value %q: supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"", t.Effect)})
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			fes = append(fes, &fieldError{f + ".effect", "must be 'NoExecute' when `tolerationSeconds` is set"})
		}
	}
	return fes
}
