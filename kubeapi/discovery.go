package kubeapi

import (
	"net/http"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// readVerbs are the only verbs of berth's objects: Git is the write path.
var readVerbs = metav1.Verbs{"get", "list", "watch"}

// extraGroupVersions are group versions served beside the objects' own.
var extraGroupVersions = []schema.GroupVersion{authorizationv1.SchemeGroupVersion, metricsv1beta1.SchemeGroupVersion}

// extraResource is a served resource that is not an object berth holds:
// the access reviews, and the pod subresources that stream.
type extraResource struct {
	gv         schema.GroupVersion
	name, kind string
	namespaced bool
	verbs      metav1.Verbs
	parent     string // for a subresource, its resource's plural
}

var extraResources = []extraResource{
	{gv: authorizationv1.SchemeGroupVersion, name: "selfsubjectaccessreviews", kind: "SelfSubjectAccessReview", verbs: metav1.Verbs{"create"}},
	{gv: authorizationv1.SchemeGroupVersion, name: "selfsubjectrulesreviews", kind: "SelfSubjectRulesReview", verbs: metav1.Verbs{"create"}},
	{gv: metricsv1beta1.SchemeGroupVersion, name: "nodes", kind: "NodeMetrics", verbs: metav1.Verbs{"get", "list"}},
	{gv: metricsv1beta1.SchemeGroupVersion, name: "pods", kind: "PodMetrics", namespaced: true, verbs: metav1.Verbs{"get", "list"}},
	{gv: schema.GroupVersion{Version: "v1"}, parent: "pods", name: "log", kind: "Pod", namespaced: true, verbs: metav1.Verbs{"get"}},
	{gv: schema.GroupVersion{Version: "v1"}, parent: "pods", name: "exec", kind: "PodExecOptions", namespaced: true, verbs: metav1.Verbs{"create", "get"}},
	{gv: schema.GroupVersion{Version: "v1"}, parent: "pods", name: "attach", kind: "PodAttachOptions", namespaced: true, verbs: metav1.Verbs{"create", "get"}},
	{gv: schema.GroupVersion{Version: "v1"}, parent: "pods", name: "portforward", kind: "PodPortForwardOptions", namespaced: true, verbs: metav1.Verbs{"create", "get"}},
}

// apiResources lists a group version's resources in the legacy form,
// subresources as "plural/sub".
func apiResources(gv schema.GroupVersion) []metav1.APIResource {
	var out []metav1.APIResource
	for _, r := range resources {
		if r.gvk.GroupVersion() != gv {
			continue
		}
		out = append(out, metav1.APIResource{Name: r.plural, SingularName: r.singular, Namespaced: r.namespaced, Kind: r.gvk.Kind,
			Verbs: readVerbs, ShortNames: r.short, Categories: r.categories})
		for _, sub := range r.subresources {
			kind := r.gvk.Kind
			if sub == "scale" {
				kind = "Scale"
			}
			out = append(out, metav1.APIResource{Name: r.plural + "/" + sub, Namespaced: r.namespaced, Kind: kind, Verbs: metav1.Verbs{"get"}})
		}
		for _, x := range extraResources {
			if x.gv == gv && x.parent == r.plural {
				out = append(out, metav1.APIResource{Name: x.parent + "/" + x.name, Namespaced: x.namespaced, Kind: x.kind, Verbs: x.verbs})
			}
		}
	}
	for _, x := range extraResources {
		if x.gv == gv && x.parent == "" {
			out = append(out, metav1.APIResource{Name: x.name, SingularName: strings.ToLower(x.kind), Namespaced: x.namespaced, Kind: x.kind, Verbs: x.verbs})
		}
	}
	return out
}

// aggregated is the discovery of the given group versions in the
// aggregated (apidiscovery.k8s.io/v2) form.
func aggregated(gvs []schema.GroupVersion) *apidiscoveryv2.APIGroupDiscoveryList {
	list := &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{APIVersion: "apidiscovery.k8s.io/v2", Kind: "APIGroupDiscoveryList"}}
	index := map[string]int{}
	for _, gv := range gvs {
		i, ok := index[gv.Group]
		if !ok {
			i = len(list.Items)
			index[gv.Group] = i
			list.Items = append(list.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
		}
		v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		var last *apidiscoveryv2.APIResourceDiscovery
		for _, r := range apiResources(gv) {
			scope := apidiscoveryv2.ScopeCluster
			if r.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			kind := &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: r.Kind}
			if parent, sub, ok := strings.Cut(r.Name, "/"); ok && last != nil && last.Resource == parent {
				if r.Kind == "Scale" {
					kind = &metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
				}
				last.Subresources = append(last.Subresources, apidiscoveryv2.APISubresourceDiscovery{Subresource: sub, ResponseKind: kind, Verbs: r.Verbs})
				continue
			}
			v.Resources = append(v.Resources, apidiscoveryv2.APIResourceDiscovery{Resource: r.Name, ResponseKind: kind, Scope: scope,
				SingularResource: r.SingularName, Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories})
			last = &v.Resources[len(v.Resources)-1]
		}
		list.Items[i].Versions = append(list.Items[i].Versions, v)
	}
	return list
}

// wantsAggregated reports whether the Accept header asks for aggregated
// discovery (kubectl asks for it first, then falls back by Content-Type).
func wantsAggregated(r *http.Request) (string, bool) {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		p := mediaParams(part)
		if p["g"] == "apidiscovery.k8s.io" && p["as"] == "APIGroupDiscoveryList" && p["v"] == "v2" && p["type"] == "application/json" {
			return "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", true
		}
	}
	return "", false
}

// mediaParams splits one media range into its type ("type") and
// parameters.
func mediaParams(s string) map[string]string {
	parts := strings.Split(s, ";")
	out := map[string]string{"type": strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		out[k] = v
	}
	return out
}

// coreGroups and namedGroups split the served group versions into the
// core group (/api) and the named ones (/apis).
func coreGroups() []schema.GroupVersion { return []schema.GroupVersion{{Version: "v1"}} }

func namedGroups() []schema.GroupVersion {
	var out []schema.GroupVersion
	for _, gv := range groupVersions() {
		if gv.Group != "" {
			out = append(out, gv)
		}
	}
	return out
}

// apiGroupList is /apis in the legacy form.
func apiGroupList() *metav1.APIGroupList {
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "APIGroupList"}}
	for _, gv := range namedGroups() {
		list.Groups = append(list.Groups, apiGroup(gv.Group))
	}
	return list
}

// apiGroup is one named group in the legacy form.
func apiGroup(group string) metav1.APIGroup {
	g := metav1.APIGroup{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "APIGroup"}, Name: group}
	for _, gv := range namedGroups() {
		if gv.Group == group {
			v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
			g.Versions = append(g.Versions, v)
			if g.PreferredVersion.Version == "" {
				g.PreferredVersion = v
			}
		}
	}
	return g
}

// servesGroupVersion reports whether gv is served.
func servesGroupVersion(gv schema.GroupVersion) bool {
	for _, s := range groupVersions() {
		if s == gv {
			return true
		}
	}
	return false
}
