package manifest

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// maxDataBytes is the most a ConfigMap or Secret may hold, as in
// Kubernetes (1 MiB).
const maxDataBytes = corev1.MaxSecretSize

// defaultMode is the file mode of projected keys, as in Kubernetes (0644).
const defaultMode = int32(corev1.ConfigMapVolumeSourceDefaultMode)

func validateConfigMap(cm *corev1.ConfigMap) []*fieldError {
	fes := validateName("ConfigMap", &cm.ObjectMeta, true)
	size := 0
	for k, v := range cm.Data {
		fes = append(fes, validateKey("data", k)...)
		if _, dup := cm.BinaryData[k]; dup {
			fes = append(fes, &fieldError{"data", fmt.Sprintf("key %q is also in binaryData", k)})
		}
		size += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		fes = append(fes, validateKey("binaryData", k)...)
		size += len(k) + len(v)
	}
	if size > maxDataBytes {
		fes = append(fes, &fieldError{"data", fmt.Sprintf("holds %d bytes, over the limit of %d", size, maxDataBytes)})
	}
	return fes
}

// defaultSecret merges stringData into data (stringData wins) and sets the
// type to Opaque, as the API server does on write.
func defaultSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// secretRequiredKeys are the keys Kubernetes requires of typed secrets.
var secretRequiredKeys = map[corev1.SecretType][]string{
	corev1.SecretTypeTLS:              {corev1.TLSCertKey, corev1.TLSPrivateKeyKey},
	corev1.SecretTypeDockerConfigJson: {corev1.DockerConfigJsonKey},
	corev1.SecretTypeSSHAuth:          {corev1.SSHAuthPrivateKey},
}

func validateSecret(s *corev1.Secret) []*fieldError {
	fes := validateName("Secret", &s.ObjectMeta, true)
	size := 0
	for k, v := range s.Data {
		fes = append(fes, validateKey("data", k)...)
		size += len(k) + len(v)
	}
	if size > maxDataBytes {
		fes = append(fes, &fieldError{"data", fmt.Sprintf("holds %d bytes, over the limit of %d", size, maxDataBytes)})
	}
	for _, k := range secretRequiredKeys[s.Type] {
		if _, ok := s.Data[k]; !ok {
			fes = append(fes, &fieldError{"data", fmt.Sprintf("a secret of type %s needs the key %q", s.Type, k)})
		}
	}
	return fes
}

func validateKey(field, key string) []*fieldError {
	var fes []*fieldError
	for _, msg := range validation.IsConfigMapKey(key) {
		fes = append(fes, &fieldError{field, fmt.Sprintf("key %q: %s", key, msg)})
	}
	return fes
}

// defaultVolumes makes a volume with no source an emptyDir and fills in the
// default file modes, as Kubernetes does.
func defaultVolumes(s *corev1.PodSpec) {
	for i := range s.Volumes {
		v := &s.Volumes[i].VolumeSource
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.DefaultMode == nil {
				m := defaultMode
				v.ConfigMap.DefaultMode = &m
			}
		case v.Secret != nil:
			if v.Secret.DefaultMode == nil {
				m := defaultMode
				v.Secret.DefaultMode = &m
			}
		case v.DownwardAPI != nil:
			if v.DownwardAPI.DefaultMode == nil {
				m := defaultMode
				v.DownwardAPI.DefaultMode = &m
			}
		case v.Projected != nil:
			if v.Projected.DefaultMode == nil {
				m := defaultMode
				v.Projected.DefaultMode = &m
			}
		case v.EmptyDir == nil && v.HostPath == nil && v.PersistentVolumeClaim == nil:
			v.EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
	}
}

