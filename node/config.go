package node

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-dev/berth/api"
)

// configSet is the ConfigMaps and Secrets of the node's pods, by
// "namespace/name", as the last assignment gave them.
type configSet struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	// volumes are the volumes bound to the pods' claims, by claim key.
	volumes map[string]*corev1.PersistentVolume
}

func newConfigSet(as *api.Assignments) *configSet {
	c := &configSet{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, volumes: claimVolumes(as.Volumes)}
	for i := range as.ConfigMaps {
		cm := &as.ConfigMaps[i]
		c.configMaps[api.Key(cm.Namespace, cm.Name)] = cm
	}
	for i := range as.Secrets {
		s := &as.Secrets[i]
		c.secrets[api.Key(s.Namespace, s.Name)] = s
	}
	return c
}

// equal tells whether two sets hold the same ConfigMaps and Secrets.
func (c *configSet) equal(o *configSet) bool {
	return sameObjects(c.configMaps, o.configMaps) && sameObjects(c.secrets, o.secrets) && sameObjects(c.volumes, o.volumes)
}

func sameObjects[T any](a, b map[string]*T) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// data returns the keys of a ConfigMap or Secret, or false when it is not
// there.
func (c *configSet) data(kind, ns, name string) (map[string][]byte, bool) {
	if kind == "Secret" {
		s, ok := c.secrets[api.Key(ns, name)]
		if !ok {
			return nil, false
		}
		return s.Data, true
	}
	cm, ok := c.configMaps[api.Key(ns, name)]
	if !ok {
		return nil, false
	}
	out := map[string][]byte{}
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		out[k] = v
	}
	return out, true
}

// configError is a container's config that cannot be resolved; the kubelet
// shows it as CreateContainerConfigError.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func optional(b *bool) bool { return b != nil && *b }

// addresses are a pod's, for the downward API: its node's and its own.
type addresses struct{ host, pod string }

// ips are the node's and the pod's addresses.
func (n nodeInfo) ips() addresses { return addresses{host: n.hostIP, pod: cmp.Or(n.podIP, n.hostIP)} }

// nodeInfo is what the downward API may ask of the node, and what the
// node allows.
type nodeInfo struct {
	// hostIP is the node's address; podIP the pod's own, or the node's
	// for a pod in the node's network.
	hostIP, podIP string
	cpu, memory   resource.Quantity
	// services are the cluster's Services, for the pods' service links.
	services []corev1.Service
	// hostPaths are the prefixes hostPath volumes may use (--allow-host-path).
	hostPaths []string
	// claimsDir holds the data of StatefulSet claims, one folder per
	// claim, kept when pods go (releases before v0.5.0); dataDir is the
	// agent's data folder, where it provisions local-path volumes.
	claimsDir, dataDir string
	// localVolume sets up a local-path volume's folder (nil: a plain
	// folder).
	localVolume func(pv *corev1.PersistentVolume, dir string) error
}

// resolveEnv builds a container's environment as the kubelet does: envFrom
// first (in order, with prefixes), then env, later names overriding; env
// values expand $(NAME) of the names before them and of the Services'
// variables, which come last unless a name of the container's own is the
// same.
func resolveEnv(pod *corev1.Pod, c *corev1.Container, cfg *configSet, node nodeInfo) ([]string, error) {
	var env []string
	links := serviceLinks(pod, node.services)
	vars := map[string]string{}
	for k, v := range links {
		vars[k] = v
	}
	own := map[string]bool{}
	set := func(name, value string) {
		env = append(env, name+"="+value)
		vars[name] = value
		own[name] = true
	}
	for _, from := range c.EnvFrom {
		kind, name, opt := "ConfigMap", "", false
		if from.ConfigMapRef != nil {
			name, opt = from.ConfigMapRef.Name, optional(from.ConfigMapRef.Optional)
		} else if from.SecretRef != nil {
			kind, name, opt = "Secret", from.SecretRef.Name, optional(from.SecretRef.Optional)
		}
		data, ok := cfg.data(kind, pod.Namespace, name)
		if !ok && !opt {
			return nil, &configError{fmt.Sprintf("%s %q not found", kind, name)}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.Prefix+k, string(data[k]))
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			set(e.Name, expand(e.Value, vars))
			continue
		case e.ValueFrom.FieldRef != nil:
			v, err := fieldValue(pod, node.ips(), e.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return nil, &configError{err.Error()}
			}
			set(e.Name, v)
			continue
		case e.ValueFrom.ResourceFieldRef != nil:
			v, err := resourceValue(c, e.ValueFrom.ResourceFieldRef, node.cpu, node.memory)
			if err != nil {
				return nil, &configError{err.Error()}
			}
			set(e.Name, v)
			continue
		}
		kind, name, key, opt := "ConfigMap", "", "", false
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			name, key, opt = r.Name, r.Key, optional(r.Optional)
		} else if r := e.ValueFrom.SecretKeyRef; r != nil {
			kind, name, key, opt = "Secret", r.Name, r.Key, optional(r.Optional)
		}
		data, ok := cfg.data(kind, pod.Namespace, name)
		v, has := data[key]
		switch {
		case ok && has:
			set(e.Name, string(v))
		case !opt:
			return nil, &configError{fmt.Sprintf("couldn't find key %s in %s %s/%s", key, kind, pod.Namespace, name)}
		}
	}
	return appendLinks(env, links, own), nil
}

