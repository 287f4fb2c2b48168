package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// refIndex holds the keys of every ConfigMap and Secret of a commit, by
// "namespace/name", to check the references pods make to them.
type refIndex struct {
	configMaps, secrets map[string]map[string]bool
}

func newRefIndex(objs []*object) *refIndex {
	r := &refIndex{configMaps: map[string]map[string]bool{}, secrets: map[string]map[string]bool{}}
	for _, o := range objs {
		keys := map[string]bool{}
		switch v := o.value.(type) {
		case *corev1.ConfigMap:
			for k := range v.Data {
				keys[k] = true
			}
			for k := range v.BinaryData {
				keys[k] = true
			}
			r.configMaps[v.Namespace+"/"+v.Name] = keys
		case *corev1.Secret:
			for k := range v.Data {
				keys[k] = true
			}
			r.secrets[v.Namespace+"/"+v.Name] = keys
		}
	}
	return r
}

// check returns the references of an object's pod spec to ConfigMaps,
// Secrets or keys that the commit does not hold and that are not optional.
func (r *refIndex) check(o *object) []*fieldError {
	spec, field := podSpecOf(o.value)
	if spec == nil {
		return nil
	}
	return r.checkSpec(o.meta.Namespace, spec, field)
}

func (r *refIndex) checkSpec(ns string, s *corev1.PodSpec, field string) []*fieldError {
	var fes []*fieldError
	ref := func(kind string, index map[string]map[string]bool, name, key string, optional *bool, f string) {
		if optional != nil && *optional {
			return
		}
		keys, ok := index[ns+"/"+name]
		switch {
		case !ok:
			fes = append(fes, &fieldError{f, fmt.Sprintf("%s %s/%s is not in this commit (mark the reference optional: true if it may be missing)", kind, ns, name)})
		case key != "" && !keys[key]:
			fes = append(fes, &fieldError{f, fmt.Sprintf("%s %s/%s has no key %q", kind, ns, name, key)})
		}
	}
	for i, c := range allContainers(s) {
		cf := containerField(s, field, i)
		for j, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			ef := fmt.Sprintf("%s.env[%d].valueFrom", cf, j)
			if k := e.ValueFrom.ConfigMapKeyRef; k != nil {
				ref("ConfigMap", r.configMaps, k.Name, k.Key, k.Optional, ef+".configMapKeyRef")
			}
			if k := e.ValueFrom.SecretKeyRef; k != nil {
				ref("Secret", r.secrets, k.Name, k.Key, k.Optional, ef+".secretKeyRef")
			}
		}
		for j, e := range c.EnvFrom {
			ef := fmt.Sprintf("%s.envFrom[%d]", cf, j)
			if e.ConfigMapRef != nil {
				ref("ConfigMap", r.configMaps, e.ConfigMapRef.Name, "", e.ConfigMapRef.Optional, ef+".configMapRef")
			}
			if e.SecretRef != nil {
				ref("Secret", r.secrets, e.SecretRef.Name, "", e.SecretRef.Optional, ef+".secretRef")
			}
		}
	}
	for i, v := range s.Volumes {
		vf := fmt.Sprintf("%s.volumes[%d]", field, i)
		if cm := v.ConfigMap; cm != nil {
			ref("ConfigMap", r.configMaps, cm.Name, "", cm.Optional, vf+".configMap")
			for j, it := range cm.Items {
				if _, ok := r.configMaps[ns+"/"+cm.Name]; ok {
					ref("ConfigMap", r.configMaps, cm.Name, it.Key, cm.Optional, fmt.Sprintf("%s.configMap.items[%d].key", vf, j))
				}
			}
		}
		if p := v.Projected; p != nil {
			for j, src := range p.Sources {
				sf := fmt.Sprintf("%s.projected.sources[%d]", vf, j)
				if cm := src.ConfigMap; cm != nil {
					ref("ConfigMap", r.configMaps, cm.Name, "", cm.Optional, sf+".configMap")
				}
				if sec := src.Secret; sec != nil {
					ref("Secret", r.secrets, sec.Name, "", sec.Optional, sf+".secret")
				}
			}
		}
		if sec := v.Secret; sec != nil {
			ref("Secret", r.secrets, sec.SecretName, "", sec.Optional, vf+".secret")
			for j, it := range sec.Items {
				if _, ok := r.secrets[ns+"/"+sec.SecretName]; ok {
					ref("Secret", r.secrets, sec.SecretName, it.Key, sec.Optional, fmt.Sprintf("%s.secret.items[%d].key", vf, j))
				}
			}
		}
	}
	return fes
}
