package manifest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

// workload renders a controller of pods of kind at apiVersion with extra
// spec lines (indented two spaces) and a restart policy.
func workload(apiVersion, kind, spec, restart string) string {
	sel := "  selector:\n    matchLabels: {app: w}\n"
	switch kind {
	case "ReplicationController":
		sel = "  selector: {app: w}\n"
	case "Job":
		sel = ""
	}
	return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: w\nspec:\n" + sel + spec +
		"  template:\n    metadata:\n      labels: {app: w}\n    spec:\n      restartPolicy: " + restart +
		"\n      containers:\n      - name: c\n        image: kubia:v1\n"
}

func decodeOne(t *testing.T, data string) *api.ObjectSet {
	t.Helper()
	set, errs := Decode([]File{{Name: "w.yaml", Data: []byte(data)}})
	if len(errs) > 0 {
		t.Fatalf("Decode: %v", errs)
	}
	return set
}

// TestWorkloadDefaults compares the defaults with the values the
// Kubernetes API reference documents for each kind.
func TestWorkloadDefaults(t *testing.T) {
	quarter := intstr.FromString("25%")
	set := decodeOne(t, workload("apps/v1", "Deployment", "", "Always"))
	d := set.Deployments[0].Spec
	if *d.Replicas != 1 || d.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		*d.Strategy.RollingUpdate.MaxSurge != quarter || *d.Strategy.RollingUpdate.MaxUnavailable != quarter ||
		*d.RevisionHistoryLimit != 10 || *d.ProgressDeadlineSeconds != 600 || d.MinReadySeconds != 0 || d.Paused {
		t.Errorf("Deployment defaults: %+v", d)
	}
	rc := decodeOne(t, strings.Replace(workload("v1", "ReplicationController", "", "Always"), "  selector: {app: w}\n", "", 1)).ReplicationControllers[0]
	if *rc.Spec.Replicas != 1 || rc.Spec.Selector["app"] != "w" || rc.Labels["app"] != "w" {
		t.Errorf("ReplicationController defaults: replicas %d selector %v labels %v", *rc.Spec.Replicas, rc.Spec.Selector, rc.Labels)
	}
	ds := decodeOne(t, workload("apps/v1", "DaemonSet", "", "Always")).DaemonSets[0].Spec
	if ds.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ds.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() != 1 || *ds.RevisionHistoryLimit != 10 {
		t.Errorf("DaemonSet defaults: %+v", ds.UpdateStrategy)
	}
	ss := decodeOne(t, workload("apps/v1", "StatefulSet", "", "Always")).StatefulSets[0].Spec
	if *ss.Replicas != 1 || ss.PodManagementPolicy != appsv1.OrderedReadyPodManagement ||
		ss.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType || *ss.UpdateStrategy.RollingUpdate.Partition != 0 {
		t.Errorf("StatefulSet defaults: %+v", ss)
	}
	j := decodeOne(t, workload("batch/v1", "Job", "", "Never")).Jobs[0].Spec
	if *j.Completions != 1 || *j.Parallelism != 1 || *j.BackoffLimit != 6 || *j.CompletionMode != batchv1.NonIndexedCompletion || *j.Suspend {
		t.Errorf("Job defaults: %+v", j)
	}
	queue := decodeOne(t, workload("batch/v1", "Job", "  parallelism: 3\n", "OnFailure")).Jobs[0].Spec
	if queue.Completions != nil || *queue.Parallelism != 3 {
		t.Errorf("work-queue Job: completions %v parallelism %d; want unset, 3", queue.Completions, *queue.Parallelism)
	}
	cj := decodeOne(t, cronJob("*/5 * * * *", "")).CronJobs[0].Spec
	if cj.ConcurrencyPolicy != batchv1.AllowConcurrent || *cj.Suspend || *cj.SuccessfulJobsHistoryLimit != 3 || *cj.FailedJobsHistoryLimit != 1 || *cj.JobTemplate.Spec.BackoffLimit != 6 {
		t.Errorf("CronJob defaults: %+v", cj)
	}
	if p := cj.JobTemplate.Spec.Template.Spec; *p.TerminationGracePeriodSeconds != 30 || p.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("CronJob pod template defaults: %+v", p)
	}
}

