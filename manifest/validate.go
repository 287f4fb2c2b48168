package manifest

import (
	"fmt"
	"net/netip"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/berth-dev/berth/api"
)

// validateObject fills in the defaults of an object, as Kubernetes does,
// and returns every problem with its fields.
func validateObject(o *object, svc api.ServiceNetwork) []*fieldError {
	switch v := o.value.(type) {
	case *corev1.Namespace:
		return validateName("Namespace", &v.ObjectMeta, false)
	case *corev1.Node:
		return append(validateName("Node", &v.ObjectMeta, false), validateTaints(v.Spec.Taints)...)
	case *corev1.ConfigMap:
		defaultMeta(&v.ObjectMeta)
		return validateConfigMap(v)
	case *corev1.Secret:
		defaultMeta(&v.ObjectMeta)
		defaultSecret(v)
		return validateSecret(v)
	case *corev1.Pod:
		defaultMeta(&v.ObjectMeta)
		DefaultPodSpec(&v.Spec)
		return append(validateName("Pod", &v.ObjectMeta, true), validatePodSpec(&v.Spec, "spec")...)
	case *corev1.Service:
		defaultMeta(&v.ObjectMeta)
		defaultService(v)
		return append(validateName("Service", &v.ObjectMeta, true), validateService(v, svc)...)
	case *networkingv1.NetworkPolicy:
		defaultMeta(&v.ObjectMeta)
		defaultNetworkPolicy(v)
		return append(validateName("NetworkPolicy", &v.ObjectMeta, true), validateNetworkPolicy(v)...)
	case *networkingv1.Ingress:
		defaultMeta(&v.ObjectMeta)
		return append(validateName("Ingress", &v.ObjectMeta, true), validateIngress(v)...)
	case *networkingv1.IngressClass:
		return append(validateName("IngressClass", &v.ObjectMeta, false), validateIngressClass(v)...)
	case *gatewayv1.GatewayClass:
		return append(validateName("GatewayClass", &v.ObjectMeta, false), validateGatewayClass(v)...)
	case *gatewayv1.Gateway:
		defaultMeta(&v.ObjectMeta)
		return append(validateName("Gateway", &v.ObjectMeta, true), validateGateway(v)...)
	case *gatewayv1.HTTPRoute:
		defaultMeta(&v.ObjectMeta)
		return append(validateName("HTTPRoute", &v.ObjectMeta, true), validateHTTPRoute(v)...)
	case *gatewayv1.ReferenceGrant:
		defaultMeta(&v.ObjectMeta)
		return append(validateName("ReferenceGrant", &v.ObjectMeta, true), validateReferenceGrant(v)...)
	case *storagev1.StorageClass:
		defaultStorageClass(v)
		return append(validateName("StorageClass", &v.ObjectMeta, false), validateStorageClass(v)...)
	case *corev1.PersistentVolume:
		defaultPersistentVolume(v)
		return append(validateName("PersistentVolume", &v.ObjectMeta, false), validatePersistentVolume(v)...)
	case *corev1.PersistentVolumeClaim:
		defaultMeta(&v.ObjectMeta)
		return append(validateName("PersistentVolumeClaim", &v.ObjectMeta, true), validateClaimSpec(&v.Spec, "spec")...)
	case *corev1.Endpoints:
		defaultMeta(&v.ObjectMeta)
		defaultEndpoints(v)
		return append(validateName("Endpoints", &v.ObjectMeta, true), validateEndpoints(v, svc)...)
	}
	defaultMeta(o.meta)
	defaultWorkload(o.value)
	fes := validateName(o.kind, o.meta, true)
	switch v := o.value.(type) {
	case *appsv1.Deployment:
		return append(fes, validateDeployment(v)...)
	case *appsv1.ReplicaSet:
		return append(fes, validateReplicaSet(v)...)
	case *corev1.ReplicationController:
		return append(fes, validateReplicationController(v)...)
	case *appsv1.DaemonSet:
		return append(fes, validateDaemonSet(v)...)
	case *appsv1.StatefulSet:
		return append(fes, validateStatefulSet(v)...)
	case *batchv1.Job:
		return append(fes, validateJob(v)...)
	case *batchv1.CronJob:
		return append(fes, validateCronJob(v)...)
	}
	return fes
}

// crossCheck finds problems between objects: the same kind, namespace and
// name twice (naming both places), and objects in a namespace that no
// manifest declares (other than "default").
func crossCheck(objs []*object) []error {
	var errs []error
	first := map[string]*object{}
	declared := map[string]bool{corev1.NamespaceDefault: true}
	for _, o := range objs {
		if o.kind == "Namespace" {
			declared[o.meta.Name] = true
		}
	}
	for _, o := range objs {
		key := o.id()
		if prev, ok := first[key]; ok {
			errs = append(errs, o.errorAt(&fieldError{"metadata.name", fmt.Sprintf("defined twice: also at %s:%d", prev.file, prev.line+lineOf(prev.doc, "metadata.name")-1)}))
		} else {
			first[key] = o
		}
		if !clusterScoped[o.kind] && !declared[o.meta.Namespace] {
			errs = append(errs, o.errorAt(&fieldError{"metadata.namespace", fmt.Sprintf("namespace %q is not declared: add a Namespace manifest", o.meta.Namespace)}))
		}
	}
	errs = append(errs, checkServices(objs)...)
	errs = append(errs, checkIngresses(objs)...)
	errs = append(errs, checkStorage(objs)...)
	refs := newRefIndex(objs)
	for _, o := range objs {
		for _, fe := range refs.check(o) {
			errs = append(errs, o.errorAt(fe))
		}
	}
	return errs
}

