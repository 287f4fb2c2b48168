package manifest

import (
	"strings"
	"testing"
)

const configObjects = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  greeting: hello
  app.conf: |
    a = 1
binaryData:
  logo.png: iVBORw0K
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data:
  user: YWRtaW4=
stringData:
  password: s3cret
  user: root
`

const podWithRefs = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  volumes:
  - name: conf
    configMap:
      name: settings
      defaultMode: 0600
      items: [{key: app.conf, path: conf/app.conf}]
  - name: creds
    secret: {secretName: creds}
  - name: scratch
  containers:
  - name: c
    image: kubia:v1
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    - name: MAYBE
      valueFrom: {configMapKeyRef: {name: absent, key: x, optional: true}}
    envFrom:
    - secretRef: {name: creds}
      prefix: DB_
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
    - {name: scratch, mountPath: /tmp/scratch}
`

func TestConfigMapsSecretsAndReferences(t *testing.T) {
	set, errs := Decode([]File{{Name: "config.yaml", Data: []byte(configObjects)}, {Name: "pod.yaml", Data: []byte(podWithRefs)}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sec := set.Secrets[0]
	if sec.Type != "Opaque" || string(sec.Data["user"]) != "root" || string(sec.Data["password"]) != "s3cret" || sec.StringData != nil {
		t.Errorf("secret defaults: type %q data %q stringData %v", sec.Type, sec.Data, sec.StringData)
	}
	if string(set.ConfigMaps[0].BinaryData["logo.png"]) != "\x89PNG\r\n\x1a\n"[:6] {
		t.Errorf("binaryData %q", set.ConfigMaps[0].BinaryData["logo.png"])
	}
	vols := set.Pods[0].Spec.Volumes
	if *vols[0].ConfigMap.DefaultMode != 0o600 || *vols[1].Secret.DefaultMode != 0o644 || vols[2].EmptyDir == nil {
		t.Errorf("volume defaults: %+v", vols)
	}
}

func TestBadReferences(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"missing ConfigMap", "name: settings\n      defaultMode", "name: nope\n      defaultMode",
			"pod.yaml:7: Pod/default/p: spec.volumes[0].configMap: ConfigMap default/nope is not in this commit (mark the reference optional: true if it may be missing)"},
		{"missing key", "key: greeting}", "key: nothere}",
			`spec.containers[0].env[0].valueFrom.configMapKeyRef: ConfigMap default/settings has no key "nothere"`},
		{"missing Secret", "secretRef: {name: creds}", "secretRef: {name: other}", "spec.containers[0].envFrom[0].secretRef: Secret default/other is not in this commit"},
		{"unknown volume", "{name: scratch, mountPath", "{name: scratchy, mountPath", `spec.containers[0].volumeMounts[1].name: no volume named "scratchy" in the pod`},
		{"relative mount", "mountPath: /etc/app}", "mountPath: etc/app}", `spec.containers[0].volumeMounts[0].mountPath: "etc/app" must be an absolute path`},
		{"escaping item path", "path: conf/app.conf", "path: ../app.conf", `spec.volumes[0].configMap.items[0].path: "../app.conf" must be a relative path without '..'`},
		{"bad mode", "defaultMode: 0600", "defaultMode: 01000", "spec.volumes[0].configMap.defaultMode: 01000 must be a number between 0 and 0777"},
		{"value and valueFrom", "- name: GREETING\n", "- name: GREETING\n      value: x\n", "spec.containers[0].env[0].valueFrom: may not be set when `value` is not empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := strings.Replace(podWithRefs, tc.from, tc.to, 1)
			if pod == podWithRefs {
				t.Fatalf("replacement %q not found", tc.from)
			}
			_, errs := Decode([]File{{Name: "config.yaml", Data: []byte(configObjects)}, {Name: "pod.yaml", Data: []byte(pod)}})
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("errors %q do not contain %q", all, tc.want)
			}
		})
	}
	bad := "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/tls\ndata: {tls.crt: YQ==, \"bad key!\": YQ==}\n"
	_, errs := Decode([]File{{Name: "s.yaml", Data: []byte(bad)}})
	joined := ""
	for _, e := range errs {
		joined += e.Error() + "\n"
	}
	for _, want := range []string{`a secret of type kubernetes.io/tls needs the key "tls.key"`, `key "bad key!"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors %q do not contain %q", joined, want)
		}
	}
}

func TestNodesAndTolerations(t *testing.T) {
	nodeYAML := "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {disk: ssd}}\nspec:\n  unschedulable: true\n  taints:\n  - {key: dedicated, value: db, effect: NoSchedule}\n"
	set, errs := Decode([]File{{Name: "n.yaml", Data: []byte(nodeYAML)}})
	if len(errs) > 0 || len(set.Nodes) != 1 || !set.Nodes[0].Spec.Unschedulable {
		t.Fatalf("node: %v %+v", errs, set)
	}
	bad := strings.Replace(nodeYAML, "effect: NoSchedule", "effect: Never", 1)
	_, errs = Decode([]File{{Name: "n.yaml", Data: []byte(bad)}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `n.yaml:7: Node/n1: spec.taints[0].effect: unsupported value "Never"`) {
		t.Fatalf("bad taint: %v", errs)
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  tolerations:\n  - {operator: Exists, value: x}\n  containers: [{name: c, image: i}]\n"
	_, errs = Decode([]File{{Name: "p.yaml", Data: []byte(pod)}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "spec.tolerations[0].value: must be empty when `operator` is 'Exists'") {
		t.Fatalf("bad toleration: %v", errs)
	}
	seconds := strings.Replace(pod, "{operator: Exists, value: x}", "{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}", 1)
	_, errs = Decode([]File{{Name: "p.yaml", Data: []byte(seconds)}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "spec.tolerations[0].effect: must be 'NoExecute' when `tolerationSeconds` is set") {
		t.Fatalf("tolerationSeconds without NoExecute: %v", errs)
	}
	decodeOne(t, strings.Replace(seconds, "NoSchedule", "NoExecute", 1))
}

func TestProbes(t *testing.T) {
	pod := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: i
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /healthz, port: http}
    livenessProbe:
      exec: {command: [/app, -exit, "0"]}
      periodSeconds: 2
    startupProbe:
      tcpSocket: {port: 8080}
      failureThreshold: 30
`
	set, errs := Decode([]File{{Name: "p.yaml", Data: []byte(pod)}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c := set.Pods[0].Spec.Containers[0]
	r, l := c.ReadinessProbe, c.LivenessProbe
	if r.PeriodSeconds != 10 || r.TimeoutSeconds != 1 || r.SuccessThreshold != 1 || r.FailureThreshold != 3 || r.HTTPGet.Scheme != "HTTP" || l.PeriodSeconds != 2 {
		t.Errorf("defaults: readiness %+v liveness %+v", r, l)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"port: http}", "port: web}", `spec.containers[0].readinessProbe.httpGet.port: no container port named "web"`},
		{"tcpSocket: {port: 8080}", "tcpSocket: {port: 8080}\n      exec: {command: [x]}", "spec.containers[0].startupProbe: must specify exactly one handler"},
		{"periodSeconds: 2", "periodSeconds: 2\n      successThreshold: 2", "spec.containers[0].livenessProbe.successThreshold: must be 1"},
		{"path: /healthz,", "path: /healthz, scheme: HTTPS,", `spec.containers[0].readinessProbe.httpGet.scheme: "HTTPS" not supported by berth (only HTTP)`},
	} {
		_, errs := Decode([]File{{Name: "p.yaml", Data: []byte(strings.Replace(pod, tc.from, tc.to, 1))}})
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("errors %q do not contain %q", all, tc.want)
		}
	}
}

func TestSecurityContextValidation(t *testing.T) {
	pod := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {runAsUser: -1}
  containers:
  - name: c
    image: i
    securityContext: {privileged: true, allowPrivilegeEscalation: false, runAsUser: 0, runAsNonRoot: true}
`
	_, errs := Decode([]File{{Name: "p.yaml", Data: []byte(pod)}})
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{
		"spec.securityContext.runAsUser: must be between 0 and 2147483647, inclusive",
		"spec.containers[0].securityContext: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
		"spec.containers[0].securityContext.runAsNonRoot: runAsUser 0 runs as root",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors %q do not contain %q", all, want)
		}
	}
}
