package reconciler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// pod is a bare pod of app asking for cpu, shaped by opts.
func pod(name, app, cpu string, opts ...func(*corev1.PodSpec)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "kubia:v1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
	for _, o := range opts {
		o(&p.Spec)
	}
	return p
}

// placements schedules the pods, in order, and returns each one's node or
// its reason.
func placements(nodes []api.Node, pods ...corev1.Pod) map[string]string {
	in := Input{Commit: "c1", Nodes: nodes, Desired: &api.ObjectSet{Pods: pods}}
	out := map[string]string{}
	for _, p := range Reconcile(in, now).Create {
		out[p.Name] = p.Spec.NodeName
		if p.Spec.NodeName == "" {
			out[p.Name] = p.Status.Conditions[0].Message
		}
	}
	return out
}

func zoned(name, zone string) api.Node {
	return node(name, "4", "4Gi", map[string]string{"zone": zone, api.LabelHostname: name})
}

func antiAffinity(app, key string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: key,
			}},
		}}
	}
}

func TestSchedulerFilters(t *testing.T) {
	three := []api.Node{zoned("a1", "a"), zoned("a2", "a"), zoned("b1", "b")}
	cases := []struct {
		name  string
		nodes []api.Node
		pods  []corev1.Pod
		want  map[string]string
	}{
		{"required node affinity", three, []corev1.Pod{pod("p", "x", "100m", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a"}}}}},
			}}}
		})}, map[string]string{"p": "b1"}},
		{"the issue's message", []api.Node{zoned("a1", "a"), zoned("a2", "a"), node("c1", "8", "8Gi", map[string]string{"zone": "c"})},
			[]corev1.Pod{pod("p", "x", "5", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} })},
			map[string]string{"p": "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu."}},
		{"anti-affinity per host", three, []corev1.Pod{
			pod("w1", "web", "100m", antiAffinity("web", api.LabelHostname)), pod("w2", "web", "100m", antiAffinity("web", api.LabelHostname)),
			pod("w3", "web", "100m", antiAffinity("web", api.LabelHostname)), pod("w4", "web", "100m", antiAffinity("web", api.LabelHostname)),
		}, map[string]string{"w1": "a1", "w2": "a2", "w3": "b1", "w4": "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."}},
		{"existing pods' anti-affinity", three, []corev1.Pod{
			pod("solo", "solo", "100m", antiAffinity("noisy", "zone")), pod("noisy", "noisy", "100m"),
		}, map[string]string{"solo": "a1", "noisy": "b1"}},
		{"pod affinity follows its peer", three, []corev1.Pod{
			pod("db", "db", "100m", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{api.LabelHostname: "a2"} }),
			pod("cache", "cache", "100m", func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: api.LabelHostname,
				}}}}
			}),
		}, map[string]string{"db": "a2", "cache": "a2"}},
		{"host ports", []api.Node{zoned("a1", "a")}, []corev1.Pod{
			pod("p1", "x", "100m", withHostPort(8080)), pod("p2", "x", "100m", withHostPort(8080)), pod("p3", "x", "100m", withHostPort(9090)),
		}, map[string]string{"p1": "a1", "p2": "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.", "p3": "a1"}},
		{"too many pods", []api.Node{func() api.Node { n := zoned("a1", "a"); n.MaxPods = 1; return n }()},
			[]corev1.Pod{pod("p1", "x", "100m"), pod("p2", "x", "100m")},
			map[string]string{"p1": "a1", "p2": "0/1 nodes are available: 1 Too many pods."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := placements(tc.nodes, tc.pods...)
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("%s: got %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

func withHostPort(port int32) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: port, HostPort: port, Protocol: corev1.ProtocolTCP}}
	}
}

func TestTopologySpread(t *testing.T) {
	nodes := []api.Node{zoned("a1", "a"), zoned("a2", "a"), zoned("b1", "b")}
	var pods []corev1.Pod
	for i := range 5 {
		pods = append(pods, pod(fmt.Sprintf("p%d", i), "web", "100m", func(s *corev1.PodSpec) {
			s.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone",
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		}))
	}
	got := placements(nodes, pods...)
	perZone := map[string]int{}
	for _, n := range got {
		perZone[map[string]string{"a1": "a", "a2": "a", "b1": "b"}[n]]++
	}
	if perZone["a"] != 3 || perZone["b"] != 2 {
		t.Fatalf("per zone %v (placements %v); want a 3, b 2", perZone, got)
	}
}

