package keyring

import (
	"bytes"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSealAndOpenSecrets(t *testing.T) {
	kek, _ := NewKEK()
	d, _ := NewDataKey()
	ring := NewRing(kek)
	wrapped := kek.Wrap(d)
	if bytes.Contains(wrapped, d.Key[:]) {
		t.Fatal("the wrapped key holds the key")
	}
	lookup := func(id string) (DataKey, error) { return ring.Key(id, wrapped) }
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"}, Data: map[string][]byte{"password": []byte("sentinel")}}
	sealed := SealSecret(d, s)
	if bytes.Contains(sealed.Data["password"], []byte("sentinel")) || SealedBy(&sealed) != d.ID || s.Annotations != nil {
		t.Fatalf("sealed: %+v (original %+v)", sealed, s)
	}
	back, err := OpenSecret(lookup, &sealed)
	if err != nil || string(back.Data["password"]) != "sentinel" || SealedBy(&back) != "" {
		t.Fatalf("OpenSecret = %+v, %v", back, err)
	}
	moved := sealed
	moved.Name = "other" // the same ciphertext under another name
	if _, err := OpenSecret(lookup, &moved); !errors.Is(err, ErrOpen) {
		t.Errorf("a value moved to another Secret opened: %v", err)
	}
	other, _ := NewKEK()
	if _, err := other.Unwrap(d.ID, wrapped); err == nil {
		t.Error("a data key opened with another KEK")
	}
	if _, err := kek.Unwrap("kother", wrapped); err == nil {
		t.Error("a data key opened under another ID")
	}
	plain := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Data: map[string][]byte{"k": []byte("v")}}
	if back, err := OpenSecret(lookup, &plain); err != nil || string(back.Data["k"]) != "v" {
		t.Errorf("a plaintext Secret: %+v, %v", back, err)
	}
}

func TestParseKEK(t *testing.T) {
	k, _ := NewKEK()
	back, err := ParseKEK(k.String() + "\n")
	if err != nil || back != k {
		t.Fatalf("ParseKEK(String()) = %v, %v", back, err)
	}
	for _, bad := range []string{"", "zz", k.String()[:10]} {
		if _, err := ParseKEK(bad); err == nil {
			t.Errorf("ParseKEK(%q) accepted", bad)
		}
	}
}
