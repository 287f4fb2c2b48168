package node

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestProjectedVolume(t *testing.T) {
	dir := t.TempDir()
	yes, mode := true, int32(0o600)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p", Labels: map[string]string{"app": "web"}}}
	p := &corev1.ProjectedVolumeSource{DefaultMode: &mode, Sources: []corev1.VolumeProjection{
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
			Items: []corev1.KeyToPath{{Key: "greeting", Path: "conf/greeting"}}}},
		{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
		{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: &yes}},
		{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}},
	}}
	if err := writeProjected(dir, pod, p, testConfig(), addresses{host: "10.0.0.1", pod: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"conf/greeting": "hello", "user": "root", "labels": `app="web"`} {
		data, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil || string(data) != want {
			t.Errorf("%s: %q, %v; want %q", path, data, err, want)
		}
		if fi, _ := os.Stat(filepath.Join(dir, path)); fi == nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, fi.Mode())
		}
	}
	p.Sources[2].Secret.Optional = nil
	if err := writeProjected(dir, pod, p, testConfig(), addresses{host: "10.0.0.1", pod: "10.0.0.1"}); err == nil || err.Error() != `projected Secret "absent" not found` {
		t.Errorf("a missing source that is not optional: %v", err)
	}
}