func defaultMeta(m *metav1.ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = corev1.NamespaceDefault
	}
}

// DefaultPodSpec fills the defaults Kubernetes applies to a pod spec.
func DefaultPodSpec(s *corev1.PodSpec) {
	defaultVolumes(s)
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		g := int64(corev1.DefaultTerminationGracePeriodSeconds)
		s.TerminationGracePeriodSeconds = &g
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = defaultPullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	for j := range c.Ports {
		if c.Ports[j].Protocol == "" {
			c.Ports[j].Protocol = corev1.ProtocolTCP
		}
	}
}

// defaultPullPolicy is Always for ":latest" or no tag, else IfNotPresent.
func defaultPullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(last, ":"); i < 0 || last[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func validateName(kind string, m *metav1.ObjectMeta, namespaced bool) []*fieldError {
	var fes []*fieldError
	if m.Name == "" {
		fes = append(fes, &fieldError{"metadata.name", "required"})
	} else {
		check := validation.IsDNS1123Subdomain
		if kind == "Namespace" {
			check = validation.IsDNS1123Label
		}
		for _, msg := range check(m.Name) {
			fes = append(fes, &fieldError{"metadata.name", fmt.Sprintf("%q: %s", m.Name, msg)})
		}
	}
	if namespaced {
		for _, msg := range validation.IsDNS1123Label(m.Namespace) {
			fes = append(fes, &fieldError{"metadata.namespace", fmt.Sprintf("%q: %s", m.Namespace, msg)})
		}
	}
	return append(fes, validateLabels(m.Labels, "metadata.labels")...)
}

func validateLabels(l map[string]string, field string) []*fieldError {
	var fes []*fieldError
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			fes = append(fes, &fieldError{field, fmt.Sprintf("key %q: %s", k, msg)})
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			fes = append(fes, &fieldError{field, fmt.Sprintf("key %q: value %q: %s", k, v, msg)})
		}
	}
	return fes
}

// validateDNS checks a pod's dnsPolicy and dnsConfig as the apiserver
// does: a known policy, nameservers that are IP addresses (three at
// most, and one at least for None), searches that are DNS names, options
// with names.
func validateDNS(s *corev1.PodSpec, field string) []*fieldError {
	var fes []*fieldError
	switch s.DNSPolicy {
	case "", corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault, corev1.DNSNone:
	default:
		fes = append(fes, &fieldError{field + ".dnsPolicy", fmt.Sprintf("unsupported value %q: supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\"", s.DNSPolicy)})
	}
	c := s.DNSConfig
	if c == nil {
		if s.DNSPolicy == corev1.DNSNone {
			fes = append(fes, &fieldError{field + ".dnsConfig", "required when dnsPolicy is None"})
		}
		return fes
	}
	f := field + ".dnsConfig"
	if s.DNSPolicy == corev1.DNSNone && len(c.Nameservers) == 0 {
		fes = append(fes, &fieldError{f + ".nameservers", "required: at least one nameserver when dnsPolicy is None"})
	}
	if len(c.Nameservers) > 3 {
		fes = append(fes, &fieldError{f + ".nameservers", fmt.Sprintf("%d nameservers: at most 3", len(c.Nameservers))})
	}
	for i, ns := range c.Nameservers {
		if _, err := netip.ParseAddr(ns); err != nil {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.nameservers[%d]", f, i), fmt.Sprintf("%q: not an IP address", ns)})
		}
	}
	for i, d := range c.Searches {
		for _, msg := range validation.IsDNS1123Subdomain(strings.TrimSuffix(d, ".")) {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.searches[%d]", f, i), fmt.Sprintf("%q: %s", d, msg)})
		}
	}
	for i, o := range c.Options {
		if o.Name == "" {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.options[%d].name", f, i), "required"})
		}
	}
	return fes
}

// validateHostAliases checks the /etc/hosts entries of a pod: an IP
// address and DNS names each.
func validateHostAliases(aliases []corev1.HostAlias, field string) []*fieldError {
	var fes []*fieldError
	for i, a := range aliases {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, err := netip.ParseAddr(a.IP); err != nil {
			fes = append(fes, &fieldError{f + ".ip", fmt.Sprintf("%q: not an IP address", a.IP)})
		}
		for j, h := range a.Hostnames {
			for _, msg := range validation.IsDNS1123Subdomain(h) {
				fes = append(fes, &fieldError{fmt.Sprintf("%s.hostnames[%d]", f, j), fmt.Sprintf("%q: %s", h, msg)})
			}
		}
	}
	return fes
}

