//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// storageRepo is two claims (one of the built-in local-path class,
// reclaim policy Delete; one of a Retain class of the same provisioner)
// and, when pod is set, a pod that mounts both.
func storageRepo(pod string) map[string]string {
	files := map[string]string{"claims.yaml": `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: rancher.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: notes}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: archive}
spec:
  storageClassName: keep
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
`}
	files["pod.yaml"] = "" // deleted
	if pod != "" {
		files["pod.yaml"] = fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: kubia:v1
    imagePullPolicy: Never
    args: ["-listen", "127.0.0.1:0"]
    volumeMounts:
    - {name: notes, mountPath: /notes}
    - {name: archive, mountPath: /archive}
  volumes:
  - {name: notes, persistentVolumeClaim: {claimName: notes}}
  - {name: archive, persistentVolumeClaim: {claimName: archive}}
`, pod)
	}
	return files
}

// volumes lists the cluster's PersistentVolumes through kubectl.
func (c *cluster) volumes() map[string]corev1.PersistentVolume {
	c.t.Helper()
	out := c.mustKubectl(nil, "get", "pv", "-o", "json")
	var l corev1.PersistentVolumeList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		c.t.Fatalf("kubectl get pv -o json: %v", err)
	}
	byClaim := map[string]corev1.PersistentVolume{}
	for _, v := range l.Items {
		if r := v.Spec.ClaimRef; r != nil {
			byClaim[r.Name] = v
		}
	}
	return byClaim
}

// TestClaimOutlivesItsPod writes into two claims from a pod, deletes the
// pod in one commit and reads the files from a new pod in the next; then
// removes the claims: the Delete volume's folder goes once its pod is
// gone, the Retain one's stays, Released.
func TestClaimOutlivesItsPod(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("claims and a writer", storageRepo("writer")), 0)
	c.execUntil("writer", "app", nil, "sh", "-c", "echo kept > /notes/note && echo old > /archive/note")
	c.mustKubectl([]string{"notes", "Bound", "64Mi", "RWO", "local-path", "archive", "keep"}, "get", "pvc")
	// The agent made each folder a 64 MiB filesystem: the size holds.
	testutil.Await(t, 30*time.Second, func() error {
		out, code := c.berth("get", "pvc")
		if code != 0 || strings.Count(out, " enforced\n") != 2 {
			return fmt.Errorf("berth get pvc: exit %d; want both sizes enforced:\n%s", code, out)
		}
		return nil
	})
	c.execUntil("writer", "app", []string{"No space left on device"}, "sh", "-c", "dd if=/dev/zero of=/notes/big bs=1M count=100 2>&1; rm -f /notes/big")
	vols := c.volumes()
	notes, archive := vols["notes"], vols["archive"]
	if notes.Spec.Local == nil || !strings.HasPrefix(notes.Spec.Local.Path, filepath.Join(c.dir, "agent", "volumes", "pvc-")) ||
		filepath.Base(notes.Spec.Local.Path) != notes.Name {
		t.Fatalf("volume of claim notes: %+v", notes.Spec)
	}

	c.waitCommit(c.commit("no pod", storageRepo("")), 0)
	testutil.WaitFor(t, 30*time.Second, "pod writer gone", func() bool { _, ok := c.podsByName()["writer"]; return !ok })
	if v := c.volumes()["notes"]; v.Name != notes.Name || v.Status.Phase != corev1.VolumeBound {
		t.Fatalf("the claim's volume without a pod: %s %s", v.Name, v.Status.Phase)
	}
	c.waitCommit(c.commit("a reader", storageRepo("reader")), 0)
	c.execUntil("reader", "app", []string{"kept", "old"}, "cat", "/notes/note", "/archive/note")

	// The claims leave Git with their pod: the folders stay while the pod
	// terminates; then the Delete volume's folder and record go.
	c.commit("no claims", map[string]string{"claims.yaml": "", "pod.yaml": ""})
	testutil.Await(t, 60*time.Second, func() error {
		_, podLeft := c.podsByName()["reader"]
		_, err := os.Stat(notes.Spec.Local.Path)
		switch {
		case podLeft && err != nil:
			t.Fatalf("the folder of claim notes went while its pod still exists: %v", err)
		case podLeft || err == nil:
			return errors.New("the folder of claim notes is still there")
		}
		return nil
	})
	testutil.WaitFor(t, 30*time.Second, "volume of notes forgotten", func() bool { _, ok := c.volumes()["notes"]; return !ok })
	if _, err := os.Stat(notes.Spec.Local.Path + ".img"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the filesystem image of claim notes is still there: %v", err)
	}
	if v := c.volumes()["archive"]; v.Status.Phase != corev1.VolumeReleased {
		t.Fatalf("the Retain volume of claim archive: %s", v.Status.Phase)
	}
	if data, err := os.ReadFile(filepath.Join(archive.Spec.Local.Path, "note")); err != nil || string(data) != "old\n" {
		t.Fatalf("the Retain volume's file: %q, %v", data, err)
	}
	c.mustKubectl([]string{archive.Name, "Released", "Retain", "default/archive"}, "get", "pv")
}
