package master

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

func TestDeploymentEventsComeFromTheirReplicaSets(t *testing.T) {
	yes := true
	rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: &yes}}}}
	at := time.Unix(1700000000, 0)
	ref := corev1.ObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "default", Name: "web-abc"}
	events := []corev1.Event{
		api.NewEvent(ref, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: web-abc-1", "replicaset-controller", "", at),
		api.NewEvent(ref, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: web-abc-2", "replicaset-controller", "", at),
		api.NewEvent(ref, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: web-old-1", "replicaset-controller", "", at),
		api.NewEvent(corev1.ObjectReference{Kind: "ReplicaSet", Namespace: "default", Name: "lone"}, corev1.EventTypeNormal,
			"SuccessfulCreate", "Created pod: lone-1", "replicaset-controller", "", at),
	}
	got := deploymentEvents(events, []appsv1.ReplicaSet{rs})
	if len(got) != 3 {
		t.Fatalf("%d Deployment events from 3 of its ReplicaSet's and one of a lone ReplicaSet's: %+v", len(got), got)
	}
	if e := got[0]; e.InvolvedObject.Kind != "Deployment" || e.InvolvedObject.Name != "web" || e.Reason != "ScalingReplicaSet" ||
		e.Message != "Scaled up replica set web-abc (created pod web-abc-1)" || e.Source.Component != "deployment-controller" {
		t.Errorf("first: %+v", e)
	}
	if e := got[2]; !strings.HasPrefix(e.Message, "Scaled down replica set web-abc (deleted pod web-old-1)") {
		t.Errorf("a deletion: %q", e.Message)
	}
	named := uniqueNames(append(events, got...))
	seen := map[string]bool{}
	for _, e := range named {
		if seen[e.Name] {
			t.Errorf("two events named %s", e.Name)
		}
		seen[e.Name] = true
	}
}