func validatePodSpec(s *corev1.PodSpec, field string) []*fieldError {
	var fes []*fieldError
	if len(s.Containers) == 0 {
		fes = append(fes, &fieldError{field + ".containers", "required: a pod needs at least one container"})
	}
	switch s.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		fes = append(fes, &fieldError{field + ".restartPolicy", fmt.Sprintf("unsupported value %q: supported values: \"Always\", \"OnFailure\", \"Never\"", s.RestartPolicy)})
	}
	for _, f := range []struct{ name, value string }{{"hostname", s.Hostname}, {"subdomain", s.Subdomain}} {
		if f.value == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Label(f.value) {
			fes = append(fes, &fieldError{field + "." + f.name, fmt.Sprintf("%q: %s", f.value, msg)})
		}
	}
	fes = append(fes, validateHostAliases(s.HostAliases, field+".hostAliases")...)
	fes = append(fes, validateDNS(s, field)...)
	fes = append(fes, validateVolumes(s, field)...)
	fes = append(fes, validateTolerations(s.Tolerations, field+".tolerations")...)
	fes = append(fes, validatePodSecurity(s.SecurityContext, field+".securityContext")...)
	fes = append(fes, validateScheduling(s, field)...)
	names := map[string]bool{} // init and regular containers share one name space
	for i := range s.InitContainers {
		cf := fmt.Sprintf("%s.initContainers[%d]", field, i)
		fes = append(fes, validateContainer(&s.InitContainers[i], cf, names)...)
		fes = append(fes, validateInitContainer(&s.InitContainers[i], cf)...)
	}
	for i := range s.Containers {
		cf := fmt.Sprintf("%s.containers[%d]", field, i)
		fes = append(fes, validateContainer(&s.Containers[i], cf, names)...)
		fes = append(fes, validateProbes(&s.Containers[i], cf)...)
		fes = append(fes, validateLifecycle(&s.Containers[i], cf)...)
		if s.HostNetwork {
			fes = append(fes, validateHostNetworkPorts(&s.Containers[i], cf)...)
		}
	}
	return fes
}

func validateContainer(c *corev1.Container, cf string, names map[string]bool) []*fieldError {
	var fes []*fieldError
	if c.Name == "" {
		fes = append(fes, &fieldError{cf + ".name", "required"})
	}
	for _, msg := range validation.IsDNS1123Label(c.Name) {
		if c.Name != "" {
			fes = append(fes, &fieldError{cf + ".name", fmt.Sprintf("%q: %s", c.Name, msg)})
		}
	}
	if names[c.Name] && c.Name != "" {
		fes = append(fes, &fieldError{cf + ".name", fmt.Sprintf("duplicate container name %q", c.Name)})
	}
	names[c.Name] = true
	if strings.TrimSpace(c.Image) == "" {
		fes = append(fes, &fieldError{cf + ".image", "required"})
	}
	// Accepted for the manifests kubectl exports, but only as the
	// defaults: berth reads no termination message.
	if c.TerminationMessagePath != corev1.TerminationMessagePathDefault {
		fes = append(fes, &fieldError{cf + ".terminationMessagePath", "not supported by berth (only the default /dev/termination-log)"})
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		fes = append(fes, &fieldError{cf + ".terminationMessagePolicy", "not supported by berth (only the default File)"})
	}
	fes = append(fes, validateEnvSources(c, cf)...)
	fes = append(fes, validatePorts(c, cf, map[string]bool{})...)
	fes = append(fes, validateSecurity(c.SecurityContext, cf+".securityContext")...)
	for j, e := range c.Env {
		if e.Name == "" {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.env[%d].name", cf, j), "required"})
		}
	}
	return fes
}

// validateInitContainer checks an init container's restartPolicy (only
// Always, which makes it a sidecar) and that only sidecars have probes
// and lifecycle hooks, as Kubernetes does.
func validateInitContainer(c *corev1.Container, cf string) []*fieldError {
	if c.RestartPolicy != nil && *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		return []*fieldError{{cf + ".restartPolicy", fmt.Sprintf("unsupported value %q: supported values: \"Always\"", *c.RestartPolicy)}}
	}
	if c.RestartPolicy != nil {
		return append(validateProbes(c, cf), validateLifecycle(c, cf)...)
	}
	var fes []*fieldError
	for name, set := range map[string]bool{"livenessProbe": c.LivenessProbe != nil, "readinessProbe": c.ReadinessProbe != nil,
		"startupProbe": c.StartupProbe != nil, "lifecycle": c.Lifecycle != nil} {
		if set {
			fes = append(fes, &fieldError{cf + "." + name, "may not be set for init containers without restartPolicy=Always"})
		}
	}
	return fes
}
