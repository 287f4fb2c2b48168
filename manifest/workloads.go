package manifest

import (
	"fmt"
	"github.com/berth-dev/berth/api"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// podSpecOf returns the pod spec of an object that runs pods, and its
// field path; nil for other objects.
func podSpecOf(v any) (*corev1.PodSpec, string) {
	switch v := v.(type) {
	case *corev1.Pod:
		return &v.Spec, "spec"
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.ReplicaSet:
		return &v.Spec.Template.Spec, "spec.template.spec"
	case *corev1.ReplicationController:
		if v.Spec.Template == nil {
			return nil, ""
		}
		return &v.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.DaemonSet:
		return &v.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.StatefulSet:
		return &v.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.Job:
		return &v.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.CronJob:
		return &v.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec"
	}
	return nil, ""
}

func int32p(v int32) *int32 { return &v }

// defaultWorkload fills in the defaults Kubernetes applies to the
// controllers of pods (apps/v1 and batch/v1 defaulting).
func defaultWorkload(v any) {
	if spec, _ := podSpecOf(v); spec != nil {
		DefaultPodSpec(spec)
	}
	switch v := v.(type) {
	case *appsv1.Deployment:
		defaultDeployment(v)
	case *appsv1.ReplicaSet:
		if v.Spec.Replicas == nil {
			v.Spec.Replicas = int32p(1)
		}
	case *corev1.ReplicationController:
		defaultReplicationController(v)
	case *appsv1.DaemonSet:
		defaultDaemonSet(v)
	case *appsv1.StatefulSet:
		defaultStatefulSet(v)
	case *batchv1.Job:
		defaultJobSpec(&v.Spec)
	case *batchv1.CronJob:
		defaultCronJob(v)
	}
}

func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = int32p(1)
	}
	if d.Spec.Strategy.Type == "" {
		d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if d.Spec.Strategy.RollingUpdate == nil {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		quarter := intstr.FromString("25%")
		if d.Spec.Strategy.RollingUpdate.MaxUnavailable == nil {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = &quarter
		}
		if d.Spec.Strategy.RollingUpdate.MaxSurge == nil {
			d.Spec.Strategy.RollingUpdate.MaxSurge = &quarter
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = int32p(10)
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = int32p(600)
	}
}

// defaultReplicationController takes the selector and the labels from
// the template when they are not set, as Kubernetes does.
func defaultReplicationController(rc *corev1.ReplicationController) {
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = int32p(1)
	}
	if rc.Spec.Template == nil {
		return
	}
	if len(rc.Spec.Selector) == 0 {
		rc.Spec.Selector = rc.Spec.Template.Labels
	}
	if len(rc.Labels) == 0 {
		rc.Labels = rc.Spec.Template.Labels
	}
}