func cronJob(schedule, extra string) string {
	return "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: tick\nspec:\n  schedule: \"" + schedule + "\"\n" + extra +
		"  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n" +
		"          containers:\n          - name: c\n            image: kubia:v1\n"
}

func TestWorkloadValidation(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"deployment restart policy", workload("apps/v1", "Deployment", "", "OnFailure"),
			`w.yaml:12: Deployment/default/w: spec.template.spec.restartPolicy: unsupported value "OnFailure": supported values: "Always"`},
		{"both zero", workload("apps/v1", "Deployment", "  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n", "Always"),
			"spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0"},
		{"over 100%", workload("apps/v1", "Deployment", "  strategy:\n    rollingUpdate: {maxUnavailable: 150%}\n", "Always"),
			"spec.strategy.rollingUpdate.maxUnavailable: must not be greater than 100%"},
		{"bad percent", workload("apps/v1", "Deployment", "  strategy:\n    rollingUpdate: {maxSurge: ten%}\n", "Always"),
			`spec.strategy.rollingUpdate.maxSurge: "ten%": a valid percent string`},
		{"recreate with rollingUpdate", workload("apps/v1", "Deployment", "  strategy:\n    type: Recreate\n    rollingUpdate: {maxSurge: 1}\n", "Always"),
			"spec.strategy.rollingUpdate: may not be specified when strategy `type` is 'Recreate'"},
		{"progress deadline", workload("apps/v1", "Deployment", "  minReadySeconds: 30\n  progressDeadlineSeconds: 30\n", "Always"),
			"spec.progressDeadlineSeconds: must be greater than minReadySeconds"},
		{"replicaset selector", strings.Replace(workload("apps/v1", "ReplicaSet", "", "Always"), "labels: {app: w}", "labels: {app: x}", 1),
			"spec.template.metadata.labels: `selector` does not match template `labels`"},
		{"rc selector", strings.Replace(workload("v1", "ReplicationController", "", "Always"), "selector: {app: w}", "selector: {app: x}", 1),
			"spec.template.metadata.labels: `selector` does not match template `labels`"},
		{"daemonset maxUnavailable 0", workload("apps/v1", "DaemonSet", "  updateStrategy:\n    rollingUpdate: {maxUnavailable: 0}\n", "Always"),
			"spec.updateStrategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0"},
		{"statefulset policy", workload("apps/v1", "StatefulSet", "  podManagementPolicy: Random\n", "Always"),
			`spec.podManagementPolicy: unsupported value "Random"`},
		{"statefulset partition", workload("apps/v1", "StatefulSet", "  updateStrategy:\n    rollingUpdate: {partition: -1}\n", "Always"),
			"spec.updateStrategy.rollingUpdate.partition: must be greater than or equal to 0"},
		{"statefulset claim needs modes", workload("apps/v1", "StatefulSet", "  volumeClaimTemplates:\n  - metadata: {name: data}\n", "Always"),
			"w.yaml:9: StatefulSet/default/w: spec.volumeClaimTemplates[0].spec.accessModes: required: at least 1 access mode"},
		{"statefulset claim shared", workload("apps/v1", "StatefulSet", "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}\n", "Always"),
			`spec.volumeClaimTemplates[0].spec.accessModes[0]: "ReadWriteMany" not supported by berth`},
		{"statefulset storage class", workload("apps/v1", "StatefulSet", "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {storageClassName: fast, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n", "Always"),
			`spec.volumeClaimTemplates[0].spec.storageClassName: StorageClass "fast" is not in this commit (nor built in: local-path)`},
		{"job restart policy", workload("batch/v1", "Job", "", "Always"),
			`spec.template.spec.restartPolicy: unsupported value "Always": supported values: "OnFailure", "Never"`},
		{"job selector", strings.Replace(workload("batch/v1", "Job", "", "Never"), "spec:\n", "spec:\n  selector:\n    matchLabels: {app: w}\n", 1),
			"spec.selector: not supported by berth"},
		{"indexed needs completions", workload("batch/v1", "Job", "  parallelism: 2\n  completionMode: Indexed\n", "Never"),
			"spec.completions: required when completion mode is Indexed"},
		{"job deadline", workload("batch/v1", "Job", "  activeDeadlineSeconds: 0\n", "Never"),
			"spec.activeDeadlineSeconds: must be greater than 0"},
		{"cron syntax", cronJob("61 * * * *", ""), `spec.schedule: "61 * * * *": invalid schedule: `},
		{"cron time zone", cronJob("0 * * * *", "  timeZone: Mars/Olympus\n"), `spec.timeZone: "Mars/Olympus": unknown time zone`},
		{"cron TZ in schedule", cronJob("TZ=UTC 0 * * * *", ""), "spec.schedule: CRON_TZ or TZ is not supported in the schedule: use spec.timeZone"},
		{"cron policy", cronJob("@hourly", "  concurrencyPolicy: Sometimes\n"), `spec.concurrencyPolicy: unsupported value "Sometimes"`},
		{"cron name", strings.Replace(cronJob("@hourly", ""), "name: tick", "name: "+strings.Repeat("a", 53), 1), "metadata.name: must be no more than 52 characters"},
		{"cron job restart", strings.Replace(cronJob("@hourly", ""), "OnFailure", "Always", 1),
			`spec.jobTemplate.spec.template.spec.restartPolicy: unsupported value "Always"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectError(t, tc.data, tc.want) })
	}
}

// expectError decodes data as w.yaml and wants it refused with an error
// that contains want.
func expectError(t *testing.T, data, want string) {
	t.Helper()
	set, errs := Decode([]File{{Name: "w.yaml", Data: []byte(data)}})
	if set != nil {
		t.Fatalf("Decode accepted invalid input")
	}
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	if !strings.Contains(strings.Join(all, "\n"), want) {
		t.Errorf("errors do not contain %q:\n%s", want, strings.Join(all, "\n"))
	}
}

func TestCronJobTimeZoneAccepted(t *testing.T) {
	set := decodeOne(t, cronJob("30 9 * * 1-5", "  timeZone: Europe/Berlin\n"))
	if tz := set.CronJobs[0].Spec.TimeZone; tz == nil || *tz != "Europe/Berlin" {
		t.Fatalf("timeZone %v", tz)
	}
}

func TestStatefulSetClaimsMount(t *testing.T) {
	sts := strings.Replace(workload("apps/v1", "StatefulSet",
		"  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n", "Always"),
		"        image: kubia:v1\n", "        image: kubia:v1\n        volumeMounts: [{name: data, mountPath: /data}]\n", 1)
	set := decodeOne(t, sts)
	if len(set.StatefulSets[0].Spec.Template.Spec.Volumes) != 0 {
		t.Errorf("the claim was added to the template in Git: %+v", set.StatefulSets[0].Spec.Template.Spec.Volumes)
	}
}

func TestSidecarValidation(t *testing.T) {
	pod := func(init string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  initContainers:\n  - name: side\n    image: kubia:v1\n" + init +
			"  containers:\n  - name: c\n    image: kubia:v1\n"
	}
	probe := "    readinessProbe: {tcpSocket: {port: 8080}}\n"
	decodeOne(t, pod("    restartPolicy: Always\n"+probe))
	for _, tc := range []struct{ init, want string }{
		{"    restartPolicy: OnFailure\n", `spec.initContainers[0].restartPolicy: unsupported value "OnFailure": supported values: "Always"`},
		{probe, "spec.initContainers[0].readinessProbe: may not be set for init containers without restartPolicy=Always"},
	} {
		_, errs := Decode([]File{{Name: "p.yaml", Data: []byte(pod(tc.init))}})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("errors %v; want %q", errs, tc.want)
		}
	}
}
