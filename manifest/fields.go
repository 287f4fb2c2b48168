package manifest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The implemented fields, per kind. A pattern is a field path with "[]" for
// any list index and ending in ".*" for a map whose keys are free (labels).
// Any other field set in a manifest is refused by name: berth never
// silently ignores what it does not do.
var (
	metadataFields = []string{
		"apiVersion", "kind",
		"metadata.name", "metadata.namespace", "metadata.labels.*", "metadata.annotations.*",
	}
	// containerFields are relative to a container.
	containerFields = concat([]string{
		"name", "image", "imagePullPolicy", "command[]", "args[]", "workingDir",
		"env[].name", "env[].value",
		"env[].valueFrom.configMapKeyRef.name", "env[].valueFrom.configMapKeyRef.key", "env[].valueFrom.configMapKeyRef.optional",
		"env[].valueFrom.secretKeyRef.name", "env[].valueFrom.secretKeyRef.key", "env[].valueFrom.secretKeyRef.optional",
		"env[].valueFrom.fieldRef.apiVersion", "env[].valueFrom.fieldRef.fieldPath",
		"env[].valueFrom.resourceFieldRef.containerName", "env[].valueFrom.resourceFieldRef.resource", "env[].valueFrom.resourceFieldRef.divisor",
		"envFrom[].prefix", "envFrom[].configMapRef.name", "envFrom[].configMapRef.optional",
		"envFrom[].secretRef.name", "envFrom[].secretRef.optional",
		"volumeMounts[].name", "volumeMounts[].mountPath", "volumeMounts[].readOnly", "volumeMounts[].subPath",
		"securityContext.runAsUser", "securityContext.runAsGroup", "securityContext.runAsNonRoot",
		"securityContext.readOnlyRootFilesystem", "securityContext.privileged", "securityContext.allowPrivilegeEscalation",
		"securityContext.capabilities.add[]", "securityContext.capabilities.drop[]",
		"ports[].containerPort", "ports[].name", "ports[].protocol", "ports[].hostPort",
		"resources.requests.*", "resources.limits.*",
		"terminationMessagePath", "terminationMessagePolicy",
	})
	// probedContainerFields adds the probes and hooks, which only regular
	// containers and sidecars (init containers with restartPolicy Always)
	// may have.
	probedContainerFields = concat(containerFields,
		prefixed("livenessProbe.", probeFields), prefixed("readinessProbe.", probeFields), prefixed("startupProbe.", probeFields),
		prefixed("lifecycle.postStart.", hookFields), prefixed("lifecycle.preStop.", hookFields))
	// podSpecFields are relative to a pod spec.
	podSpecFields = concat([]string{
		"restartPolicy", "nodeSelector.*", "terminationGracePeriodSeconds", "enableServiceLinks", "hostNetwork", "hostname", "subdomain",
		"hostAliases[].ip", "hostAliases[].hostnames[]",
		"dnsPolicy", "dnsConfig.nameservers[]", "dnsConfig.searches[]", "dnsConfig.options[].name", "dnsConfig.options[].value",
		"tolerations[].key", "tolerations[].operator", "tolerations[].value", "tolerations[].effect", "tolerations[].tolerationSeconds",
		"securityContext.runAsUser", "securityContext.runAsGroup", "securityContext.runAsNonRoot",
		"securityContext.fsGroup", "securityContext.supplementalGroups[]",
		"volumes[].name", "volumes[].emptyDir", "volumes[].emptyDir.medium",
		"volumes[].hostPath.path", "volumes[].hostPath.type",
		"volumes[].downwardAPI.defaultMode", "volumes[].downwardAPI.items[].path", "volumes[].downwardAPI.items[].mode",
		"volumes[].downwardAPI.items[].fieldRef.apiVersion", "volumes[].downwardAPI.items[].fieldRef.fieldPath",
		"volumes[].configMap.name", "volumes[].configMap.items[].key", "volumes[].configMap.items[].path",
		"volumes[].configMap.items[].mode", "volumes[].configMap.defaultMode", "volumes[].configMap.optional",
		"volumes[].secret.secretName", "volumes[].secret.items[].key", "volumes[].secret.items[].path",
		"volumes[].secret.items[].mode", "volumes[].secret.defaultMode", "volumes[].secret.optional",
		"volumes[].projected.defaultMode",
		"volumes[].projected.sources[].configMap.name", "volumes[].projected.sources[].configMap.optional",
		"volumes[].projected.sources[].configMap.items[].key", "volumes[].projected.sources[].configMap.items[].path",
		"volumes[].projected.sources[].configMap.items[].mode",
		"volumes[].projected.sources[].secret.name", "volumes[].projected.sources[].secret.optional",
		"volumes[].projected.sources[].secret.items[].key", "volumes[].projected.sources[].secret.items[].path",
		"volumes[].projected.sources[].secret.items[].mode",
		"volumes[].projected.sources[].downwardAPI.items[].path", "volumes[].projected.sources[].downwardAPI.items[].mode",
		"volumes[].projected.sources[].downwardAPI.items[].fieldRef.apiVersion",
		"volumes[].projected.sources[].downwardAPI.items[].fieldRef.fieldPath",
		"volumes[].emptyDir.sizeLimit",
		"volumes[].persistentVolumeClaim.claimName", "volumes[].persistentVolumeClaim.readOnly",
	}, schedulingFields, prefixed("initContainers[].", concat(probedContainerFields, []string{"restartPolicy"})), prefixed("containers[].", probedContainerFields))

	supported = map[string][]string{
		"Namespace": metadataFields,
		"Node": concat(metadataFields, []string{
			"spec.taints[].key", "spec.taints[].value", "spec.taints[].effect", "spec.unschedulable",
		}),
		"ConfigMap": concat(metadataFields, []string{"data.*", "binaryData.*"}),
		"Secret":    concat(metadataFields, []string{"data.*", "stringData.*", "type"}),
		"Pod":       concat(metadataFields, prefixed("spec.", podSpecFields)),
		"Deployment": workloadFields(selectorFields, []string{
			"spec.replicas", "spec.minReadySeconds", "spec.revisionHistoryLimit", "spec.progressDeadlineSeconds", "spec.paused",
			"spec.strategy.type", "spec.strategy.rollingUpdate.maxSurge", "spec.strategy.rollingUpdate.maxUnavailable",
		}),
		"ReplicaSet":            workloadFields(selectorFields, []string{"spec.replicas", "spec.minReadySeconds"}),
		"ReplicationController": workloadFields([]string{"spec.selector.*"}, []string{"spec.replicas", "spec.minReadySeconds"}),
		"DaemonSet": workloadFields(selectorFields, []string{
			"spec.minReadySeconds", "spec.revisionHistoryLimit",
			"spec.updateStrategy.type", "spec.updateStrategy.rollingUpdate.maxUnavailable",
		}),
		"StatefulSet": workloadFields(selectorFields, concat([]string{
			"spec.replicas", "spec.serviceName", "spec.podManagementPolicy", "spec.minReadySeconds", "spec.revisionHistoryLimit",
			"spec.updateStrategy.type", "spec.updateStrategy.rollingUpdate.partition",
			"spec.volumeClaimTemplates[].metadata.name", "spec.volumeClaimTemplates[].metadata.labels.*",
			"spec.volumeClaimTemplates[].metadata.annotations.*",
			"spec.persistentVolumeClaimRetentionPolicy.whenDeleted", "spec.persistentVolumeClaimRetentionPolicy.whenScaled",
		}, prefixed("spec.volumeClaimTemplates[].spec.", claimSpecFields))),
		"Job":                   concat(metadataFields, jobSpecFields("spec.")),
		"Service":               serviceFields,
		"Endpoints":             endpointsFields,
		"NetworkPolicy":         networkPolicyFields,
		"Ingress":               ingressFields,
		"IngressClass":          ingressClassFields,
		"GatewayClass":          gatewayClassFields,
		"Gateway":               gatewayFields,
		"HTTPRoute":             httpRouteFields,
		"ReferenceGrant":        referenceGrantFields,
		"StorageClass":          storageClassFields,
		"PersistentVolume":      persistentVolumeFields,
		"PersistentVolumeClaim": persistentVolumeClaimFields,
		"CronJob": concat(metadataFields, []string{
			"spec.schedule", "spec.timeZone", "spec.concurrencyPolicy", "spec.startingDeadlineSeconds",
			"spec.successfulJobsHistoryLimit", "spec.failedJobsHistoryLimit", "spec.suspend",
			"spec.jobTemplate.metadata.labels.*", "spec.jobTemplate.metadata.annotations.*",
		}, jobSpecFields("spec.jobTemplate.spec.")),
	}
)

