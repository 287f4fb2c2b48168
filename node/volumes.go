package node

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// checkHostPath allows a hostPath volume only under a prefix the agent was
// started with (--allow-host-path), and applies its type as the kubelet
// does (DirectoryOrCreate and FileOrCreate make what is missing).
func checkHostPath(h *corev1.HostPathVolumeSource, allowed []string) error {
	p := filepath.Clean(h.Path)
	ok := false
	for _, prefix := range allowed {
		prefix = filepath.Clean(prefix)
		if p == prefix || strings.HasPrefix(p, prefix+string(filepath.Separator)) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("hostPath %s is not under a path this node allows (start the agent with --allow-host-path)", p)
	}
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Stat(p)
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if os.IsNotExist(err) {
			return os.MkdirAll(p, 0o755)
		}
	case corev1.HostPathFileOrCreate:
		if os.IsNotExist(err) {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("hostPath %s: %w", p, err)
	}
	want := map[corev1.HostPathType]func(os.FileMode) bool{
		corev1.HostPathDirectoryOrCreate: os.FileMode.IsDir,
		corev1.HostPathDirectory:         os.FileMode.IsDir,
		corev1.HostPathFileOrCreate:      os.FileMode.IsRegular,
		corev1.HostPathFile:              os.FileMode.IsRegular,
		corev1.HostPathSocket:            func(m os.FileMode) bool { return m&os.ModeSocket != 0 },
		corev1.HostPathCharDev:           func(m os.FileMode) bool { return m&os.ModeCharDevice != 0 },
		corev1.HostPathBlockDev:          func(m os.FileMode) bool { return m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0 },
	}
	if check := want[t]; check != nil && !check(fi.Mode()) {
		return fmt.Errorf("hostPath %s is not a %s", p, t)
	}
	return nil
}

// writeDownward writes a downwardAPI volume: one file per item, a field's
// value, or labels and annotations as key="value" lines.
func writeDownward(dir string, pod *corev1.Pod, d *corev1.DownwardAPIVolumeSource, ips addresses) error {
	values, err := downwardValues(pod, ips, d.Items)
	if err != nil {
		return err
	}
	data := map[string][]byte{}
	var items []corev1.KeyToPath
	for _, it := range d.Items {
		if v, ok := values[it.Path]; ok {
			data[it.Path] = []byte(v)
			items = append(items, corev1.KeyToPath{Key: it.Path, Path: it.Path, Mode: it.Mode})
		}
	}
	return writeKeys(dir, data, items, d.DefaultMode)
}

// downwardValues renders the downwardAPI items' field values, by path.
func downwardValues(pod *corev1.Pod, ips addresses, items []corev1.DownwardAPIVolumeFile) (map[string]string, error) {
	out := map[string]string{}
	for _, it := range items {
		if it.FieldRef == nil {
			continue
		}
		switch it.FieldRef.FieldPath {
		case "metadata.labels":
			out[it.Path] = formatMap(pod.Labels)
		case "metadata.annotations":
			out[it.Path] = formatMap(pod.Annotations)
		default:
			v, err := fieldValue(pod, ips, it.FieldRef.FieldPath)
			if err != nil {
				return nil, err
			}
			out[it.Path] = v
		}
	}
	return out, nil
}

// formatMap renders labels or annotations as the kubelet does.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	return b.String()
}

// mountTmpfs makes an emptyDir with medium Memory: a tmpfs on the folder,
// mounted once per pod.
func mountTmpfs(dir string, sizeLimit *resource.Quantity) error {
	return mountTmpfsMode(dir, sizeLimit, "1777")
}

// mountSecretTmpfs puts a volume that holds Secret values on a tmpfs, as
// the kubelet does: no Secret value is written to the node's disk.
func mountSecretTmpfs(dir string) error { return mountTmpfsMode(dir, nil, "0755") }

func mountTmpfsMode(dir string, sizeLimit *resource.Quantity, mode string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if mounted(dir) {
		return nil
	}
	opts := "mode=" + mode
	if sizeLimit != nil && sizeLimit.Value() > 0 {
		opts += fmt.Sprintf(",size=%d", sizeLimit.Value()) // the kernel enforces a memory emptyDir's sizeLimit
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting tmpfs on %s: %w", dir, err)
	}
	return nil
}

// mounted reports whether dir is a mount point (its device differs from
// its parent's).
func mounted(dir string) bool {
	a, err1 := os.Stat(dir)
	b, err2 := os.Stat(filepath.Dir(dir))
	if err1 != nil || err2 != nil {
		return false
	}
	return a.Sys().(*syscall.Stat_t).Dev != b.Sys().(*syscall.Stat_t).Dev
}

// unmountVolumes unmounts the pod's tmpfs volumes before its folder goes.
func unmountVolumes(dir string) {
	entries, _ := os.ReadDir(filepath.Join(dir, "volumes"))
	for _, e := range entries {
		p := filepath.Join(dir, "volumes", e.Name())
		if mounted(p) {
			syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
}

// overLimit returns the first disk emptyDir of the pod whose files use
// more than its sizeLimit, with the kubelet's eviction message; "" when
// none does. (A memory emptyDir is a tmpfs of that size: the kernel
// refuses writes beyond it.)
func overLimit(pod *corev1.Pod, volumes map[string]string) string {
	for _, v := range pod.Spec.Volumes {
		e := v.EmptyDir
		if e == nil || e.SizeLimit == nil || e.Medium == corev1.StorageMediumMemory || volumes[v.Name] == "" {
			continue
		}
		if du(volumes[v.Name]) > e.SizeLimit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, e.SizeLimit.String())
		}
	}
	return ""
}

// du sums the sizes of the files under dir.
func du(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