// validateVolumes checks the pod's volumes and every container's mounts.
func validateVolumes(s *corev1.PodSpec, field string) []*fieldError {
	var fes []*fieldError
	names := map[string]bool{}
	for i, v := range s.Volumes {
		vf := fmt.Sprintf("%s.volumes[%d]", field, i)
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			fes = append(fes, &fieldError{vf + ".name", fmt.Sprintf("%q: %s", v.Name, msg)})
		}
		if names[v.Name] {
			fes = append(fes, &fieldError{vf + ".name", fmt.Sprintf("duplicate volume name %q", v.Name)})
		}
		names[v.Name] = true
		sources := 0
		for _, set := range []bool{v.EmptyDir != nil, v.ConfigMap != nil, v.Secret != nil, v.HostPath != nil, v.DownwardAPI != nil, v.Projected != nil,
			v.PersistentVolumeClaim != nil} {
			if set {
				sources++
			}
		}
		if sources > 1 {
			fes = append(fes, &fieldError{vf, "may not specify more than 1 volume type"})
		}
		switch {
		case v.EmptyDir != nil:
			if m := v.EmptyDir.Medium; m != corev1.StorageMediumDefault && m != corev1.StorageMediumMemory {
				fes = append(fes, &fieldError{vf + ".emptyDir.medium", fmt.Sprintf("%q not supported by berth (\"\" or \"Memory\")", m)})
			}
		case v.HostPath != nil:
			if !path.IsAbs(v.HostPath.Path) {
				fes = append(fes, &fieldError{vf + ".hostPath.path", fmt.Sprintf("%q must be an absolute path", v.HostPath.Path)})
			}
			if t := v.HostPath.Type; t != nil && !hostPathTypes[*t] {
				fes = append(fes, &fieldError{vf + ".hostPath.type", fmt.Sprintf("unsupported value %q", *t)})
			}
		case v.DownwardAPI != nil:
			fes = append(fes, validateDownwardItems(v.DownwardAPI, vf+".downwardAPI")...)
		case v.Projected != nil:
			fes = append(fes, validateProjected(v.Projected, vf+".projected")...)
		case v.ConfigMap != nil:
			if v.ConfigMap.Name == "" {
				fes = append(fes, &fieldError{vf + ".configMap.name", "required"})
			}
			fes = append(fes, validateItems(v.ConfigMap.Items, v.ConfigMap.DefaultMode, vf+".configMap")...)
		case v.Secret != nil:
			if v.Secret.SecretName == "" {
				fes = append(fes, &fieldError{vf + ".secret.secretName", "required"})
			}
			fes = append(fes, validateItems(v.Secret.Items, v.Secret.DefaultMode, vf+".secret")...)
		case v.PersistentVolumeClaim != nil:
			for _, msg := range validation.IsDNS1123Subdomain(v.PersistentVolumeClaim.ClaimName) {
				fes = append(fes, &fieldError{vf + ".persistentVolumeClaim.claimName", fmt.Sprintf("%q: %s", v.PersistentVolumeClaim.ClaimName, msg)})
			}
		}
	}
	for i, c := range allContainers(s) {
		paths := map[string]bool{}
		for j, m := range c.VolumeMounts {
			mf := fmt.Sprintf("%s.volumeMounts[%d]", containerField(s, field, i), j)
			if !names[m.Name] {
				fes = append(fes, &fieldError{mf + ".name", fmt.Sprintf("no volume named %q in the pod", m.Name)})
			}
			if !path.IsAbs(m.MountPath) {
				fes = append(fes, &fieldError{mf + ".mountPath", fmt.Sprintf("%q must be an absolute path", m.MountPath)})
			}
			if sp := m.SubPath; sp != "" && (path.IsAbs(sp) || strings.HasPrefix(path.Clean(sp), "..")) {
				fes = append(fes, &fieldError{mf + ".subPath", fmt.Sprintf("%q must be a relative path without '..'", sp)})
			}
			if paths[m.MountPath] {
				fes = append(fes, &fieldError{mf + ".mountPath", fmt.Sprintf("%q is mounted twice", m.MountPath)})
			}
			paths[m.MountPath] = true
		}
	}
	return fes
}

func validateItems(items []corev1.KeyToPath, mode *int32, field string) []*fieldError {
	var fes []*fieldError
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		fes = append(fes, &fieldError{field + ".defaultMode", fmt.Sprintf("%#o must be a number between 0 and 0777", *mode)})
	}
	for i, it := range items {
		f := fmt.Sprintf("%s.items[%d]", field, i)
		fes = append(fes, validateKey(f+".key", it.Key)...)
		if it.Path == "" || path.IsAbs(it.Path) || strings.HasPrefix(path.Clean(it.Path), "..") {
			fes = append(fes, &fieldError{f + ".path", fmt.Sprintf("%q must be a relative path without '..'", it.Path)})
		}
		if it.Mode != nil && (*it.Mode < 0 || *it.Mode > 0o777) {
			fes = append(fes, &fieldError{f + ".mode", fmt.Sprintf("%#o must be a number between 0 and 0777", *it.Mode)})
		}
	}
	return fes
}

