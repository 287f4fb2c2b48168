package manifest

import (
	"os"
	"testing"
)

// everyField sets every field the table says berth implements.
const everyField = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: a}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
  annotations: {note: "x"}
  creationTimestamp: null
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [front]}
  template:
    metadata:
      labels: {app: web, tier: front}
      annotations: {a: b}
    spec:
      restartPolicy: Always
      terminationGracePeriodSeconds: 5
      nodeSelector: {disk: ssd}
      containers:
      - name: web
        image: kubia:v1
        imagePullPolicy: IfNotPresent
        command: [/app]
        args: [-listen, ":80"]
        workingDir: /
        env:
        - {name: A, value: b}
        ports:
        - {containerPort: 80, name: http, protocol: TCP}
        resources:
          requests: {cpu: 100m, memory: 32Mi}
          limits: {cpu: "1", memory: 64Mi}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
status: {}
`

func TestEveryImplementedFieldIsAccepted(t *testing.T) {
	if _, errs := Decode([]File{{Name: "web.yaml", Data: []byte(everyField)}}); len(errs) > 0 {
		t.Fatalf("a manifest of implemented fields was refused: %v", errs)
	}
}

// TestDocsUpToDate fails when docs/manifests.md differs from the table;
// `make docs` writes it.
func TestDocsUpToDate(t *testing.T) {
	const path = "../docs/manifests.md"
	want := FieldsMarkdown()
	if os.Getenv("BERTH_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is stale or missing (%v): run `make docs`", path, err)
	}
}
