package master

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
)

// The service table's TLS keys go to agents; anyone else reads them
// redacted, and the cached table keeps them.
func TestServiceTableRedactsTLSSecrets(t *testing.T) {
	table := &api.ServiceTable{IngressSecrets: []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop-tls"},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: []byte("cert"), corev1.TLSPrivateKeyKey: []byte("key")}}}}
	if got := forCaller(table, true); string(got.IngressSecrets[0].Data[corev1.TLSPrivateKeyKey]) != "key" {
		t.Errorf("an agent reads the key as %q", got.IngressSecrets[0].Data[corev1.TLSPrivateKeyKey])
	}
	viewer := forCaller(table, false)
	for k, v := range viewer.IngressSecrets[0].Data {
		if len(v) != 0 {
			t.Errorf("a viewer reads %s: %q", k, v)
		}
	}
	if string(table.IngressSecrets[0].Data[corev1.TLSPrivateKeyKey]) != "key" {
		t.Error("redacting for a viewer changed the cached table")
	}
}
