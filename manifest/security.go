package manifest

import (
	corev1 "k8s.io/api/core/v1"
)

func negativeID(v *int64) bool { return v != nil && *v < 0 }

func validatePodSecurity(sc *corev1.PodSecurityContext, f string) []*fieldError {
	if sc == nil {
		return nil
	}
	var fes []*fieldError
	for name, v := range map[string]*int64{"runAsUser": sc.RunAsUser, "runAsGroup": sc.RunAsGroup, "fsGroup": sc.FSGroup} {
		if negativeID(v) {
			fes = append(fes, &fieldError{f + "." + name, "must be between 0 and 2147483647, inclusive"})
		}
	}
	for _, g := range sc.SupplementalGroups {
		if g < 0 {
			fes = append(fes, &fieldError{f + ".supplementalGroups", "must be between 0 and 2147483647, inclusive"})
		}
	}
	return fes
}

func validateSecurity(sc *corev1.SecurityContext, f string) []*fieldError {
	if sc == nil {
		return nil
	}
	var fes []*fieldError
	for name, v := range map[string]*int64{"runAsUser": sc.RunAsUser, "runAsGroup": sc.RunAsGroup} {
		if negativeID(v) {
			fes = append(fes, &fieldError{f + "." + name, "must be between 0 and 2147483647, inclusive"})
		}
	}
	if sc.Privileged != nil && *sc.Privileged && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		fes = append(fes, &fieldError{f, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"})
	}
	if sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		fes = append(fes, &fieldError{f + ".runAsNonRoot", "runAsUser 0 runs as root"})
	}
	return fes
}