// appendLinks adds the service variables the container does not set
// itself, in name order.
func appendLinks(env []string, links map[string]string, own map[string]bool) []string {
	names := make([]string, 0, len(links))
	for k := range links {
		if !own[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		env = append(env, k+"="+links[k])
	}
	return env
}

// prepareVolumes makes the pod's volumes on the host, under the pod's
// folder: an emptyDir is a folder that lives as long as the pod; a
// ConfigMap or Secret volume holds one file per key (or per item), with its
// mode. It returns the folder of each volume.
func prepareVolumes(dir string, pod *corev1.Pod, cfg *configSet, node nodeInfo) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		vdir := filepath.Join(dir, "volumes", v.Name)
		out[v.Name] = vdir
		var kind, name string
		var items []corev1.KeyToPath
		var mode *int32
		var opt *bool
		switch {
		case v.PersistentVolumeClaim != nil:
			cdir, err := claimPath(pod, v.PersistentVolumeClaim.ClaimName, cfg, node)
			if err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			out[v.Name] = cdir
			continue
		case v.HostPath != nil:
			if err := checkHostPath(v.HostPath, node.hostPaths); err != nil {
				return nil, &configError{fmt.Sprintf("volume %q: %v", v.Name, err)}
			}
			out[v.Name] = v.HostPath.Path
			continue
		case v.DownwardAPI != nil:
			if err := writeDownward(vdir, pod, v.DownwardAPI, node.ips()); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			continue
		case v.Projected != nil:
			if projectsSecret(v.Projected) {
				if err := mountSecretTmpfs(vdir); err != nil {
					return nil, fmt.Errorf("volume %q: %w", v.Name, err)
				}
			}
			if err := writeProjected(vdir, pod, v.Projected, cfg, node.ips()); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			continue
		case v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory:
			if err := mountTmpfs(vdir, v.EmptyDir.SizeLimit); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			continue
		case v.ConfigMap != nil:
			kind, name, items, mode, opt = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional
		case v.Secret != nil:
			kind, name, items, mode, opt = "Secret", v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional
		default: // emptyDir
			if err := os.MkdirAll(vdir, 0o777); err != nil {
				return nil, err
			}
			os.Chmod(vdir, 0o777)
			continue
		}
		data, ok := cfg.data(kind, pod.Namespace, name)
		if !ok && !optional(opt) {
			return nil, &configError{fmt.Sprintf("volume %q: %s %q not found", v.Name, kind, name)}
		}
		if kind == "Secret" {
			if err := mountSecretTmpfs(vdir); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
		}
		if err := writeKeys(vdir, data, items, mode); err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		for _, v := range pod.Spec.Volumes {
			if v.HostPath != nil {
				continue // the host's files keep their owners, as in Kubernetes
			}
			name, dir := v.Name, out[v.Name]
			if err := ownByGroup(dir, int(*sc.FSGroup)); err != nil {
				return nil, fmt.Errorf("volume %q: fsGroup: %w", name, err)
			}
		}
	}
	return out, nil
}

