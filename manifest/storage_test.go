package manifest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// storageApp is a class, a static volume of each source, claims of
// each kind, a pod using one and a StatefulSet whose template volume
// has a claim template's name.
const storageApp = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: rancher.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: disks}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: srv, labels: {tier: fast}}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/data, type: DirectoryOrCreate}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: disk1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: disks
  persistentVolumeReclaimPolicy: Delete
  local: {path: /mnt/disk1}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [n1]}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: notes}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static}
spec:
  storageClassName: ""
  volumeName: srv
  selector: {matchLabels: {tier: fast}}
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  containers:
  - name: app
    image: kubia:v1
    volumeMounts: [{name: notes, mountPath: /notes}]
  volumes:
  - {name: notes, persistentVolumeClaim: {claimName: notes}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: kubia:v1
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - {name: data, emptyDir: {}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: keep
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`

// TestStorageDecodes takes the storage kinds, fills in the apiserver's
// defaults, and lets a claim template replace the template's volume of
// the same name, as Kubernetes does.
func TestStorageDecodes(t *testing.T) {
	set := decodeOne(t, storageApp)
	if len(set.StorageClasses) != 2 || len(set.PersistentVolumes) != 2 || len(set.PersistentVolumeClaims) != 2 {
		t.Fatalf("%d classes, %d volumes, %d claims", len(set.StorageClasses), len(set.PersistentVolumes), len(set.PersistentVolumeClaims))
	}
	if p := set.PersistentVolumes[0].Spec.PersistentVolumeReclaimPolicy; p != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("a static volume's default reclaim policy: %s", p)
	}
	if r := set.StatefulSets[0].Spec.PersistentVolumeClaimRetentionPolicy; r.WhenDeleted != "Retain" || r.WhenScaled != "Delete" {
		t.Errorf("retention policy %+v", r)
	}
}

// Bad storage objects are refused with the field and the reason.
func TestStorageErrors(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"provisioner: rancher.io/local-path", "provisioner: ebs.csi.aws.com", `StorageClass/keep: provisioner: "ebs.csi.aws.com" not supported by berth`},
		{"reclaimPolicy: Retain", "reclaimPolicy: Recycle", `reclaimPolicy: unsupported value "Recycle" (Delete or Retain)`},
		{"reclaimPolicy: Retain\nvolumeBindingMode: WaitForFirstConsumer", "reclaimPolicy: Retain", "StorageClass/keep: volumeBindingMode: must be WaitForFirstConsumer"},
		{"capacity: {storage: 5Gi}", "capacity: {}", "PersistentVolume/srv: spec.capacity.storage: required"},
		{"hostPath: {path: /srv/data, type: DirectoryOrCreate}", "nfs: {server: a, path: /x}", "PersistentVolume/srv: spec.nfs: not supported by berth"},
		{"hostPath: {path: /srv/data, type: DirectoryOrCreate}", "hostPath: {path: srv}", `PersistentVolume/srv: spec.hostPath.path: "srv" must be an absolute path`},
		{"  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [n1]}]\n", "",
			"PersistentVolume/disk1: spec.nodeAffinity: required: a local volume is on one node"},
		{"persistentVolumeReclaimPolicy: Delete", "persistentVolumeReclaimPolicy: Recycle", `spec.persistentVolumeReclaimPolicy: unsupported value "Recycle"`},
		{"operator: In, values: [n1]", "operator: Gt, values: [n1]", `spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].operator: unsupported value "Gt"`},
		{"metadata: {name: notes}\nspec:\n  accessModes: [ReadWriteOnce]", "metadata: {name: notes}\nspec:\n  accessModes: [ReadWriteMany]",
			`PersistentVolumeClaim/default/notes: spec.accessModes[0]: "ReadWriteMany" not supported by berth: volumes are folders on one node`},
		{"  resources: {requests: {storage: 1Gi}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim", "  resources: {}\n---\napiVersion: v1\nkind: PersistentVolumeClaim",
			"PersistentVolumeClaim/default/notes: spec.resources.requests.storage: required"},
		{"volumeName: srv", "volumeName: nope", `PersistentVolumeClaim/default/static: spec.volumeName: PersistentVolume "nope" is not in this commit`},
		{"storageClassName: keep", "storageClassName: fast", `spec.volumeClaimTemplates[0].spec.storageClassName: StorageClass "fast" is not in this commit (nor built in: local-path)`},
		{"claimName: notes}", "claimName: gone}", "Pod/default/writer: spec.volumes[0].persistentVolumeClaim.claimName: PersistentVolumeClaim default/gone is not in this commit"},
		{"whenScaled: Delete", "whenScaled: Keep", `spec.persistentVolumeClaimRetentionPolicy.whenScaled: unsupported value "Keep" (Retain or Delete)`},
		{"  - metadata: {name: data}\n    spec:", "  - metadata: {name: data}\n    spec:\n      volumeName: srv", "spec.volumeClaimTemplates[0].spec.volumeName: a claim template may not name a volume"},
	} {
		expectMutationError(t, storageApp, tc.from, tc.to, tc.want)
	}
}
