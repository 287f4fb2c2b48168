package reconciler

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// storageNode is a node whose agent makes local-path volumes under dir.
func storageNode(name, dir string) api.Node {
	n := node(name, "4", "4Gi", map[string]string{api.LabelHostname: name})
	n.StorageDir = dir
	return n
}

func claim(name, size string, class *string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
}

func withClaim(d appsv1.Deployment, claim string) appsv1.Deployment {
	d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
	return d
}

func volumeOf(in Input, claim string) *corev1.PersistentVolume {
	for i := range in.Volumes {
		if api.ClaimKey(&in.Volumes[i]) == "default/"+claim {
			return &in.Volumes[i]
		}
	}
	return nil
}

// TestLocalPathWaitsForFirstConsumer provisions a claim's folder on the
// node its first pod is scheduled to, keeps every pod of the claim
// there, and deletes the volume only once the claim is gone and no pod
// uses it.
func TestLocalPathWaitsForFirstConsumer(t *testing.T) {
	in := Input{Commit: "c1", Storage: true, Nodes: []api.Node{storageNode("n1", "/d1"), storageNode("n2", "/d2")},
		Desired: &api.ObjectSet{PersistentVolumeClaims: []corev1.PersistentVolumeClaim{claim("data", "1Gi", nil)}}}
	in = run(t, in)
	if len(in.Volumes) != 0 {
		t.Fatalf("a WaitForFirstConsumer claim was bound before any pod: %+v", in.Volumes)
	}
	in.Desired.Deployments = []appsv1.Deployment{withClaim(deploy("web", 3, "a"), "data")}
	in = run(t, in)
	pv := volumeOf(in, "data")
	if pv == nil || pv.Status.Phase != corev1.VolumeBound || pv.Spec.StorageClassName != api.LocalPathClass {
		t.Fatalf("volume %+v", pv)
	}
	home := api.VolumeNode(pv)
	if want := "/d" + home[1:] + "/volumes/" + pv.Name; pv.Spec.Local == nil || pv.Spec.Local.Path != want || !strings.HasPrefix(pv.Name, "pvc-") {
		t.Fatalf("volume %s at %+v, want local path %s", pv.Name, pv.Spec.Local, want)
	}
	for _, p := range in.Pods {
		if p.Spec.NodeName != home {
			t.Errorf("pod %s on %s, its claim's data on %s", p.Name, p.Spec.NodeName, home)
		}
	}
	// The claim leaves Git with the Deployment: the volume is deleted
	// only once the pods are gone.
	in.Desired = &api.ObjectSet{}
	plan := Reconcile(in, now)
	in = record(in, plan, now)
	if v := volumeOf(in, "data"); v.DeletionTimestamp != nil || v.Status.Phase != corev1.VolumeBound {
		t.Fatalf("volume released while its pods terminate: %+v", v.Status)
	}
	in.Pods = nil
	in = run(t, in)
	if v := volumeOf(in, "data"); v == nil || v.DeletionTimestamp == nil || v.Status.Phase != corev1.VolumeReleased {
		t.Fatalf("volume of a deleted claim: %+v", v)
	}
}

// TestStaticVolumesBind binds claims to Git's volumes by the binder's
// rules: an Immediate claim at once, a Retain volume Released and never
// bound again, a Delete static volume Failed, a volume of a
// WaitForFirstConsumer class on the node the pod goes to.
func TestStaticVolumesBind(t *testing.T) {
	none := ""
	small, big := hostVolume("small", "1Gi", corev1.PersistentVolumeReclaimRetain), hostVolume("big", "10Gi", corev1.PersistentVolumeReclaimDelete)
	in := Input{Commit: "c1", Storage: true, Nodes: []api.Node{storageNode("n1", "/d1")},
		Desired: &api.ObjectSet{PersistentVolumes: []corev1.PersistentVolume{small, big},
			PersistentVolumeClaims: []corev1.PersistentVolumeClaim{claim("a", "500Mi", &none), claim("b", "2Gi", &none), claim("c", "20Gi", &none)}}}
	in = run(t, in)
	if v := volumeOf(in, "a"); v == nil || v.Name != "small" {
		t.Fatalf("claim a bound to %+v, want the smallest fit", v)
	}
	if v := volumeOf(in, "b"); v == nil || v.Name != "big" {
		t.Fatalf("claim b bound to %+v", v)
	}
	if v := volumeOf(in, "c"); v != nil {
		t.Fatalf("claim c (20Gi) bound to %s", v.Name)
	}
	in.Desired.PersistentVolumeClaims = []corev1.PersistentVolumeClaim{claim("c", "500Mi", &none)}
	in = run(t, in)
	phases := map[string]corev1.PersistentVolumePhase{}
	for _, v := range in.Volumes {
		phases[v.Name] = v.Status.Phase
	}
	if phases["small"] != corev1.VolumeReleased || phases["big"] != corev1.VolumeFailed || volumeOf(in, "c") != nil && volumeOf(in, "c").Status.Phase == corev1.VolumeBound {
		t.Fatalf("phases %v; a released volume must not bind claim c", phases)
	}
	// Removing a released volume from Git forgets its record; added again,
	// it is Available and binds.
	in.Desired.PersistentVolumes = []corev1.PersistentVolume{big}
	in = run(t, in)
	in.Desired.PersistentVolumes = []corev1.PersistentVolume{small, big}
	in = run(t, in)
	if v := volumeOf(in, "c"); v == nil || v.Name != "small" || v.Status.Phase != corev1.VolumeBound {
		t.Fatalf("claim c: %+v", v)
	}
}