// claimDir makes (once) and returns the folder of a claim on this node:
// a StatefulSet ordinal's storage, which outlives its pods, as a
// PersistentVolumeClaim does.
func claimDir(root, ns, claim string) (string, error) {
	if root == "" {
		return "", errors.New("this agent keeps no claims")
	}
	dir := filepath.Join(root, ns, claim)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o777)
}

// ownByGroup gives a volume to the pod's fsGroup, as the kubelet does:
// every file and folder belongs to the group, folders are setgid and
// group-writable, files group-readable.
func ownByGroup(dir string, gid int) error {
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return err
		}
		mode := fi.Mode().Perm() | 0o040
		if fi.IsDir() {
			return os.Chmod(p, mode|0o070|os.ModeSetgid)
		}
		return os.Chmod(p, mode)
	})
}

// writeKeys writes one file per key into dir, in place: the folder may be
// bind-mounted into running containers, so it is never replaced, each file
// is replaced by a rename, and files of keys that are gone are removed.
func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	keep := map[string]bool{}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			continue // an optional source without the key
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		p := filepath.Join(dir, filepath.FromSlash(it.Path))
		keep[p] = true
		if unchanged(p, v, m) {
			continue
		}
		if err := writeFileAtomic(p, v, m); err != nil {
			return err
		}
	}
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && !keep[p] {
			return os.Remove(p)
		}
		return err
	})
}

// unchanged reports whether the file at p already holds data with mode.
func unchanged(p string, data []byte, mode os.FileMode) bool {
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != mode.Perm() || fi.Size() != int64(len(data)) {
		return false
	}
	old, err := os.ReadFile(p)
	return err == nil && bytes.Equal(old, data)
}

// refreshConfigVolumes rewrites the files of a running pod's ConfigMap and
// Secret volumes from the newest revision, as the kubelet does: a file
// changes by an atomic rename, a key that is gone loses its file. A
// subPath mount, being a single bind-mounted file, keeps what it had, as
// in Kubernetes. A source that is now missing leaves the files as they
// were.
func refreshConfigVolumes(pod *corev1.Pod, volumes map[string]string, cfg *configSet, ips addresses) error {
	for _, v := range pod.Spec.Volumes {
		if v.Projected != nil && volumes[v.Name] != "" {
			if err := writeProjected(volumes[v.Name], pod, v.Projected, cfg, ips); err != nil {
				var ce *configError
				if !errors.As(err, &ce) { // a missing source leaves the files as they were
					return fmt.Errorf("volume %q: %w", v.Name, err)
				}
			}
			if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
				if err := ownByGroup(volumes[v.Name], int(*sc.FSGroup)); err != nil {
					return fmt.Errorf("volume %q: fsGroup: %w", v.Name, err)
				}
			}
			continue
		}
		var kind, name string
		var items []corev1.KeyToPath
		var mode *int32
		switch {
		case v.ConfigMap != nil:
			kind, name, items, mode = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode
		case v.Secret != nil:
			kind, name, items, mode = "Secret", v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode
		default:
			continue
		}
		data, ok := cfg.data(kind, pod.Namespace, name)
		if !ok || volumes[v.Name] == "" {
			continue
		}
		if err := writeKeys(volumes[v.Name], data, items, mode); err != nil {
			return fmt.Errorf("volume %q: %w", v.Name, err)
		}
		if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
			if err := ownByGroup(volumes[v.Name], int(*sc.FSGroup)); err != nil {
				return fmt.Errorf("volume %q: fsGroup: %w", v.Name, err)
			}
		}
	}
	return nil
}

func writeFileAtomic(p string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// mountsFor maps a container's volumeMounts to host folders; a subPath
// mounts a folder (made when missing) or file inside the volume.
func mountsFor(c *corev1.Container, volumes map[string]string) ([]Mount, error) {
	var out []Mount
	for _, m := range c.VolumeMounts {
		src := volumes[m.Name]
		if m.SubPath != "" {
			src = filepath.Join(src, filepath.FromSlash(m.SubPath))
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o777); err != nil {
					return nil, &configError{fmt.Sprintf("subPath %q of volume %q: %v", m.SubPath, m.Name, err)}
				}
			}
		}
		out = append(out, Mount{Source: src, Destination: m.MountPath, ReadOnly: m.ReadOnly})
	}
	return out, nil
}
