package raftstore

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// goldenAfter adds to the scenario of every release what the releases
// since v0.0.0 brought: the newest format turned on and a master's
// release recorded (v0.1.0); a node's pod CIDR (v0.2.0); volumes,
// claims and node conditions (v0.5.0, goldenStorage).
func goldenAfter(t *testing.T, s *Store) {
	t.Helper()
	m := api.Member{Name: "m0", RaftAddr: s.RaftAddr(), APIAddr: "127.0.0.1:7070", Version: api.Version, Format: Format}
	if on, err := s.EnableFormat([]api.Member{m}); err != nil || on != Format {
		t.Fatalf("EnableFormat: %d, %v", on, err)
	}
	m.APIAddr = "127.0.0.1:7080"
	if _, err := s.RecordMember(m); err != nil {
		t.Fatal(err)
	}
	cidrs := &api.Plan{PodCIDRs: []api.PodCIDR{{Node: "n1", CIDR: "10.244.0.0/24"}, {Node: "n2", CIDR: "10.244.1.0/24"}}}
	if _, err := s.ApplyPlan(cidrs, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterNode(&api.Registration{Name: "n3", Address: "10.0.0.3:10250"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveNode("n3"); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tok := range []api.Token{{TokenInfo: api.TokenInfo{ID: "abc123", Role: api.RoleAgent, Created: created}, SecretHash: strings.Repeat("ab", 32)},
		{TokenInfo: api.TokenInfo{ID: "def456", Role: api.RoleViewer, Expires: created.Add(time.Hour), Created: created, Description: "auditor"}, SecretHash: strings.Repeat("cd", 32)}} {
		if err := s.AddToken(&tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeToken("def456"); err != nil {
		t.Fatal(err)
	}
	if err := s.PinNode("n1", strings.Repeat("ef", 32)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey(api.WrappedKey{ID: "k000001", Wrapped: []byte("wrapped by the KEK"), Created: created}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reseal(s.View(false).LiveCommit, []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db",
		Annotations: map[string]string{"berth.dev/sealed-by": "k000001"}}, Data: map[string][]byte{"password": []byte("sealed")}}}); err != nil {
		t.Fatal(err)
	}
	goldenStorage(t, s)
}

// goldenStorage is v0.5.0's: a node's storage folder, a StatefulSet's
// claim and its local-path volume, an agent's report of the volume's
// size and of a node condition, and a volume deleted and forgotten.
func goldenStorage(t *testing.T, s *Store) {
	t.Helper()
	at := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	if _, err := s.RegisterNode(&api.Registration{Name: "n2", Address: "10.0.0.2:7072", StorageDir: "/var/lib/berth"}); err != nil {
		t.Fatal(err)
	}
	claim := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data-db-0",
		Annotations: map[string]string{api.AnnotationOwner: "StatefulSet/db"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}}
	pv := corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1", Annotations: map[string]string{api.AnnotationProvisionedBy: api.LocalPathProvisioner}},
		Spec: corev1.PersistentVolumeSpec{StorageClassName: api.LocalPathClass, NodeAffinity: api.PinToNode("n2"),
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/var/lib/berth/volumes/pvc-1"}},
			ClaimRef:               &corev1.ObjectReference{Namespace: "default", Name: "data-db-0"}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	gone := *pv.DeepCopy()
	gone.Name, gone.DeletionTimestamp = "pvc-2", &metav1.Time{Time: at}
	if _, err := s.ApplyPlan(&api.Plan{Claims: []corev1.PersistentVolumeClaim{claim}, Volumes: []corev1.PersistentVolume{pv, gone},
		ForgetVolumes: []string{"pvc-0"}, DeleteClaims: []string{"default/data-db-9"}}, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReportStatus(&api.StatusBatch{Node: "n2", VolumesDeleted: []string{"pvc-2"},
		Volumes:    []api.VolumeReport{{Name: "pvc-1", SizeEnforced: true}},
		Conditions: []corev1.NodeCondition{{Type: api.NodeIngressPortsBound, Status: corev1.ConditionFalse, Reason: "IngressPortUnavailable", Message: "port 80: in use"}}}); err != nil {
		t.Fatal(err)
	}
	v := s.View(false)
	if len(v.Volumes) != 1 || v.Volumes[0].Annotations[api.AnnotationSizeEnforced] != "true" || len(v.PVCs) != 1 {
		t.Fatalf("golden storage: volumes %+v, claims %d", v.Volumes, len(v.PVCs))
	}
}

// TestGoldenReleases decodes the entries and the snapshot that each
// release wrote (testdata/golden/RELEASE) with this code: replaying the
// entries must give the very state that release's snapshot holds, so a
// master of this release applies an older master's log as it did.
func TestGoldenReleases(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/v*")
	if len(dirs) == 0 {
		t.Fatal("no golden releases in testdata/golden")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			replayed, types := replayGolden(t, dir)
			data, err := os.Open(filepath.Join(dir, "snapshot.json"))
			if err != nil {
				t.Fatal(err)
			}
			restored := bareFSM(Release{})
			if err := restored.Restore(data); err != nil {
				t.Fatalf("restoring %s's snapshot: %v", filepath.Base(dir), err)
			}
			got, want := replayed.state.clone().digest(), restored.state.clone().digest()
			if got != want {
				t.Errorf("replaying %s's entries gives state %s; its snapshot holds %s", filepath.Base(dir), got[:12], want[:12])
			}
			if restored.state.LiveCommit != "c1c1c1" || len(restored.state.Pods) == 0 || len(restored.state.Log) != 3 {
				t.Errorf("restored state: live %q, %d pods, %d log entries", restored.state.LiveCommit, len(restored.state.Pods), len(restored.state.Log))
			}
			if filepath.Base(dir) == api.Version {
				checkEveryType(t, types, "testdata/golden/"+api.Version)
			}
		})
	}
	if strings.Contains(api.Version, "-") {
		return // between releases (v0.2.0-dev): written when it is cut
	}
	if _, err := os.Stat(filepath.Join("testdata/golden", api.Version)); err != nil {
		t.Errorf("no golden entries of this release, %s: write them (testdata/golden/README.md)", api.Version)
	}
}

// TestGoldenScenarioHasEveryType: the scenario the golden entries of the
// next release will be written from has an entry of every type this code
// knows (a new type needs one in goldenAfter).
func TestGoldenScenarioHasEveryType(t *testing.T) {
	s := mustStore(t, t.TempDir(), freeAddr(t))
	defer s.Close()
	goldenScenario(t, s)
	goldenAfter(t, s)
	types := map[MessageType]bool{}
	first, _ := s.bolt.FirstIndex()
	last, _ := s.bolt.LastIndex()
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.bolt.GetLog(i, &l); err == nil && l.Type == raft.LogCommand {
			types[MessageType(l.Data[0])] = true
		}
	}
	checkEveryType(t, types, "the golden scenario")
}

// checkEveryType fails for each entry type of this code's format that
// types lacks.
func checkEveryType(t *testing.T, types map[MessageType]bool, where string) {
	t.Helper()
	for typ, k := range entryKinds {
		if k.format <= Format && !types[typ] {
			t.Errorf("no entry of type %d (%s) in %s: add one to goldenAfter (testdata/golden/README.md)", typ, k.name, where)
		}
	}
}

// newestGolden is the folder of the newest release with golden entries.
func newestGolden(t testing.TB) string {
	dirs, _ := filepath.Glob("testdata/golden/v*")
	if len(dirs) == 0 {
		t.Fatal("no golden releases in testdata/golden")
	}
	sort.Slice(dirs, func(i, j int) bool { return api.NewerVersion(filepath.Base(dirs[i]), filepath.Base(dirs[j])) })
	return dirs[0]
}

// replayGolden applies a release's golden entries in order, at their
// indexes, and returns the FSM and the entry types it saw.
func replayGolden(t *testing.T, dir string) (*fsm, map[MessageType]bool) {
	t.Helper()
	f, types := bareFSM(Release{}), map[MessageType]bool{}
	for _, l := range goldenLog(t, dir) {
		types[MessageType(l.Data[0])] = true
		if resp := f.Apply(l); resp != nil {
			if err, ok := resp.(error); ok && errors.Is(err, ErrHalted) {
				t.Fatalf("entry %d of %s: %v", l.Index, dir, err)
			}
		}
	}
	return f, types
}

// goldenLog reads a release's golden entries as Raft logs, in order.
func goldenLog(t testing.TB, dir string) []*raft.Log {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "entries", "*.entry"))
	if len(files) == 0 {
		t.Fatalf("no entries in %s", dir)
	}
	sort.Strings(files)
	var logs []*raft.Log
	for _, file := range files {
		index, err := strconv.ParseUint(strings.SplitN(filepath.Base(file), "-", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: the name must start with the entry's index", file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data})
	}
	return logs
}
