package reconciler

import (
	"fmt"
	"hash/fnv"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EndpointSliceManager is the managed-by label of the slices berth makes.
const EndpointSliceManager = "berth.dev/endpoints"

// EndpointSlices are the EndpointSlices (discovery.k8s.io/v1) of the
// Endpoints, as Kubernetes computes them beside Endpoints: one slice per
// subset (one set of ports), labelled with its Service, each address an
// endpoint whose ready condition says whether it was ready.
func EndpointSlices(eps []corev1.Endpoints) []discoveryv1.EndpointSlice {
	var out []discoveryv1.EndpointSlice
	for _, e := range eps {
		for _, sub := range e.Subsets {
			s := discoveryv1.EndpointSlice{
				TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
				ObjectMeta: metav1.ObjectMeta{Name: e.Name + "-" + portsHash(sub.Ports), Namespace: e.Namespace,
					Labels: map[string]string{discoveryv1.LabelServiceName: e.Name, discoveryv1.LabelManagedBy: EndpointSliceManager}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   []discoveryv1.Endpoint{},
			}
			for _, p := range sub.Ports {
				s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
			}
			for _, a := range sub.Addresses {
				s.Endpoints = append(s.Endpoints, sliceEndpoint(a, true))
			}
			for _, a := range sub.NotReadyAddresses {
				s.Endpoints = append(s.Endpoints, sliceEndpoint(a, false))
			}
			sort.Slice(s.Endpoints, func(i, j int) bool { return s.Endpoints[i].Addresses[0] < s.Endpoints[j].Addresses[0] })
			out = append(out, s)
		}
	}
	return out
}

func sliceEndpoint(a corev1.EndpointAddress, ready bool) discoveryv1.Endpoint {
	terminating := false
	e := discoveryv1.Endpoint{Addresses: []string{a.IP}, NodeName: a.NodeName, TargetRef: a.TargetRef,
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &ready, Terminating: &terminating}}
	if a.Hostname != "" {
		e.Hostname = &a.Hostname
	}
	return e
}

// portsHash names a subset's slice after its ports.
func portsHash(ports []corev1.EndpointPort) string {
	h := fnv.New32a()
	for _, p := range ports {
		fmt.Fprintf(h, "%s/%d/%s;", p.Name, p.Port, p.Protocol)
	}
	return fmt.Sprintf("%08x", h.Sum32())[:5]
}