func hostVolume(name, size string, reclaim corev1.PersistentVolumeReclaimPolicy) corev1.PersistentVolume {
	return corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: reclaim,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}},
	}}
}

// TestPodWithoutItsClaimWaits keeps a pod Pending, saying which claim is
// missing.
func TestPodWithoutItsClaimWaits(t *testing.T) {
	in := Input{Commit: "c1", Storage: true, Nodes: []api.Node{storageNode("n1", "/d1")},
		Desired: &api.ObjectSet{Deployments: []appsv1.Deployment{withClaim(deploy("web", 1, "a"), "gone")}}}
	plan := Reconcile(in, now)
	if len(plan.Create) != 1 || plan.Create[0].Spec.NodeName != "" || !strings.Contains(plan.Create[0].Status.Conditions[0].Message, `persistentvolumeclaim "gone" not found`) {
		t.Fatalf("plan %+v", plan.Create)
	}
}

// TestStatefulSetClaimRecords makes a claim per ordinal, keeps it over a
// scale-down (whenScaled Retain) so that the ordinal finds its volume
// again, deletes it when whenScaled is Delete, and adopts the folder of
// a claim from before v0.5.0.
func TestStatefulSetClaimRecords(t *testing.T) {
	s := statefulSet(2, "a", appsv1.ParallelPodManagement)
	s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim("data", "1Gi", nil)}
	in := Input{Commit: "c1", Storage: true, Nodes: []api.Node{storageNode("n1", "/d1"), storageNode("n2", "/d2")},
		Desired: &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{s}}}
	in = run(t, in)
	if len(in.PVCs) != 2 || in.PVCs[1].Name != "data-db-1" || in.PVCs[1].Annotations[api.AnnotationOwner] != "StatefulSet/db" {
		t.Fatalf("claims %+v", in.PVCs)
	}
	first := volumeOf(in, "data-db-1")
	if first == nil {
		t.Fatal("ordinal 1 has no volume")
	}
	scale := func(n int32, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) {
		s.Spec.Replicas = &n
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: whenScaled}
		in.Desired.StatefulSets = []appsv1.StatefulSet{s}
		in = run(t, in)
	}
	scale(1, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	scale(2, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	if v := volumeOf(in, "data-db-1"); v == nil || v.Name != first.Name {
		t.Fatalf("ordinal 1 came back to volume %+v, want %s", v, first.Name)
	}
	scale(1, appsv1.DeletePersistentVolumeClaimRetentionPolicyType)
	if len(in.PVCs) != 1 {
		t.Fatalf("whenScaled Delete kept %d claims", len(in.PVCs))
	}
	if v := volumeOf(in, "data-db-1"); v == nil || v.DeletionTimestamp == nil {
		t.Fatalf("the scaled-away claim's volume is not being deleted: %+v", v)
	}

	// A cluster upgraded from v0.4.0: db-0's data is in n2's claims folder.
	legacy := Input{Commit: "c1", Storage: true, Nodes: []api.Node{storageNode("n1", "/d1"), storageNode("n2", "/d2")},
		Desired: &api.ObjectSet{StatefulSets: []appsv1.StatefulSet{statefulSet(1, "a", appsv1.ParallelPodManagement)}}}
	legacy.Desired.StatefulSets[0].Spec.VolumeClaimTemplates = s.Spec.VolumeClaimTemplates
	legacy.Storage = false
	legacy = run(t, legacy)
	legacy.Claims = map[string]string{"default/data-db-0": "n2"}
	legacy.Storage = true
	legacy = run(t, legacy)
	v := volumeOf(legacy, "data-db-0")
	if v == nil || v.Spec.Local.Path != "/d2/claims/default/data-db-0" || api.VolumeNode(v) != "n2" || v.Annotations[api.AnnotationAdopted] != "true" {
		t.Fatalf("adopted volume %+v", v)
	}
}

// TestReadWriteOncePod lets one pod at a time use a ReadWriteOncePod
// claim: the second replica waits, saying why.
func TestReadWriteOncePod(t *testing.T) {
	c := claim("solo", "1Gi", nil)
	c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}
	in := Input{Commit: "c1", Storage: true, Nodes: []api.Node{storageNode("n1", "/d1")},
		Desired: &api.ObjectSet{PersistentVolumeClaims: []corev1.PersistentVolumeClaim{c},
			Deployments: []appsv1.Deployment{withClaim(deploy("web", 2, "a"), "solo")}}}
	in, _ = step(in, now)
	var bound, waiting int
	for _, p := range in.Pods {
		switch {
		case p.Spec.NodeName != "":
			bound++
		case strings.Contains(p.Status.Conditions[0].Message, "ReadWriteOncePod"):
			waiting++
		}
	}
	if bound != 1 || waiting != 1 {
		t.Fatalf("%d pods bound, %d waiting for the ReadWriteOncePod claim; want 1 and 1", bound, waiting)
	}
}
