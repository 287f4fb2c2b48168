package raftstore

// This file writes the golden entries and snapshot of a release. It uses
// only what every release's raftstore has, so that it can be copied into
// an older release's tree to record that release (see testdata/golden/
// README.md). Run: BERTH_GOLDEN_WRITE=DIR go test ./raftstore -run TestWriteGolden

import (
	"time"

	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/api"
)

// goldenNames names the entry files by type; a type this list lacks is
// written as "type-N".
var goldenNames = map[MessageType]string{1: "revision", 2: "plan", 3: "register", 4: "heartbeat", 5: "status-batch",
	6: "rollout", 7: "member", 8: "heartbeats", 9: "status-batches", 10: "format", 11: "remove-node", 12: "token", 13: "pin-node", 14: "keyring", 15: "reseal"}

func TestWriteGolden(t *testing.T) {
	dir := os.Getenv("BERTH_GOLDEN_WRITE")
	if dir == "" {
		t.Skip("set BERTH_GOLDEN_WRITE=DIR to write this release's golden entries and snapshot into DIR")
	}
	data := t.TempDir()
	s := mustStore(t, data, freeAddr(t))
	defer s.Close()
	goldenScenario(t, s)
	goldenAfter(t, s)
	if err := os.MkdirAll(filepath.Join(dir, "entries"), 0o755); err != nil {
		t.Fatal(err)
	}
	first, _ := s.bolt.FirstIndex()
	last, _ := s.bolt.LastIndex()
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.bolt.GetLog(i, &l); err != nil || l.Type != raft.LogCommand {
			continue
		}
		name := goldenNames[MessageType(l.Data[0])]
		if name == "" {
			name = fmt.Sprintf("type-%d", l.Data[0])
		}
		if err := os.WriteFile(filepath.Join(dir, "entries", fmt.Sprintf("%04d-%s.entry", i, name)), l.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snaps, err := s.snaps.List()
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no snapshot: %v", err)
	}
	_, rc, err := s.snaps.Open(snaps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := os.Create(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, rc); err != nil {
		t.Fatal(err)
	}
}

// goldenScenario writes one or more entries of every type the first
// release has, with the fields they carry.
func goldenScenario(t *testing.T, s *Store) {
	t.Helper()
	must := func(_ uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RegisterNode(&api.Registration{Name: "n1", Address: "10.0.0.1:7072", Labels: map[string]string{"disk": "ssd"}, MaxPods: 20}))
	must(s.RegisterNode(&api.Registration{Name: "n2", Address: "10.0.0.2:7072"}))
	must(s.Heartbeat("n1"))
	if _, err := s.Heartbeats([]string{"n1", "n2"}); err != nil {
		t.Fatal(err)
	}
	objects := &api.ObjectSet{}
	fromYAML(t, goldenDeployment, &objects.Deployments)
	fromYAML(t, goldenService, &objects.Services)
	fromYAML(t, goldenConfig, &objects.ConfigMaps)
	fromYAML(t, goldenNode, &objects.Nodes)
	fromYAML(t, goldenCronJob, &objects.CronJobs)
	must(s.ApplyRevision(&api.Revision{CommitInfo: api.CommitInfo{Commit: "c1c1c1", Author: "Ada", AuthorEmail: "ada@example.com", Message: "web", Signature: "unsigned"},
		Objects: objects, Superseded: []api.CommitInfo{{Commit: "c0c0c0"}}, Summary: &api.Summary{Added: []string{"Deployment/default/web"}}}))
	must(s.ApplyRevision(&api.Revision{CommitInfo: api.CommitInfo{Commit: "c2c2c2"}, Errors: []string{"web.yaml:3: Deployment/default/web: spec.replicas: must be >= 0 (document 1)"}}))
	var pods []corev1.Pod
	fromYAML(t, goldenPods, &pods)
	var jobs []batchv1.Job
	fromYAML(t, goldenJob, &jobs)
	must(s.ApplyPlan(&api.Plan{Create: pods, Jobs: jobs, CronJobs: objects.CronJobs}, time.Now()))
	must(s.ApplyPlan(&api.Plan{Bind: []api.Binding{{Pod: "default/web-2", Node: "n2"}}, Delete: []string{"default/web-1"},
		Unschedulable: []api.PendingReason{{Pod: "default/web-3", Message: "0/2 nodes are available: 2 Insufficient cpu."}}}, time.Now()))
	running := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 1, ContainerID: "containerd://abc"}}}
	must(s.apply(StatusBatchType, api.StatusBatch{Node: "n1", Time: commandTime(), Reports: []api.PodReport{{Namespace: "default", Name: "web-0", UID: "uid-web-0", Status: running}},
		Events: []corev1.Event{api.NewEvent(corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}, corev1.EventTypeNormal, "Started", "Started container app", "kubelet", "n1", commandTime())}}))
	must(s.ReportStatus(&api.StatusBatch{Node: "n1", Reports: []api.PodReport{{Namespace: "default", Name: "web-1", UID: "uid-web-1", Removed: true}}}))
	must(s.EndRollout("c1c1c1", api.Rollout{State: api.RolloutConverged}))
	must(s.RecordMember(api.Member{Name: "m0", RaftAddr: "127.0.0.1:7071", APIAddr: "127.0.0.1:7070"}))
	must(s.ApplyPlan(&api.Plan{Delete: []string{"default/web-0"}, DeleteJobs: []string{"default/nightly-1"}}, time.Now()))
	must(s.ApplyPlan(&api.Plan{ForceDelete: []string{"default/web-0"}, DeleteCronJobs: []string{"default/nightly"}}, time.Now()))
}