// selectorFields are a label selector of apps/v1.
var selectorFields = []string{
	"spec.selector.matchLabels.*",
	"spec.selector.matchExpressions[].key", "spec.selector.matchExpressions[].operator", "spec.selector.matchExpressions[].values[]",
}

// workloadFields are the fields of a controller of pods: metadata, its
// selector fields, its own spec fields and the pod template.
func workloadFields(selector, spec []string) []string {
	return concat(metadataFields, selector, spec, []string{
		"spec.template.metadata.labels.*", "spec.template.metadata.annotations.*",
	}, prefixed("spec.template.spec.", podSpecFields))
}

// jobSpecFields are a Job's spec fields under prefix.
func jobSpecFields(prefix string) []string {
	return prefixed(prefix, concat([]string{
		"parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "completionMode",
		"ttlSecondsAfterFinished", "suspend",
		"template.metadata.labels.*", "template.metadata.annotations.*",
	}, prefixed("template.spec.", podSpecFields)))
}

func prefixed(prefix string, fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = prefix + f
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// fieldTree is the supported patterns of one kind as a tree of path steps.
type fieldTree map[string]fieldTree

// anyKey is the step of a map whose keys are free.
const anyKey = "*"

func treeOf(patterns []string) fieldTree {
	root := fieldTree{}
	for _, p := range patterns {
		node := root
		for _, step := range splitPath(p) {
			if node[step] == nil {
				node[step] = fieldTree{}
			}
			node = node[step]
		}
	}
	return root
}

// splitPath splits "a.b[].c" into "a", "b", "[]", "c".
func splitPath(p string) []string {
	var steps []string
	for _, part := range strings.Split(p, ".") {
		if name, ok := strings.CutSuffix(part, "[]"); ok {
			steps = append(steps, name, "[]")
		} else {
			steps = append(steps, part)
		}
	}
	return steps
}

var supportedTrees = func() map[string]fieldTree {
	m := map[string]fieldTree{}
	for kind, patterns := range supported {
		m[kind] = treeOf(patterns)
	}
	return m
}()

// unsupportedFields returns the paths of the fields set in the JSON
// document that berth does not implement: the first step off the tree of
// supported fields. "status" is ignored, as Kubernetes ignores it on create.
func unsupportedFields(kind string, data []byte) ([]string, error) {
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	delete(doc, "status")
	var out []string
	walkUnsupported(supportedTrees[kind], doc, "", &out)
	sort.Strings(out)
	return out, nil
}

func walkUnsupported(tree fieldTree, v any, path string, out *[]string) {
	switch v := v.(type) {
	case nil:
		return // an explicit null sets nothing
	case map[string]any:
		for key, child := range v {
			sub, ok := tree[key]
			if !ok {
				sub, ok = tree[anyKey]
			}
			p := join(path, key)
			if !ok {
				if !isEmpty(child) {
					*out = append(*out, p)
				}
				continue
			}
			walkUnsupported(sub, child, p, out)
		}
	case []any:
		sub, ok := tree["[]"]
		for i, child := range v {
			p := fmt.Sprintf("%s[%d]", path, i)
			if !ok {
				*out = append(*out, p)
				continue
			}
			walkUnsupported(sub, child, p, out)
		}
	}
}

// isEmpty reports whether a value sets nothing: null, {} or [].
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// FieldsMarkdown renders the table of implemented fields as the body of
// docs/manifests.md.
func FieldsMarkdown() string {
	var b strings.Builder
	b.WriteString("# Manifest fields berth implements\n\n")
	b.WriteString("Generated from `manifest/fields.go` by `make docs`; a test fails when this file is stale.\n\n")
	b.WriteString("Any other field set in a manifest is refused with its path, for example\n")
	b.WriteString("`spec.template.spec.containers[0].securityContext.seccompProfile: not supported by berth`.\n")
	b.WriteString("`[]` stands for any list index, `*` for any key of a map. `status` is ignored.\n")
	var kindNames []string
	for k := range supported {
		kindNames = append(kindNames, k)
	}
	sort.Strings(kindNames)
	for _, k := range kindNames {
		fmt.Fprintf(&b, "\n## %s (%s)\n\n", k, kindVersions[k])
		for _, f := range supported[k] {
			fmt.Fprintf(&b, "- `%s`\n", f)
		}
	}
	return b.String()
}