// validateEnvSources checks env valueFrom and envFrom.
func validateEnvSources(c *corev1.Container, cf string) []*fieldError {
	var fes []*fieldError
	for j, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		ef := fmt.Sprintf("%s.env[%d]", cf, j)
		if e.Value != "" {
			fes = append(fes, &fieldError{ef + ".valueFrom", "may not be set when `value` is not empty"})
		}
		cm, sec := e.ValueFrom.ConfigMapKeyRef, e.ValueFrom.SecretKeyRef
		sources := 0
		for _, set := range []bool{cm != nil, sec != nil, e.ValueFrom.FieldRef != nil, e.ValueFrom.ResourceFieldRef != nil} {
			if set {
				sources++
			}
		}
		switch {
		case sources > 1:
			fes = append(fes, &fieldError{ef + ".valueFrom", "may not have more than one field specified at a time"})
		case e.ValueFrom.FieldRef != nil:
			fes = append(fes, validateFieldRef(e.ValueFrom.FieldRef.FieldPath, ef+".valueFrom.fieldRef.fieldPath")...)
		case e.ValueFrom.ResourceFieldRef != nil:
			r := e.ValueFrom.ResourceFieldRef
			if r.ContainerName != "" && r.ContainerName != c.Name {
				fes = append(fes, &fieldError{ef + ".valueFrom.resourceFieldRef.containerName", "not supported by berth (only the container itself)"})
			}
			if !supportedResourceRefs[r.Resource] {
				fes = append(fes, &fieldError{ef + ".valueFrom.resourceFieldRef.resource", fmt.Sprintf("unsupported value %q: supported values: \"limits.cpu\", \"limits.memory\", \"requests.cpu\", \"requests.memory\"", r.Resource)})
			}
			if r.Divisor.Sign() < 0 {
				fes = append(fes, &fieldError{ef + ".valueFrom.resourceFieldRef.divisor", "must be positive"})
			}
		case cm != nil:
			fes = append(fes, refFields(cm.Name, cm.Key, ef+".valueFrom.configMapKeyRef")...)
		case sec != nil:
			fes = append(fes, refFields(sec.Name, sec.Key, ef+".valueFrom.secretKeyRef")...)
		default:
			fes = append(fes, &fieldError{ef + ".valueFrom", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"})
		}
	}
	for j, e := range c.EnvFrom {
		ef := fmt.Sprintf("%s.envFrom[%d]", cf, j)
		if (e.ConfigMapRef == nil) == (e.SecretRef == nil) {
			fes = append(fes, &fieldError{ef, "must specify exactly one of: `configMapRef` or `secretRef`"})
		}
		if e.ConfigMapRef != nil && e.ConfigMapRef.Name == "" || e.SecretRef != nil && e.SecretRef.Name == "" {
			fes = append(fes, &fieldError{ef, "name is required"})
		}
	}
	return fes
}

func refFields(name, key, field string) []*fieldError {
	var fes []*fieldError
	if name == "" {
		fes = append(fes, &fieldError{field + ".name", "required"})
	}
	if key == "" {
		fes = append(fes, &fieldError{field + ".key", "required"})
	} else {
		fes = append(fes, validateKey(field+".key", key)...)
	}
	return fes
}

// allContainers lists init containers, then regular ones.
func allContainers(s *corev1.PodSpec) []corev1.Container {
	return append(append([]corev1.Container{}, s.InitContainers...), s.Containers...)
}

// containerField is the field path of the i-th container of allContainers.
func containerField(s *corev1.PodSpec, field string, i int) string {
	if i < len(s.InitContainers) {
		return fmt.Sprintf("%s.initContainers[%d]", field, i)
	}
	return fmt.Sprintf("%s.containers[%d]", field, i-len(s.InitContainers))
}

var supportedResourceRefs = map[string]bool{"limits.cpu": true, "limits.memory": true, "requests.cpu": true, "requests.memory": true}

// validateFieldRef accepts the downward API fields berth answers.
func validateFieldRef(path, f string) []*fieldError {
	switch path {
	case "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "status.podIP", "status.hostIP":
		return nil
	}
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok && strings.HasSuffix(rest, "']") {
			return nil
		}
	}
	return []*fieldError{{f, fmt.Sprintf("%q not supported by berth (metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'], spec.nodeName, status.podIP, status.hostIP)", path)}}
}