func defaultDaemonSet(ds *appsv1.DaemonSet) {
	if ds.Spec.UpdateStrategy.Type == "" {
		ds.Spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if ds.Spec.UpdateStrategy.RollingUpdate == nil {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
			one := intstr.FromInt32(1)
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &one
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = int32p(10)
	}
}

func defaultStatefulSet(s *appsv1.StatefulSet) {
	if s.Spec.Replicas == nil {
		s.Spec.Replicas = int32p(1)
	}
	if s.Spec.PodManagementPolicy == "" {
		s.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if s.Spec.UpdateStrategy.Type == "" {
		s.Spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
	}
	if s.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType {
		if s.Spec.UpdateStrategy.RollingUpdate == nil {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
		if s.Spec.UpdateStrategy.RollingUpdate.Partition == nil {
			s.Spec.UpdateStrategy.RollingUpdate.Partition = int32p(0)
		}
	}
	if s.Spec.RevisionHistoryLimit == nil {
		s.Spec.RevisionHistoryLimit = int32p(10)
	}
}

// defaultJobSpec: with neither completions nor parallelism set, both are
// 1; parallelism alone leaves completions unset (a work queue).
func defaultJobSpec(j *batchv1.JobSpec) {
	if j.Completions == nil && j.Parallelism == nil {
		j.Completions = int32p(1)
	}
	if j.Parallelism == nil {
		j.Parallelism = int32p(1)
	}
	if j.BackoffLimit == nil {
		j.BackoffLimit = int32p(6)
	}
	if j.CompletionMode == nil {
		m := batchv1.NonIndexedCompletion
		j.CompletionMode = &m
	}
	if j.Suspend == nil {
		f := false
		j.Suspend = &f
	}
}

func defaultCronJob(c *batchv1.CronJob) {
	if c.Spec.ConcurrencyPolicy == "" {
		c.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if c.Spec.Suspend == nil {
		f := false
		c.Spec.Suspend = &f
	}
	if c.Spec.SuccessfulJobsHistoryLimit == nil {
		c.Spec.SuccessfulJobsHistoryLimit = int32p(3)
	}
	if c.Spec.FailedJobsHistoryLimit == nil {
		c.Spec.FailedJobsHistoryLimit = int32p(1)
	}
	defaultJobSpec(&c.Spec.JobTemplate.Spec)
}

// validateWorkload checks the fields every controller of pods shares:
// replicas, the selector against the template's labels, the template's
// labels and its pod spec, and which restart policies the kind allows.
func validateWorkload(kind string, replicas *int32, sel labels.Selector, selErr error, template *corev1.PodTemplateSpec) []*fieldError {
	var fes []*fieldError
	if replicas != nil && *replicas < 0 {
		fes = append(fes, &fieldError{"spec.replicas", "must be greater than or equal to 0"})
	}
	if template == nil {
		return append(fes, &fieldError{"spec.template", "required"})
	}
	fes = append(fes, validateLabels(template.Labels, "spec.template.metadata.labels")...)
	switch {
	case selErr != nil:
		fes = append(fes, &fieldError{"spec.selector", selErr.Error()})
	case sel == nil:
		fes = append(fes, &fieldError{"spec.selector", "required"})
	case sel.Empty():
		fes = append(fes, &fieldError{"spec.selector", fmt.Sprintf("empty selector is invalid for %s", kind)})
	case !sel.Matches(labels.Set(template.Labels)):
		fes = append(fes, &fieldError{"spec.template.metadata.labels", "`selector` does not match template `labels`"})
	}
	fes = append(fes, validatePodSpec(&template.Spec, "spec.template.spec")...)
	if rp := template.Spec.RestartPolicy; rp != corev1.RestartPolicyAlways && validRestartPolicy(rp) {
		fes = append(fes, &fieldError{"spec.template.spec.restartPolicy", fmt.Sprintf("unsupported value %q: supported values: \"Always\"", rp)})
	}
	return fes
}

func validRestartPolicy(rp corev1.RestartPolicy) bool {
	return rp == corev1.RestartPolicyAlways || rp == corev1.RestartPolicyOnFailure || rp == corev1.RestartPolicyNever
}

// appsSelector converts an apps/v1 selector; a nil one stays nil.
func appsSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

func validateDeployment(d *appsv1.Deployment) []*fieldError {
	sel, err := appsSelector(d.Spec.Selector)
	fes := validateWorkload("deployment", d.Spec.Replicas, sel, err, &d.Spec.Template)
	fes = append(fes, nonNegative("spec.minReadySeconds", d.Spec.MinReadySeconds)...)
	fes = append(fes, nonNegative("spec.revisionHistoryLimit", *d.Spec.RevisionHistoryLimit)...)
	if *d.Spec.ProgressDeadlineSeconds <= d.Spec.MinReadySeconds {
		fes = append(fes, &fieldError{"spec.progressDeadlineSeconds", "must be greater than minReadySeconds"})
	}
	st := d.Spec.Strategy
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			fes = append(fes, &fieldError{"spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"})
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		fes = append(fes, validateRollingUpdate(st.RollingUpdate.MaxSurge, st.RollingUpdate.MaxUnavailable, "spec.strategy.rollingUpdate")...)
	default:
		fes = append(fes, &fieldError{"spec.strategy.type", fmt.Sprintf("unsupported value %q: supported values: \"Recreate\", \"RollingUpdate\"", st.Type)})
	}
	return fes
}

// validateRollingUpdate checks maxSurge and maxUnavailable as Kubernetes
// does: integers or percentages, not negative, maxUnavailable at most
// 100%, and not both zero.
func validateRollingUpdate(surge, unavailable *intstr.IntOrString, field string) []*fieldError {
	fes := validateIntOrPercent(surge, field+".maxSurge")
	fes = append(fes, validateIntOrPercent(unavailable, field+".maxUnavailable")...)
	if len(fes) > 0 {
		return fes
	}
	if unavailable.Type == intstr.String && percent(unavailable) > 100 {
		fes = append(fes, &fieldError{field + ".maxUnavailable", "must not be greater than 100%"})
	}
	if isZero(unavailable) && (surge == nil || isZero(surge)) {
		fes = append(fes, &fieldError{field + ".maxUnavailable", "may not be 0 when `maxSurge` is 0"})
	}
	return fes
}

func validateIntOrPercent(v *intstr.IntOrString, field string) []*fieldError {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		return nonNegative(field, v.IntVal)
	}
	var n int
	if _, err := fmt.Sscanf(v.StrVal, "%d%%", &n); err != nil || fmt.Sprintf("%d%%", n) != v.StrVal {
		return []*fieldError{{field, fmt.Sprintf("%q: a valid percent string must be a numeric string followed by an ending '%%' (e.g. '1%%',  or '93%%')", v.StrVal)}}
	}
	return nonNegative(field, int32(n))
}

func percent(v *intstr.IntOrString) int {
	var n int
	fmt.Sscanf(v.StrVal, "%d%%", &n)
	return n
}

func isZero(v *intstr.IntOrString) bool {
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	return percent(v) == 0
}

func nonNegative(field string, v int32) []*fieldError {
	if v < 0 {
		return []*fieldError{{field, "must be greater than or equal to 0"}}
	}
	return nil
}

func validateReplicaSet(rs *appsv1.ReplicaSet) []*fieldError {
	sel, err := appsSelector(rs.Spec.Selector)
	fes := validateWorkload("replicaset", rs.Spec.Replicas, sel, err, &rs.Spec.Template)
	return append(fes, nonNegative("spec.minReadySeconds", rs.Spec.MinReadySeconds)...)
}

func validateReplicationController(rc *corev1.ReplicationController) []*fieldError {
	var sel labels.Selector
	if len(rc.Spec.Selector) > 0 {
		sel = labels.SelectorFromSet(rc.Spec.Selector)
	}
	fes := validateWorkload("replicationcontroller", rc.Spec.Replicas, sel, nil, rc.Spec.Template)
	fes = append(fes, validateLabels(rc.Spec.Selector, "spec.selector")...)
	return append(fes, nonNegative("spec.minReadySeconds", rc.Spec.MinReadySeconds)...)
}

func validateDaemonSet(ds *appsv1.DaemonSet) []*fieldError {
	sel, err := appsSelector(ds.Spec.Selector)
	fes := validateWorkload("daemonset", nil, sel, err, &ds.Spec.Template)
	fes = append(fes, nonNegative("spec.minReadySeconds", ds.Spec.MinReadySeconds)...)
	fes = append(fes, nonNegative("spec.revisionHistoryLimit", *ds.Spec.RevisionHistoryLimit)...)
	switch st := ds.Spec.UpdateStrategy; st.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		if st.RollingUpdate != nil {
			fes = append(fes, &fieldError{"spec.updateStrategy.rollingUpdate", "may not be specified when strategy `type` is 'OnDelete'"})
		}
	case appsv1.RollingUpdateDaemonSetStrategyType:
		fes = append(fes, validateRollingUpdate(nil, st.RollingUpdate.MaxUnavailable, "spec.updateStrategy.rollingUpdate")...)
	default:
		fes = append(fes, &fieldError{"spec.updateStrategy.type", fmt.Sprintf("unsupported value %q: supported values: \"OnDelete\", \"RollingUpdate\"", st.Type)})
	}
	return fes
}

func validateStatefulSet(s *appsv1.StatefulSet) []*fieldError {
	sel, err := appsSelector(s.Spec.Selector)
	fes := validateWorkload("statefulset", s.Spec.Replicas, sel, err, withClaimVolumes(&s.Spec.Template, s.Spec.VolumeClaimTemplates))
	fes = append(fes, validateClaimTemplates(s)...)
	fes = append(fes, nonNegative("spec.minReadySeconds", s.Spec.MinReadySeconds)...)
	fes = append(fes, nonNegative("spec.revisionHistoryLimit", *s.Spec.RevisionHistoryLimit)...)
	switch s.Spec.PodManagementPolicy {
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		fes = append(fes, &fieldError{"spec.podManagementPolicy", fmt.Sprintf("unsupported value %q: supported values: \"OrderedReady\", \"Parallel\"", s.Spec.PodManagementPolicy)})
	}
	switch st := s.Spec.UpdateStrategy; st.Type {
	case appsv1.OnDeleteStatefulSetStrategyType:
		if st.RollingUpdate != nil {
			fes = append(fes, &fieldError{"spec.updateStrategy.rollingUpdate", "only allowed for updateStrategy 'RollingUpdate'"})
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		fes = append(fes, nonNegative("spec.updateStrategy.rollingUpdate.partition", *st.RollingUpdate.Partition)...)
	default:
		fes = append(fes, &fieldError{"spec.updateStrategy.type", fmt.Sprintf("unsupported value %q: supported values: \"OnDelete\", \"RollingUpdate\"", st.Type)})
	}
	return fes
}

// validateRetention checks a persistentVolumeClaimRetentionPolicy, and
// fills in its defaults (Retain).
func validateRetention(p *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy) []*fieldError {
	if p == nil {
		return nil
	}
	var fes []*fieldError
	for f, v := range map[string]*appsv1.PersistentVolumeClaimRetentionPolicyType{"whenDeleted": &p.WhenDeleted, "whenScaled": &p.WhenScaled} {
		switch *v {
		case "":
			*v = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
		case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		default:
			fes = append(fes, &fieldError{"spec.persistentVolumeClaimRetentionPolicy." + f, fmt.Sprintf("unsupported value %q (Retain or Delete)", *v)})
		}
	}
	sort.Slice(fes, func(i, j int) bool { return fes[i].field < fes[j].field })
	return fes
}

// withClaimVolumes is the template as the StatefulSet's pods get it: one
// volume per claim template, which its containers may mount.
func withClaimVolumes(t *corev1.PodTemplateSpec, claims []corev1.PersistentVolumeClaim) *corev1.PodTemplateSpec {
	if len(claims) == 0 {
		return t
	}
	c := t.DeepCopy()
	c.Spec.Volumes = api.WithClaimVolumes(c.Spec.Volumes, claims, func(t string) string { return t })
	return c
}

// validateClaimTemplates checks volumeClaimTemplates: a name (not another
// template's; a volume of the pod template of the same name is replaced
// by the claim), access modes a node's own disk can give, a storage
// request, and the retention policy.
func validateClaimTemplates(s *appsv1.StatefulSet) []*fieldError {
	fes := validateRetention(s.Spec.PersistentVolumeClaimRetentionPolicy)
	taken := map[string]bool{}
	for i, c := range s.Spec.VolumeClaimTemplates {
		f := fmt.Sprintf("spec.volumeClaimTemplates[%d]", i)
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			fes = append(fes, &fieldError{f + ".metadata.name", fmt.Sprintf("%q: %s", c.Name, msg)})
		}
		if taken[c.Name] {
			fes = append(fes, &fieldError{f + ".metadata.name", fmt.Sprintf("%q is the name of another claim template", c.Name)})
		}
		taken[c.Name] = true
		fes = append(fes, validateClaimSpec(&c.Spec, f+".spec")...)
	}
	return fes
}
