package manifest

import (
	"fmt"
	"strings"
	"testing"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: kubia:v1
`

func TestDecodeMultiDocument(t *testing.T) {
	files := []File{{Name: "app.yaml", Data: []byte("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n" + deployment)}}
	set, errs := Decode(files)
	if len(errs) > 0 {
		t.Fatalf("Decode: %v", errs)
	}
	if len(set.Namespaces) != 1 || len(set.Deployments) != 1 {
		t.Fatalf("got %d namespaces, %d deployments; want 1, 1", len(set.Namespaces), len(set.Deployments))
	}
	d := set.Deployments[0]
	if d.Namespace != "default" || *d.Spec.Replicas != 3 {
		t.Errorf("namespace %q replicas %d; want default, 3", d.Namespace, *d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.ImagePullPolicy != "IfNotPresent" || d.Spec.Template.Spec.RestartPolicy != "Always" {
		t.Errorf("defaults: pull %q restart %q", c.ImagePullPolicy, d.Spec.Template.Spec.RestartPolicy)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, data string
		want       []string
	}{
		{"unknown field", strings.Replace(deployment, "image: kubia:v1", "image: kubia:v1\n        imagePolicy: x", 1),
			[]string{"app.yaml:16: Deployment/default/web: spec.template.spec.containers[0].imagePolicy: unknown field (document 0)"}},
		{"wrong type", strings.Replace(deployment, "replicas: 3", "replicas: three", 1),
			[]string{"app.yaml:6: Deployment/default/web: spec.replicas: cannot use string as int32 (document 0)"}},
		{"invalid yaml", "---\n" + deployment + "---\nkind: [\n", []string{"app.yaml:18: invalid YAML: did not find expected node content (document 1)"}},
		{"unknown kind", "apiVersion: v1\nkind: Widget\nmetadata: {name: a}\n", []string{`app.yaml:2: Widget/default/a: kind: v1 "Widget" is not a kind berth knows (berth knows: apps/v1 DaemonSet, apps/v1 Deployment, apps/v1 ReplicaSet, apps/v1 StatefulSet, batch/v1 CronJob, batch/v1 Job, gateway.networking.k8s.io/v1 Gateway, gateway.networking.k8s.io/v1 GatewayClass, gateway.networking.k8s.io/v1 HTTPRoute, gateway.networking.k8s.io/v1 ReferenceGrant, networking.k8s.io/v1 Ingress, networking.k8s.io/v1 IngressClass, networking.k8s.io/v1 NetworkPolicy, storage.k8s.io/v1 StorageClass, v1 ConfigMap, v1 Endpoints, v1 Namespace, v1 Node, v1 PersistentVolume, v1 PersistentVolumeClaim, v1 Pod, v1 ReplicationController, v1 Secret, v1 Service) (document 0)`}},
		{"retired version", strings.Replace(deployment, "apps/v1", "extensions/v1beta1", 1),
			[]string{"app.yaml:1: Deployment/default/web: apiVersion: extensions/v1beta1 Deployment was removed from Kubernetes: use apiVersion apps/v1"}},
		{"wrong version", strings.Replace(deployment, "apps/v1", "v1", 1),
			[]string{"app.yaml:1: Deployment/default/web: apiVersion: v1 Deployment is not supported: use apiVersion apps/v1"}},
		{"hpa", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n",
			[]string{"app.yaml:2: HorizontalPodAutoscaler/default/a: kind: autoscaling/v2 \"HorizontalPodAutoscaler\" is not a kind berth knows (berth knows: "}},
		{"ingress without rules", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\n",
			[]string{"app.yaml:1: Ingress/default/a: spec: either `defaultBackend` or `rules` must be specified (document 0)"}},
		{"unsupported fields", strings.Replace(deployment, "image: kubia:v1", "image: kubia:v1\n        stdin: true\n        securityContext:\n          seccompProfile: {type: RuntimeDefault}\n        env:\n        - name: A\n          valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}", 1) + "  strategy: {type: Recreate}\n",
			[]string{"app.yaml:16: Deployment/default/web: spec.template.spec.containers[0].stdin: not supported by berth",
				"app.yaml:18: Deployment/default/web: spec.template.spec.containers[0].securityContext.seccompProfile: not supported by berth",
				`app.yaml:21: Deployment/default/web: spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: "spec.serviceAccountName" not supported by berth`,
			}},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", []string{"app.yaml:1: kind: required (document 0)"}},
		{"selector mismatch", strings.Replace(deployment, "labels: {app: web}", "labels: {app: other}", 1),
			[]string{"app.yaml:11: Deployment/default/web: spec.template.metadata.labels: `selector` does not match template `labels` (document 0)"}},
		{"bad name and duplicate container", strings.Replace(strings.Replace(deployment, "name: web\nspec", "name: Web_1\nspec", 1),
			"      - name: web\n        image: kubia:v1\n", "      - name: web\n        image: kubia:v1\n      - name: web\n        image: \"\"\n", 1),
			[]string{`metadata.name: "Web_1"`, `spec.template.spec.containers[1].name: duplicate container name "web"`, "spec.template.spec.containers[1].image: required"}},
		{"duplicate object", deployment + "---\n" + deployment, []string{"app.yaml:20: Deployment/default/web: metadata.name: defined twice: also at app.yaml:4 (document 1)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, errs := Decode([]File{{Name: "app.yaml", Data: []byte(tc.data)}})
			if set != nil || len(errs) == 0 {
				t.Fatalf("Decode accepted invalid input")
			}
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			joined := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(joined, w) {
					t.Errorf("errors do not contain %q:\n%s", w, joined)
				}
			}
			for _, e := range all {
				if strings.Contains(e, "\n") {
					t.Errorf("error is not one line: %q", e)
				}
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	data := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"one","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	set, errs := Decode([]File{{Name: "pod.json", Data: []byte(data)}, {Name: "ns.yaml", Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := set.Pods[0].Spec.Containers[0].ImagePullPolicy; got != "Always" {
		t.Errorf("pull policy for untagged image = %q, want Always", got)
	}
}

// FuzzValidate varies the values of a Deployment's fields, which reach the
// validator (names, labels, replicas, images, policies).
func FuzzValidate(f *testing.F) {
	f.Add("web", "app", "web", int64(3), "kubia:v1", "Always", "c")
	f.Add("Web_1", "a/b/c", "", int64(-1), "", "Sometimes", "")
	f.Fuzz(func(t *testing.T, name, labelKey, labelValue string, replicas int64, image, policy, container string) {
		doc := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q},
"spec":{"replicas":%d,"selector":{"matchLabels":{%q:%q}},"template":{"metadata":{"labels":{%q:%q}},
"spec":{"restartPolicy":%q,"containers":[{"name":%q,"image":%q}]}}}}`,
			name, replicas, labelKey, labelValue, labelKey, labelValue, policy, container, image)
		set, errs := Decode([]File{{Name: "d.json", Data: []byte(doc)}})
		if set == nil && len(errs) == 0 {
			t.Fatal("no objects and no errors")
		}
		for _, e := range errs {
			if e.Error() == "" || strings.Contains(e.Error(), "\n") {
				t.Fatalf("bad error %q", e)
			}
		}
		if set != nil && (len(set.Deployments) != 1 || *set.Deployments[0].Spec.Replicas < 0) {
			t.Fatalf("accepted %+v", set)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(deployment))
	f.Add([]byte("---\n---\napiVersion: v1\nkind: Pod\n"))
	// One of each workload kind, so that the fuzzer starts from their
	// fields too.
	f.Add([]byte(workload("apps/v1", "StatefulSet", "  volumeClaimTemplates:\n  - metadata: {name: d}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n", "Always")))
	f.Add([]byte(workload("apps/v1", "DaemonSet", "  updateStrategy: {rollingUpdate: {maxUnavailable: 10%}}\n", "Always")))
	f.Add([]byte(workload("batch/v1", "Job", "  completionMode: Indexed\n  completions: 3\n", "Never")))
	f.Add([]byte(workload("v1", "ReplicationController", "", "Always")))
	f.Add([]byte(cronJob("*/5 * * * *", "  timeZone: Europe/Berlin\n")))
	f.Add([]byte(service("  type: NodePort\n  ports:\n  - {name: http, port: 80, targetPort: http, nodePort: 30080}\n  - {name: dns, port: 53, protocol: UDP}\n")))
	f.Add([]byte("apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\nsubsets:\n- addresses: [{ip: 192.168.1.5}]\n  ports: [{port: 5432}]\n"))
	f.Add([]byte(ingressApp))
	f.Add([]byte(gatewayApp))
	f.Add([]byte(storageApp))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, errs := Decode([]File{{Name: "f.yaml", Data: data}})
		if set == nil && len(errs) == 0 {
			t.Fatal("no objects and no errors")
		}
		for _, e := range errs {
			if e.Error() == "" {
				t.Fatal("empty error")
			}
		}
	})
}
