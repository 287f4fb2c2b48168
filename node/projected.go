package node

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// writeProjected writes a projected volume: the files of its ConfigMap,
// Secret and downwardAPI sources together in one folder, each with its
// mode, as the kubelet does. A missing source that is not optional is an
// error; an optional one adds nothing.
// projectsSecret tells whether a projected volume holds a Secret's values.
func projectsSecret(p *corev1.ProjectedVolumeSource) bool {
	for _, src := range p.Sources {
		if src.Secret != nil {
			return true
		}
	}
	return false
}

func writeProjected(dir string, pod *corev1.Pod, p *corev1.ProjectedVolumeSource, cfg *configSet, ips addresses) error {
	data := map[string][]byte{}
	var items []corev1.KeyToPath
	add := func(i int, key, path string, value []byte, mode *int32) {
		k := fmt.Sprintf("%d/%s", i, key) // sources may share key names
		data[k] = value
		items = append(items, corev1.KeyToPath{Key: k, Path: path, Mode: mode})
	}
	for i, src := range p.Sources {
		switch {
		case src.ConfigMap != nil || src.Secret != nil:
			kind, name, list, opt := "ConfigMap", "", []corev1.KeyToPath(nil), (*bool)(nil)
			if src.ConfigMap != nil {
				name, list, opt = src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional
			} else {
				kind, name, list, opt = "Secret", src.Secret.Name, src.Secret.Items, src.Secret.Optional
			}
			values, ok := cfg.data(kind, pod.Namespace, name)
			if !ok {
				if optional(opt) {
					continue
				}
				return &configError{fmt.Sprintf("projected %s %q not found", kind, name)}
			}
			if len(list) == 0 {
				for k := range values {
					list = append(list, corev1.KeyToPath{Key: k, Path: k})
				}
			}
			for _, it := range list {
				v, ok := values[it.Key]
				if !ok && !optional(opt) {
					return &configError{fmt.Sprintf("projected %s %q has no key %q", kind, name, it.Key)}
				}
				if ok {
					add(i, it.Key, it.Path, v, it.Mode)
				}
			}
		case src.DownwardAPI != nil:
			values, err := downwardValues(pod, ips, src.DownwardAPI.Items)
			if err != nil {
				return err
			}
			for _, it := range src.DownwardAPI.Items {
				add(i, it.Path, it.Path, []byte(values[it.Path]), it.Mode)
			}
		}
	}
	if len(items) == 0 {
		data = map[string][]byte{}
	}
	return writeKeys(dir, data, items, p.DefaultMode)
}
