package reconciler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEndpointSlicesMirrorEndpoints: each subset of an Endpoints becomes
// a slice of its Service, with its ports, its ready and not-ready
// addresses as endpoints (hostnames kept), named after its ports.
func TestEndpointSlicesMirrorEndpoints(t *testing.T) {
	node := "n1"
	eps := []corev1.Endpoints{{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"}, Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "10.244.0.6", Hostname: "db-1", NodeName: &node}, {IP: "10.244.0.5", Hostname: "db-0"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.244.0.7"}},
		Ports:             []corev1.EndpointPort{{Name: "mongo", Port: 27017, Protocol: corev1.ProtocolTCP}},
	}}}}
	slices := EndpointSlices(eps)
	if len(slices) != 1 {
		t.Fatalf("%d slices", len(slices))
	}
	s := slices[0]
	if s.Namespace != "shop" || s.Labels[discoveryv1.LabelServiceName] != "db" || s.AddressType != discoveryv1.AddressTypeIPv4 ||
		len(s.Ports) != 1 || *s.Ports[0].Name != "mongo" || *s.Ports[0].Port != 27017 {
		t.Fatalf("slice %+v", s)
	}
	var got []string
	for _, e := range s.Endpoints {
		host := ""
		if e.Hostname != nil {
			host = *e.Hostname
		}
		got = append(got, e.Addresses[0]+"/"+host+"/"+map[bool]string{true: "ready", false: "not-ready"}[*e.Conditions.Ready])
	}
	if want := "[10.244.0.5/db-0/ready 10.244.0.6/db-1/ready 10.244.0.7//not-ready]"; fmt.Sprint(got) != want {
		t.Errorf("endpoints %v; want %s", got, want)
	}
	if again := EndpointSlices(eps); again[0].Name != s.Name || len(s.Name) != len("db-")+5 {
		t.Errorf("slice names %q and %q", s.Name, again[0].Name)
	}
}