func TestSchedulerScores(t *testing.T) {
	tainted := zoned("a1", "a")
	tainted.Taints = []corev1.Taint{{Key: "old", Effect: corev1.TaintEffectPreferNoSchedule}}
	if got := placements([]api.Node{tainted, zoned("b1", "b")}, pod("p", "x", "100m")); got["p"] != "b1" {
		t.Errorf("PreferNoSchedule: placed on %s", got["p"])
	}
	preferB := pod("p", "x", "100m", func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 50, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}}},
		}}}}
	})
	if got := placements([]api.Node{zoned("a1", "a"), zoned("b1", "b")}, preferB); got["p"] != "b1" {
		t.Errorf("preferred node affinity: placed on %s", got["p"])
	}
	// A Deployment's replicas spread over equal nodes.
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{zoned("a1", "a"), zoned("a2", "a"), zoned("b1", "b")},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 6, "a")}}})
	if m := perNode(in); m["a1"] != 2 || m["a2"] != 2 || m["b1"] != 2 {
		t.Errorf("6 replicas on 3 nodes: %v", m)
	}
	// Spreading wins over the emptier node: a big node and a small one
	// each get one of two replicas.
	in = run(t, Input{Commit: "c1", Nodes: []api.Node{node("big", "64", "64Gi", nil), node("small", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 2, "a")}}})
	if m := perNode(in); m["big"] != 1 || m["small"] != 1 {
		t.Errorf("2 replicas on a big and a small node: %v", m)
	}
}

// TestDrainEvictsAndReplaces drains a node from Git (cordon plus a
// NoExecute taint): its pods are evicted and placed on the other node; a
// pod that tolerates the taint for 60 s stays that long.
func TestDrainEvictsAndReplaces(t *testing.T) {
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil), node("n2", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 4, "a")}}})
	patient := deploy("patient", 1, "a")
	secs := int64(60)
	patient.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "drain", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs}}
	patient.Spec.Template.Spec.NodeSelector = map[string]string{"pin": "n1"}
	in.Nodes[0].Labels = map[string]string{"pin": "n1"}
	in.Desired.Deployments = append(in.Desired.Deployments, patient)
	in = run(t, in)
	added := metav1.NewTime(now)
	in.Desired.Nodes = []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Unschedulable: true,
		Taints: []corev1.Taint{{Key: "drain", Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}}}}}
	plan := Reconcile(in, now)
	evicted := map[string]bool{}
	for _, k := range plan.Delete {
		evicted[k] = true
	}
	for _, p := range in.Pods {
		onN1 := p.Spec.NodeName == "n1"
		isPatient := p.Labels["app"] == "patient"
		if evicted[api.PodKey(&p)] != (onN1 && !isPatient) {
			t.Errorf("pod %s on %s (patient %v): evicted %v", p.Name, p.Spec.NodeName, isPatient, evicted[api.PodKey(&p)])
		}
	}
	in = run(t, in)
	if m := perNode(in); m["n1"] != 1 || m["n2"] != 4 {
		t.Fatalf("after the drain: %v", m)
	}
	for i := range in.Nodes {
		in.Nodes[i].LastHeartbeat = now.Add(61 * time.Second) // still Ready
	}
	plan = Reconcile(in, now.Add(61*time.Second))
	if len(plan.Delete) != 1 || !strings.HasPrefix(plan.Delete[0], "default/patient-") {
		t.Fatalf("after tolerationSeconds: deletes %v; want the patient pod", plan.Delete)
	}
}

// TestPendingPodsBoundTogetherKeepAntiAffinity binds pods that already
// exist, Pending, in one pass: the pass must see where it put each one
// (the input's pods keep an empty nodeName).
func TestPendingPodsBoundTogetherKeepAntiAffinity(t *testing.T) {
	pods := []corev1.Pod{pod("w1", "web", "100m", antiAffinity("web", api.LabelHostname)), pod("w2", "web", "100m", antiAffinity("web", api.LabelHostname))}
	in := Input{Commit: "c1", Desired: &api.ObjectSet{Pods: pods}}
	in = Play(in, Reconcile(in, now), now) // no node yet: Pending
	in.Nodes = []api.Node{zoned("a1", "a"), zoned("a2", "a")}
	plan := Reconcile(in, now)
	if len(plan.Bind) != 2 || plan.Bind[0].Node == plan.Bind[1].Node {
		t.Fatalf("bindings %+v", plan.Bind)
	}
}

// TestDeletedNodeLosesItsPods: the pods of a node that is no longer
// registered (an operator deleted it) are deleted at once, as Kubernetes'
// pod garbage collector does, and placed again on the node that is left.
func TestDeletedNodeLosesItsPods(t *testing.T) {
	in := run(t, Input{Commit: "c1", Nodes: []api.Node{node("n1", "4", "4Gi", nil), node("n2", "4", "4Gi", nil)},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{deploy("web", 4, "a")}}})
	onN2 := perNode(in)["n2"]
	if onN2 == 0 {
		t.Fatalf("no pod on n2: %v", perNode(in))
	}
	in.Nodes = in.Nodes[:1]
	plan := Reconcile(in, now)
	if len(plan.Delete) != onN2 {
		t.Fatalf("deletes %v; want the %d pods of n2", plan.Delete, onN2)
	}
	in = run(t, in)
	if m := perNode(in); m["n1"] != 4 || m["n2"] != 0 {
		t.Fatalf("after n2 was deleted: %v; want all 4 pods on n1", m)
	}
}
