package ui

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

func treePod(name, owner, hash, commit string, ready bool) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name,
		Annotations: map[string]string{api.AnnotationOwner: owner, api.AnnotationCommit: commit},
		Labels:      map[string]string{api.LabelPodTemplateHash: hash}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
}

// A Deployment in the middle of a rollout shows its pods under two
// ReplicaSets, mixed; one revision's pods past podsShown are counted,
// not listed; pods of no workload of Git come last.
func TestWorkloadTree(t *testing.T) {
	three := int32(3)
	c := &Cluster{Deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: &three}}}}
	c.Pods = append(c.Pods, treePod("web-old-1", "Deployment/web", "old", "c1", true), treePod("web-new-1", "Deployment/web", "new", "c2", false),
		treePod("lonely", "Pod/lonely", "", "c2", true))
	for i := range podsShown + 5 {
		c.Pods = append(c.Pods, treePod(fmt.Sprintf("web-new-x%02d", i), "Deployment/web", "new", "c2", true))
	}
	c.Pods = append(c.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "elsewhere"}})
	tree := workloadTree(c, "default")
	if len(tree) != 2 || tree[0].Name != "web" || tree[1].Kind != "Pods" {
		t.Fatalf("tree %+v", tree)
	}
	web := tree[0]
	if !web.Mixed || len(web.Revisions) != 2 || web.Ready != podsShown+6 {
		t.Fatalf("web: mixed %v, %d revisions, %d ready", web.Mixed, len(web.Revisions), web.Ready)
	}
	for _, r := range web.Revisions {
		switch r.Name {
		case "web-new":
			if len(r.Pods) != podsShown || r.More != 6 {
				t.Errorf("revision web-new lists %d pods and counts %d more; want %d and 6", len(r.Pods), r.More, podsShown)
			}
		case "web-old":
			if len(r.Pods) != 1 || r.Pods[0].Commit != "c1" {
				t.Errorf("revision web-old: %+v", r.Pods)
			}
		default:
			t.Errorf("revision %q", r.Name)
		}
	}
	if rows := namespaceRows(c); len(rows) != 2 || rows[0].Name != "default" || rows[0].Pods != podsShown+8 || rows[0].Workloads != 1 {
		t.Errorf("namespaces %+v", rows)
	}
}