var hostPathTypes = map[corev1.HostPathType]bool{
	corev1.HostPathUnset: true, corev1.HostPathDirectoryOrCreate: true, corev1.HostPathDirectory: true,
	corev1.HostPathFileOrCreate: true, corev1.HostPathFile: true, corev1.HostPathSocket: true,
	corev1.HostPathCharDev: true, corev1.HostPathBlockDev: true,
}

func validateDownwardItems(d *corev1.DownwardAPIVolumeSource, f string) []*fieldError {
	var fes []*fieldError
	if m := d.DefaultMode; m != nil && (*m < 0 || *m > 0o777) {
		fes = append(fes, &fieldError{f + ".defaultMode", fmt.Sprintf("%#o must be a number between 0 and 0777", *m)})
	}
	for i, it := range d.Items {
		itf := fmt.Sprintf("%s.items[%d]", f, i)
		if it.Path == "" || path.IsAbs(it.Path) || strings.HasPrefix(path.Clean(it.Path), "..") {
			fes = append(fes, &fieldError{itf + ".path", fmt.Sprintf("%q must be a relative path without '..'", it.Path)})
		}
		if it.FieldRef == nil {
			fes = append(fes, &fieldError{itf + ".fieldRef", "required (resourceFieldRef is not supported by berth in volumes)"})
			continue
		}
		if p := it.FieldRef.FieldPath; p != "metadata.labels" && p != "metadata.annotations" {
			fes = append(fes, validateFieldRef(p, itf+".fieldRef.fieldPath")...)
		}
	}
	return fes
}

// validateProjected checks a projected volume: one source per entry
// (configMap, secret or downwardAPI), their items, and paths that do not
// collide.
func validateProjected(p *corev1.ProjectedVolumeSource, f string) []*fieldError {
	var fes []*fieldError
	if m := p.DefaultMode; m != nil && (*m < 0 || *m > 0o777) {
		fes = append(fes, &fieldError{f + ".defaultMode", fmt.Sprintf("%#o must be a number between 0 and 0777", *m)})
	}
	paths := map[string]bool{}
	for i, src := range p.Sources {
		sf := fmt.Sprintf("%s.sources[%d]", f, i)
		var items []corev1.KeyToPath
		switch n := countSet(src.ConfigMap != nil, src.Secret != nil, src.DownwardAPI != nil); {
		case n != 1:
			fes = append(fes, &fieldError{sf, "must specify exactly one source: configMap, secret or downwardAPI"})
			continue
		case src.ConfigMap != nil:
			if src.ConfigMap.Name == "" {
				fes = append(fes, &fieldError{sf + ".configMap.name", "required"})
			}
			items = src.ConfigMap.Items
			fes = append(fes, validateItems(items, nil, sf+".configMap")...)
		case src.Secret != nil:
			if src.Secret.Name == "" {
				fes = append(fes, &fieldError{sf + ".secret.name", "required"})
			}
			items = src.Secret.Items
			fes = append(fes, validateItems(items, nil, sf+".secret")...)
		case src.DownwardAPI != nil:
			fes = append(fes, validateDownwardItems(&corev1.DownwardAPIVolumeSource{Items: src.DownwardAPI.Items}, sf+".downwardAPI")...)
			for _, it := range src.DownwardAPI.Items {
				items = append(items, corev1.KeyToPath{Path: it.Path})
			}
		}
		for _, it := range items {
			if paths[it.Path] {
				fes = append(fes, &fieldError{sf, fmt.Sprintf("conflicting duplicate paths: %q", it.Path)})
			}
			paths[it.Path] = true
		}
	}
	return fes
}

func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}
