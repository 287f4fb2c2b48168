package reconciler

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func node(name string, cpu, mem string, labels map[string]string) api.Node {
	return api.Node{Name: name, CPU: resource.MustParse(cpu), Memory: resource.MustParse(mem), Labels: labels, LastHeartbeat: now}
}

func deploy(name string, replicas int32, env string) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "kubia:v1", Env: []corev1.EnvVar{{Name: "V", Value: env}},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
				}}},
			},
		},
	}
}

func run(t *testing.T, in Input) Input {
	t.Helper()
	for i := 0; i < 5; i++ {
		plan := Reconcile(in, now)
		if plan.Empty() {
			return in
		}
		in = Simulate(in, plan, now)
	}
	t.Fatalf("no fixed point after 5 passes")
	return in
}

func TestDeploymentScaleAndReplace(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "2", "1Gi", nil), node("n2", "2", "1Gi", nil)}}
	in.Desired = &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 3, "a")}}
	in = run(t, in)
	if len(in.Pods) != 3 || !Converged(in, now) {
		t.Fatalf("%d pods, converged %v", len(in.Pods), Converged(in, now))
	}
	perNode := map[string]int{}
	for _, p := range in.Pods {
		if !strings.HasPrefix(p.Name, "web-"+templateHash(&in.Desired.Deployments[0].Spec.Template)+"-") || len(p.Name) != len("web-")+len(p.Labels[api.LabelPodTemplateHash])+6 {
			t.Errorf("pod name %q is not web-<hash>-<suffix>", p.Name)
		}
		if ref := p.OwnerReferences; len(ref) != 1 || ref[0].Kind != "ReplicaSet" || ref[0].Name != "web-"+p.Labels[api.LabelPodTemplateHash] || !*ref[0].Controller {
			t.Errorf("pod %s: ownerReferences %+v", p.Name, ref)
		}
		perNode[p.Spec.NodeName]++
	}
	if perNode["n1"] == 3 || perNode["n2"] == 3 {
		t.Errorf("pods not spread: %v", perNode)
	}
	in.Desired.Deployments[0] = deploy("web", 5, "a")
	in = run(t, in)
	if len(in.Pods) != 5 {
		t.Fatalf("scale up: %d pods", len(in.Pods))
	}
	in.Desired.Deployments[0] = deploy("web", 1, "a")
	in = run(t, in)
	if len(in.Pods) != 1 {
		t.Fatalf("scale down: %d pods", len(in.Pods))
	}
	old := in.Pods[0].Name
	in.Commit = "c2"
	in.Desired.Deployments[0] = deploy("web", 1, "b")
	in = run(t, in)
	if len(in.Pods) != 1 || in.Pods[0].Name == old || in.Pods[0].Annotations[api.AnnotationCommit] != "c2" {
		t.Fatalf("changed template: pods %v", in.Pods)
	}
	in.Desired = &api.ObjectSet{}
	in = run(t, in)
	if len(in.Pods) != 0 {
		t.Fatalf("removed from Git: %d pods left", len(in.Pods))
	}
}

func TestBarePodReplacedWhenSpecChanges(t *testing.T) {
	bare := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "one", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "1", "1Gi", nil)}, Desired: &api.ObjectSet{Pods: []corev1.Pod{bare}}}
	in = run(t, in)
	if len(in.Pods) != 1 || in.Pods[0].Spec.NodeName != "n1" {
		t.Fatalf("pods %v", in.Pods)
	}
	changed := *bare.DeepCopy()
	changed.Spec.Containers[0].Image = "busybox:2"
	in.Desired.Pods = []corev1.Pod{changed}
	plan := Reconcile(in, now)
	if len(plan.Delete) != 1 || len(plan.Create) != 0 {
		t.Fatalf("first pass must delete the old pod only: %+v", plan)
	}
	in = run(t, in)
	if len(in.Pods) != 1 || in.Pods[0].Spec.Containers[0].Image != "busybox:2" {
		t.Fatalf("pod not replaced: %v", in.Pods)
	}
}

func TestTerminatingPodBlocksSameName(t *testing.T) {
	bare := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "one", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "1", "1Gi", nil)}, Desired: &api.ObjectSet{Pods: []corev1.Pod{bare}}}
	in = run(t, in)
	in.Pods[0].DeletionTimestamp = &metav1.Time{Time: now}
	if Converged(in, now) {
		t.Error("converged while a pod terminates")
	}
	if plan := Reconcile(in, now); !plan.Empty() {
		t.Errorf("plan while the old pod terminates: %+v", plan)
	}
}

func TestSchedulerReasons(t *testing.T) {
	stale := node("old", "64", "64Gi", nil)
	stale.LastHeartbeat = now.Add(-time.Minute)
	cases := []struct {
		name   string
		nodes  []api.Node
		sel    map[string]string
		want   string // node, or a substring of the reason
		reason bool
	}{
		{"no nodes", nil, nil, "0/0 nodes are available", true},
		{"too small", []api.Node{node("n1", "50m", "1Gi", nil)}, nil, "0/1 nodes are available: 1 Insufficient cpu.", true},
		{"not ready", []api.Node{stale}, nil, "1 node(s) were not ready", true},
		{"selector", []api.Node{node("n1", "1", "1Gi", map[string]string{"disk": "hdd"}), node("n2", "1", "1Gi", map[string]string{"disk": "ssd"})},
			map[string]string{"disk": "ssd"}, "n2", false},
		{"selector matches nothing", []api.Node{node("n1", "1", "1Gi", nil), stale}, map[string]string{"disk": "ssd"},
			"0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were not ready.", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := deploy("web", 1, "a")
			d.Spec.Template.Spec.NodeSelector = tc.sel
			plan := Reconcile(Input{Commit: "c", Nodes: tc.nodes, Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{d}}}, now)
			if len(plan.Create) != 1 {
				t.Fatalf("plan %+v", plan)
			}
			p := plan.Create[0]
			if !tc.reason {
				if p.Spec.NodeName != tc.want {
					t.Fatalf("bound to %q, want %q", p.Spec.NodeName, tc.want)
				}
				return
			}
			c := p.Status.Conditions[0]
			if p.Spec.NodeName != "" || c.Reason != "Unschedulable" || !strings.Contains(c.Message, tc.want) {
				t.Fatalf("node %q, condition %+v; want reason containing %q", p.Spec.NodeName, c, tc.want)
			}
		})
	}
}

func TestPendingPodBoundWhenNodeArrives(t *testing.T) {
	in := Input{Commit: "c1", Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 2, "a")}}}
	in = Simulate(in, Reconcile(in, now), now)
	if Converged(in, now) {
		t.Fatal("converged with pending pods")
	}
	in.Nodes = []api.Node{node("n1", "1", "1Gi", nil)}
	plan := Reconcile(in, now)
	if len(plan.Bind) != 2 || len(plan.Create) != 0 {
		t.Fatalf("plan %+v", plan)
	}
}

func TestReconcileIsDeterministic(t *testing.T) {
	in := Input{Commit: "c1", Nodes: []api.Node{node("n1", "2", "1Gi", nil), node("n2", "2", "1Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 4, "a"), deploy("api", 2, "a")}}}
	a, b := Reconcile(in, now), Reconcile(in, now)
	if len(a.Create) != 6 {
		t.Fatalf("%d creates", len(a.Create))
	}
	for i := range a.Create {
		if a.Create[i].Name != b.Create[i].Name || a.Create[i].UID != b.Create[i].UID || a.Create[i].Spec.NodeName != b.Create[i].Spec.NodeName {
			t.Fatalf("pass differs at %d", i)
		}
	}
}
