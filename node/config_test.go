package node

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

func testConfig() *configSet {
	return newConfigSet(&api.Assignments{
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "settings"},
			Data: map[string]string{"greeting": "hello", "b": "2"}, BinaryData: map[string][]byte{"bin": {0, 1}}}},
		Secrets: []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "creds"},
			Data: map[string][]byte{"user": []byte("root")}}},
	})
}

func TestResolveEnv(t *testing.T) {
	yes := true
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}}
	c := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}},
		Env: []corev1.EnvVar{
			{Name: "PLAIN", Value: "x"},
			{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "greeting"}}},
			{Name: "GONE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k", Optional: &yes}}},
		},
	}
	env, err := resolveEnv(pod, c, testConfig(), nodeInfo{hostIP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"S_user=root", "PLAIN=x", "GREETING=hello"}; !reflect.DeepEqual(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
	c.Env[2].ValueFrom.ConfigMapKeyRef.Optional = nil
	if _, err := resolveEnv(pod, c, testConfig(), nodeInfo{hostIP: "10.0.0.1"}); err == nil || err.Error() != "couldn't find key k in ConfigMap default/absent" {
		t.Errorf("missing required key: %v", err)
	}
}

func TestPrepareVolumes(t *testing.T) {
	dir := t.TempDir()
	mode := int32(0o600)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, DefaultMode: &mode,
			Items: []corev1.KeyToPath{{Key: "greeting", Path: "sub/hello.txt"}}}}},
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}}}
	vols, err := prepareVolumes(dir, pod, testConfig(), nodeInfo{})
	t.Cleanup(func() { unmountVolumes(dir) })
	if err != nil {
		t.Fatal(err)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(vols["creds"], &fs); err != nil || fs.Type != tmpfsMagic {
		t.Errorf("the Secret volume is not a tmpfs (filesystem type %#x, %v): its values would be on the node's disk", fs.Type, err)
	}
	data, err := os.ReadFile(filepath.Join(vols["conf"], "sub", "hello.txt"))
	fi, _ := os.Stat(filepath.Join(vols["conf"], "sub", "hello.txt"))
	if err != nil || string(data) != "hello" || fi.Mode().Perm() != 0o600 {
		t.Errorf("configMap item: %q %v mode %v", data, err, fi.Mode())
	}
	if data, _ := os.ReadFile(filepath.Join(vols["creds"], "user")); string(data) != "root" {
		t.Errorf("secret key: %q", data)
	}
	if fi, err := os.Stat(vols["scratch"]); err != nil || !fi.IsDir() {
		t.Errorf("emptyDir: %v", err)
	}
	// Preparing again keeps the folder (it may be mounted) and drops keys
	// that are gone.
	os.WriteFile(filepath.Join(vols["creds"], "stale"), []byte("x"), 0o644)
	before, _ := os.Stat(vols["creds"])
	if _, err := prepareVolumes(dir, pod, testConfig(), nodeInfo{}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(vols["creds"])
	if !os.SameFile(before, after) {
		t.Error("the volume folder was replaced")
	}
	if _, err := os.Stat(filepath.Join(vols["creds"], "stale")); !os.IsNotExist(err) {
		t.Error("a stale key's file was kept")
	}
}

func TestDownwardAPIAndExpansion(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "u-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "n1"}}
	c := &corev1.Container{
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}},
		Env: []corev1.EnvVar{
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu"}}},
			{Name: "CPU_LIMIT_M", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "URL", Value: "http://$(IP)/$(POD)/$(NOPE)/$$(POD)"},
		},
	}
	env, err := resolveEnv(pod, c, testConfig(), nodeInfo{hostIP: "10.0.0.1", cpu: resource.MustParse("2"), memory: resource.MustParse("1Gi")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"POD=web-1", "APP=web", "IP=10.0.0.1", "MEM_MI=64", "CPU=1", "CPU_LIMIT_M=2000", "URL=http://10.0.0.1/web-1/$(NOPE)/$(POD)"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env %q\nwant %q", env, want)
	}
	if got := expand("$(A)$(A) $ $$ $(", map[string]string{"A": "x"}); got != "xx $ $ $(" {
		t.Errorf("expand: %q", got)
	}
}

// tmpfsMagic is the filesystem type statfs reports for a tmpfs.
const tmpfsMagic = 0x01021994
