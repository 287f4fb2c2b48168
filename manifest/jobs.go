package manifest

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // CronJob time zones are checked without the host's zoneinfo

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/robfig/cron/v3"
)

// maxCronJobName is the longest CronJob name Kubernetes takes: its Jobs
// add an 11 character suffix to it.
const maxCronJobName = 52

// maxIndexedCompletions bounds completions and parallelism of an Indexed
// Job, as in Kubernetes.
const maxIndexedCompletions = 100000

func validateJob(j *batchv1.Job) []*fieldError {
	return validateJobSpec(&j.Spec, "spec.")
}

// validateJobSpec checks a Job spec at prefix ("spec." or
// "spec.jobTemplate.spec.").
func validateJobSpec(s *batchv1.JobSpec, prefix string) []*fieldError {
	var fes []*fieldError
	fes = append(fes, validateLabels(s.Template.Labels, prefix+"template.metadata.labels")...)
	fes = append(fes, validatePodSpec(&s.Template.Spec, prefix+"template.spec")...)
	if rp := s.Template.Spec.RestartPolicy; rp == corev1.RestartPolicyAlways {
		fes = append(fes, &fieldError{prefix + "template.spec.restartPolicy", `unsupported value "Always": supported values: "OnFailure", "Never"`})
	}
	fes = append(fes, nonNegative(prefix+"parallelism", *s.Parallelism)...)
	if s.Completions != nil {
		fes = append(fes, nonNegative(prefix+"completions", *s.Completions)...)
	}
	fes = append(fes, nonNegative(prefix+"backoffLimit", *s.BackoffLimit)...)
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds <= 0 {
		fes = append(fes, &fieldError{prefix + "activeDeadlineSeconds", "must be greater than 0"})
	}
	if s.TTLSecondsAfterFinished != nil && *s.TTLSecondsAfterFinished < 0 {
		fes = append(fes, &fieldError{prefix + "ttlSecondsAfterFinished", "must be greater than or equal to 0"})
	}
	switch *s.CompletionMode {
	case batchv1.NonIndexedCompletion:
	case batchv1.IndexedCompletion:
		if s.Completions == nil {
			fes = append(fes, &fieldError{prefix + "completions", "required when completion mode is Indexed"})
		} else if *s.Completions > maxIndexedCompletions {
			fes = append(fes, &fieldError{prefix + "completions", fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxIndexedCompletions)})
		}
		if *s.Parallelism > maxIndexedCompletions {
			fes = append(fes, &fieldError{prefix + "parallelism", fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxIndexedCompletions)})
		}
	default:
		fes = append(fes, &fieldError{prefix + "completionMode", fmt.Sprintf("unsupported value %q: supported values: \"NonIndexed\", \"Indexed\"", *s.CompletionMode)})
	}
	return fes
}

func validateCronJob(c *batchv1.CronJob) []*fieldError {
	var fes []*fieldError
	if len(c.Name) > maxCronJobName {
		fes = append(fes, &fieldError{"metadata.name", fmt.Sprintf("must be no more than %d characters", maxCronJobName)})
	}
	fes = append(fes, validateSchedule(c.Spec.Schedule, c.Spec.TimeZone)...)
	switch c.Spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	default:
		fes = append(fes, &fieldError{"spec.concurrencyPolicy", fmt.Sprintf("unsupported value %q: supported values: \"Allow\", \"Forbid\", \"Replace\"", c.Spec.ConcurrencyPolicy)})
	}
	if d := c.Spec.StartingDeadlineSeconds; d != nil && *d < 0 {
		fes = append(fes, &fieldError{"spec.startingDeadlineSeconds", "must be greater than or equal to 0"})
	}
	fes = append(fes, nonNegative("spec.successfulJobsHistoryLimit", *c.Spec.SuccessfulJobsHistoryLimit)...)
	fes = append(fes, nonNegative("spec.failedJobsHistoryLimit", *c.Spec.FailedJobsHistoryLimit)...)
	fes = append(fes, validateLabels(c.Spec.JobTemplate.Labels, "spec.jobTemplate.metadata.labels")...)
	return append(fes, validateJobSpec(&c.Spec.JobTemplate.Spec, "spec.jobTemplate.spec.")...)
}

// ParseSchedule parses a CronJob schedule as Kubernetes does: five fields
// or a descriptor (@hourly, @every 5m), in the time zone tz ("" is UTC).
func ParseSchedule(schedule string, tz *string) (cron.Schedule, error) {
	spec := schedule
	if tz != nil {
		spec = "CRON_TZ=" + *tz + " " + schedule
	}
	return cron.ParseStandard(spec)
}

func validateSchedule(schedule string, tz *string) []*fieldError {
	if strings.TrimSpace(schedule) == "" {
		return []*fieldError{{"spec.schedule", "required"}}
	}
	if strings.Contains(schedule, "TZ=") {
		return []*fieldError{{"spec.schedule", "CRON_TZ or TZ is not supported in the schedule: use spec.timeZone"}}
	}
	if tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil || *tz == "" || strings.EqualFold(*tz, "local") {
			return []*fieldError{{"spec.timeZone", fmt.Sprintf("%q: unknown time zone", *tz)}}
		}
	}
	if _, err := ParseSchedule(schedule, tz); err != nil {
		return []*fieldError{{"spec.schedule", fmt.Sprintf("%q: invalid schedule: %v", schedule, err)}}
	}
	return nil
}
