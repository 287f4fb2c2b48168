package keyring

import (
	"fmt"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// SealedAnnotation marks a stored Secret whose values are sealed, naming
// the data key. Masters set it; a Secret without it holds plaintext (one
// stored before its cluster had a data key).
const SealedAnnotation = "berth.dev/sealed-by"

// SealedBy is the ID of the data key that sealed a Secret ("" for none).
func SealedBy(s *corev1.Secret) string { return s.Annotations[SealedAnnotation] }

// valueAAD binds a value to its Secret and key.
func valueAAD(s *corev1.Secret, key string) string { return s.Namespace + "/" + s.Name + "/" + key }

// SealSecret returns a copy of a plaintext Secret with every value sealed
// under d.
func SealSecret(d DataKey, s *corev1.Secret) corev1.Secret {
	out := *s
	out.Annotations = maps.Clone(s.Annotations)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[SealedAnnotation] = d.ID
	out.Data = make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		out.Data[k] = d.Seal(valueAAD(s, k), v)
	}
	out.StringData = nil // merged into Data by decoding
	return out
}

// OpenSecret returns a plaintext copy of a stored Secret; a Secret that is
// not sealed comes back as it is.
func OpenSecret(key func(id string) (DataKey, error), s *corev1.Secret) (corev1.Secret, error) {
	id := SealedBy(s)
	if id == "" {
		return *s, nil
	}
	d, err := key(id)
	if err != nil {
		return corev1.Secret{}, err
	}
	out := *s
	out.Annotations = maps.Clone(s.Annotations)
	delete(out.Annotations, SealedAnnotation)
	out.Data = make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		plain, err := d.Open(valueAAD(s, k), v)
		if err != nil {
			return corev1.Secret{}, fmt.Errorf("secret %s/%s, key %q: %w", s.Namespace, s.Name, k, err)
		}
		out.Data[k] = plain
	}
	return out, nil
}

// Ring holds the cluster's data keys, unwrapped once each with the KEK.
type Ring struct {
	kek  KEK
	mu   sync.Mutex
	keys map[string]DataKey
}

// NewRing is an empty ring for a KEK.
func NewRing(kek KEK) *Ring { return &Ring{kek: kek, keys: map[string]DataKey{}} }

// KEK is the ring's key-encryption key.
func (r *Ring) KEK() KEK { return r.kek }

// Key is the data key of an ID, unwrapped from wrapped on first use.
func (r *Ring) Key(id string, wrapped []byte) (DataKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.keys[id]; ok {
		return d, nil
	}
	d, err := r.kek.Unwrap(id, wrapped)
	if err != nil {
		return DataKey{}, err
	}
	r.keys[id] = d
	return d, nil
}
