package manifest

import (
	"strings"
	"testing"
)

func podWith(spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n" + spec +
		"  containers:\n  - name: c\n    image: kubia:v1\n    ports:\n    - {containerPort: 8080, name: http}\n"
}

func TestSchedulingAccepted(t *testing.T) {
	set := decodeOne(t, podWith(`  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: disk, operator: In, values: [ssd]}]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 10
        preference: {matchExpressions: [{key: zone, operator: Exists}]}
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: web}}
        topologyKey: kubernetes.io/hostname
  topologySpreadConstraints:
  - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}
`))
	if a := set.Pods[0].Spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(set.Pods[0].Spec.TopologySpreadConstraints) != 1 {
		t.Fatalf("affinity %+v", a)
	}
}

func TestSchedulingValidation(t *testing.T) {
	cases := []struct{ name, spec, want string }{
		{"operator", "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions: [{key: disk, operator: Near, values: [ssd]}]\n",
			`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: `},
		{"no terms", "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}\n",
			"nodeSelectorTerms: must have at least one node selector term"},
		{"weight", "  affinity:\n    nodeAffinity:\n      preferredDuringSchedulingIgnoredDuringExecution:\n      - {weight: 0, preference: {matchExpressions: [{key: a, operator: Exists}]}}\n",
			"preferredDuringSchedulingIgnoredDuringExecution[0].weight: must be in the range 1-100"},
		{"topology key", "  affinity:\n    podAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {matchLabels: {app: db}}\n",
			"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: required: can not be empty"},
		{"max skew", "  topologySpreadConstraints:\n  - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n",
			"spec.topologySpreadConstraints[0].maxSkew: must be greater than zero"},
		{"when unsatisfiable", "  topologySpreadConstraints:\n  - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: Sometimes}\n",
			`spec.topologySpreadConstraints[0].whenUnsatisfiable: unsupported value "Sometimes"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Decode([]File{{Name: "p.yaml", Data: []byte(podWith(tc.spec))}})
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("errors do not contain %q:\n%s", tc.want, strings.Join(all, "\n"))
			}
		})
	}
}

func TestPortValidation(t *testing.T) {
	pod := func(ports string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: kubia:v1\n    ports:\n" + ports
	}
	cases := []struct{ ports, want string }{
		{"    - {containerPort: 70000}\n", "spec.containers[0].ports[0].containerPort: 70000: must be between 1 and 65535, inclusive"},
		{"    - {containerPort: 80, name: web_port}\n", `spec.containers[0].ports[0].name: "web_port"`},
		{"    - {containerPort: 80, name: web}\n    - {containerPort: 81, name: web}\n", `spec.containers[0].ports[1].name: duplicate port name "web"`},
		{"    - {containerPort: 80, protocol: ICMP}\n", `spec.containers[0].ports[0].protocol: unsupported value "ICMP"`},
	}
	for _, tc := range cases {
		_, errs := Decode([]File{{Name: "p.yaml", Data: []byte(pod(tc.ports))}})
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("errors do not contain %q:\n%s", tc.want, strings.Join(all, "\n"))
		}
	}
	decodeOne(t, pod("    - {containerPort: 8080, hostPort: 8080}\n"))
	decodeOne(t, pod("    - {containerPort: 80, hostPort: 8080}\n")) // a pod in its own network maps any hostPort
	hostNet := strings.Replace(pod("    - {containerPort: 80, hostPort: 8080}\n"), "spec:\n", "spec:\n  hostNetwork: true\n", 1)
	if _, errs := Decode([]File{{Name: "p.yaml", Data: []byte(hostNet)}}); len(errs) != 1 ||
		!strings.Contains(errs[0].Error(), "spec.containers[0].ports[0].hostPort: 8080: must equal containerPort 80 when hostNetwork is true") {
		t.Errorf("hostNetwork with hostPort 8080 to containerPort 80: %v", errs)
	}
}
