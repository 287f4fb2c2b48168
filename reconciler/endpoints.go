package reconciler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/api"
)

// ServiceEndpoints returns the Endpoints of every Service of the set, as
// Kubernetes' endpoints controller makes them: for a Service with a
// selector, the matching pods that have an address and are not
// terminating or finished, ready ones under addresses and the others
// under notReadyAddresses, grouped into subsets by their resolved ports.
// A Service without a selector has the Endpoints written in Git, if any.
// (Pass the pods through MarkPodsNotReady, so that the pods of a dead node
// are not ready endpoints.)
func ServiceEndpoints(set *api.ObjectSet, pods []corev1.Pod) []corev1.Endpoints {
	if set == nil {
		return nil
	}
	given := map[string]*corev1.Endpoints{}
	for i := range set.Endpoints {
		e := &set.Endpoints[i]
		given[api.Key(e.Namespace, e.Name)] = e
	}
	out := []corev1.Endpoints{}
	for i := range set.Services {
		s := &set.Services[i]
		if s.Spec.Type == corev1.ServiceTypeExternalName {
			continue // no endpoints: the cluster DNS answers with a CNAME
		}
		if len(s.Spec.Selector) == 0 {
			if e := given[api.Key(s.Namespace, s.Name)]; e != nil {
				out = append(out, *e.DeepCopy())
			}
			continue
		}
		out = append(out, endpointsOf(s, pods))
	}
	for i := range set.Endpoints { // Endpoints without a Service
		e := &set.Endpoints[i]
		if !slices.ContainsFunc(set.Services, func(s corev1.Service) bool { return s.Namespace == e.Namespace && s.Name == e.Name }) {
			out = append(out, *e.DeepCopy())
		}
	}
	return out
}

// endpointsOf computes the Endpoints of a Service with a selector.
func endpointsOf(s *corev1.Service, pods []corev1.Pod) corev1.Endpoints {
	e := corev1.Endpoints{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels},
		Subsets:    []corev1.EndpointSubset{},
	}
	sel := labels.SelectorFromSet(s.Spec.Selector)
	bySig := map[string]*corev1.EndpointSubset{}
	var order []string
	for i := range pods {
		p := &pods[i]
		if p.Namespace != s.Namespace || !sel.Matches(labels.Set(p.Labels)) || !serving(p) {
			continue
		}
		ports := resolvePorts(s, p)
		if len(ports) == 0 {
			continue
		}
		sig := portsSignature(ports)
		sub := bySig[sig]
		if sub == nil {
			sub = &corev1.EndpointSubset{Ports: ports}
			bySig[sig] = sub
			order = append(order, sig)
		}
		addr := corev1.EndpointAddress{IP: p.Status.PodIP, NodeName: nodeNameOf(p),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}}
		if p.Spec.Hostname != "" && p.Spec.Subdomain == s.Name { // its DNS name: HOSTNAME.SERVICE
			addr.Hostname = p.Spec.Hostname
		}
		if s.Spec.PublishNotReadyAddresses || (p.Status.Phase == corev1.PodRunning && PodReady(p)) {
			sub.Addresses = append(sub.Addresses, addr)
		} else {
			sub.NotReadyAddresses = append(sub.NotReadyAddresses, addr)
		}
	}
	slices.Sort(order)
	for _, sig := range order {
		sub := bySig[sig]
		slices.SortFunc(sub.Addresses, byAddress)
		slices.SortFunc(sub.NotReadyAddresses, byAddress)
		e.Subsets = append(e.Subsets, *sub)
	}
	return e
}

// serving reports whether a pod may be an endpoint at all: it has an
// address, is not being deleted, and has not finished.
func serving(p *corev1.Pod) bool {
	return p.Status.PodIP != "" && p.DeletionTimestamp == nil &&
		p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func nodeNameOf(p *corev1.Pod) *string {
	if p.Spec.NodeName == "" {
		return nil
	}
	n := p.Spec.NodeName
	return &n
}

// resolvePorts turns the Service's target ports into the pod's ports: a
// number is taken as it is, a name is looked up among the pod's container
// ports of the same protocol (a port the pod lacks is left out).
func resolvePorts(s *corev1.Service, p *corev1.Pod) []corev1.EndpointPort {
	var out []corev1.EndpointPort
	for _, sp := range s.Spec.Ports {
		port, ok := targetPortOf(sp, p)
		if ok {
			out = append(out, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
		}
	}
	return out
}

func targetPortOf(sp corev1.ServicePort, p *corev1.Pod) (int32, bool) {
	if sp.TargetPort.Type == intstr.Int {
		return sp.TargetPort.IntVal, sp.TargetPort.IntVal != 0
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			proto := cmp.Or(cp.Protocol, corev1.ProtocolTCP)
			if cp.Name == sp.TargetPort.StrVal && proto == sp.Protocol {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

func portsSignature(ports []corev1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s=%d/%s", p.Name, p.Port, p.Protocol)
	}
	return strings.Join(parts, ",")
}

func byAddress(a, b corev1.EndpointAddress) int {
	return cmp.Or(cmp.Compare(a.IP, b.IP), cmp.Compare(a.TargetRef.Name, b.TargetRef.Name))
}
