package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCheckHostPath(t *testing.T) {
	root := t.TempDir()
	dirOrCreate, file := corev1.HostPathDirectoryOrCreate, corev1.HostPathFile
	for _, tc := range []struct {
		name string
		h    corev1.HostPathVolumeSource
		want string // "" for success, else a substring of the error
	}{ // in order: the created folder is used below
		{"outside the prefix", corev1.HostPathVolumeSource{Path: "/etc"}, "not under a path this node allows"},
		{"prefix trick", corev1.HostPathVolumeSource{Path: root + "x"}, "not under a path"},
		{"created dir", corev1.HostPathVolumeSource{Path: root + "/new/dir", Type: &dirOrCreate}, ""},
		{"missing file", corev1.HostPathVolumeSource{Path: root + "/nofile", Type: &file}, "no such file"},
		{"dir is not a file", corev1.HostPathVolumeSource{Path: root + "/new", Type: &file}, "is not a File"},
	} {
		name := tc.name
		err := checkHostPath(&tc.h, []string{root})
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if fi, err := os.Stat(root + "/new/dir"); err != nil || !fi.IsDir() {
		t.Error("DirectoryOrCreate did not create the folder")
	}
}

func TestDownwardAPIVolumeAndSubPath(t *testing.T) {
	dir := t.TempDir()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "meta/name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			}}}}}}}
	vols, err := prepareVolumes(dir, pod, testConfig(), nodeInfo{})
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := os.ReadFile(filepath.Join(vols["info"], "labels"))
	name, _ := os.ReadFile(filepath.Join(vols["info"], "meta", "name"))
	if string(labels) != "a=\"1\"\nb=\"2\"" || string(name) != "web-1" {
		t.Errorf("labels %q name %q", labels, name)
	}
	mounts, err := mountsFor(&corev1.Container{VolumeMounts: []corev1.VolumeMount{{Name: "info", MountPath: "/m", SubPath: "meta"}}}, vols)
	if err != nil || mounts[0].Source != filepath.Join(vols["info"], "meta") {
		t.Errorf("subPath mount %+v, %v", mounts, err)
	}
}
