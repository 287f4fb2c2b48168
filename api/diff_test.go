package api

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deployment(name string, replicas int32, image string) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}},
	}
}

func TestSummarizeAndFieldDiff(t *testing.T) {
	prev := &ObjectSet{Deployments: []appsv1.Deployment{deployment("web", 2, "a:1"), deployment("old", 1, "b")}}
	next := &ObjectSet{Deployments: []appsv1.Deployment{deployment("web", 3, "a:2"), deployment("new", 1, "b")},
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}}
	sum := Summarize(prev, next)
	want := &Summary{Added: []string{"Deployment/default/new", "Namespace/shop"}, Changed: []string{"Deployment/default/web"}, Removed: []string{"Deployment/default/old"}}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	got := FieldDiff(prev, next)
	wantDiff := []FieldChange{
		{Object: "Deployment/default/new", New: "(added)"},
		{Object: "Deployment/default/old", Old: "(removed)"},
		{Object: "Deployment/default/web", Field: "spec.replicas", Old: "2", New: "3"},
		{Object: "Deployment/default/web", Field: "spec.template.spec.containers[0].image", Old: `"a:1"`, New: `"a:2"`},
		{Object: "Namespace/shop", New: "(added)"},
	}
	if !reflect.DeepEqual(got, wantDiff) {
		t.Errorf("diff %+v\nwant %+v", got, wantDiff)
	}
	if d := FieldDiff(prev, prev); len(d) != 0 {
		t.Errorf("a revision differs from itself: %+v", d)
	}
}

// TestFieldDiffRedactsSecrets: a Secret's changed value shows as changed,
// never as itself.
func TestFieldDiffRedactsSecrets(t *testing.T) {
	secret := func(v string) *ObjectSet {
		return &ObjectSet{Secrets: []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", Labels: map[string]string{"v": v}},
			Data: map[string][]byte{"password": []byte("sentinel-" + v)}}}}
	}
	changes := FieldDiff(secret("1"), secret("2"))
	if len(changes) != 2 {
		t.Fatalf("changes: %+v", changes)
	}
	for _, c := range changes {
		if c.Field == "data.password" && (c.Old != Redacted || c.New != Redacted) {
			t.Errorf("a Secret value shows: %+v", c)
		}
		if c.Field == "metadata.labels.v" && (c.Old != `"1"` || c.New != `"2"`) {
			t.Errorf("a Secret's label is hidden: %+v", c)
		}
	}
}