// fromYAML decodes YAML into v, failing the test on an error.
func fromYAML(t *testing.T, doc string, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
		t.Fatalf("%v in\n%s", err, doc)
	}
}

const goldenDeployment = `
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: default, labels: {app: web}}
  spec:
    replicas: 3
    selector: {matchLabels: {app: web}}
    strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - name: app
          image: kubia:v1
          ports: [{containerPort: 8080}]
          env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: web, key: greeting}}}]
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
          readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
`

const goldenService = `
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: default}
  spec:
    type: NodePort
    clusterIP: 10.96.0.10
    selector: {app: web}
    ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
`

const goldenConfig = `
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: web, namespace: default}
  data: {greeting: hello}
`

const goldenNode = `
- apiVersion: v1
  kind: Node
  metadata: {name: n2, labels: {zone: b}}
  spec:
    taints: [{key: dedicated, value: db, effect: NoSchedule}]
`

const goldenCronJob = `
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: nightly, namespace: default}
  spec:
    schedule: "0 3 * * *"
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: OnFailure
            containers: [{name: job, image: busybox, command: [sh, -c, "echo hi"]}]
`

const goldenJob = `
- apiVersion: batch/v1
  kind: Job
  metadata: {name: nightly-1, namespace: default, annotations: {berth.dev/owner: CronJob/nightly}}
  spec:
    completions: 1
    template:
      spec:
        restartPolicy: OnFailure
        containers: [{name: job, image: busybox}]
  status: {active: 1}
`

const goldenPods = `
- metadata:
    name: web-0
    namespace: default
    uid: uid-web-0
    labels: {app: web}
    annotations: {berth.dev/owner: ReplicaSet/web-5d8f, berth.dev/commit: c1c1c1}
  spec:
    nodeName: n1
    containers: [{name: app, image: kubia:v1}]
  status: {phase: Pending}
- metadata: {name: web-1, namespace: default, uid: uid-web-1, labels: {app: web}}
  spec:
    nodeName: n1
    containers: [{name: app, image: kubia:v1}]
  status: {phase: Pending}
- metadata: {name: web-2, namespace: default, uid: uid-web-2, labels: {app: web}}
  spec:
    containers: [{name: app, image: kubia:v1}]
    volumes: [{name: data, persistentVolumeClaim: {claimName: data-web-2}}]
  status: {phase: Pending}
- metadata: {name: web-3, namespace: default, uid: uid-web-3}
  spec:
    containers: [{name: app, image: kubia:v1, resources: {requests: {cpu: "64"}}}]
  status: {phase: Pending}
`
