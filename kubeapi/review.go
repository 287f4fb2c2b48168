package kubeapi

import (
	"net/http"
	"slices"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/auth"
)

// readOnlyVerbs are what any user may do with berth's objects.
var readOnlyVerbs = []string{"get", "list", "watch"}

// streamSubresources are the pod subresources that take the operator role.
var streamSubresources = []string{"log", "exec", "attach", "portforward"}

// review answers SelfSubjectAccessReview and SelfSubjectRulesReview, the
// caller's own permissions: k9s and Headlamp hide what they are denied.
func (s *Server) review(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodPost || req.name != "" {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, r.Method))
		return
	}
	id := identityOf(r)
	switch req.plural {
	case "selfsubjectaccessreviews":
		var rev authorizationv1.SelfSubjectAccessReview
		if err := decodeBody(r, &rev); err != nil {
			writeStatus(w, err)
			return
		}
		rev.Status.Allowed, rev.Status.Reason = s.allowed(id, rev.Spec)
		rev.Status.Denied = !rev.Status.Allowed
		rev.APIVersion, rev.Kind = authorizationv1.SchemeGroupVersion.String(), "SelfSubjectAccessReview"
		writeJSON(w, http.StatusCreated, &rev)
	case "selfsubjectrulesreviews":
		var rev authorizationv1.SelfSubjectRulesReview
		if err := decodeBody(r, &rev); err != nil {
			writeStatus(w, err)
			return
		}
		rev.Status = rules(id)
		rev.APIVersion, rev.Kind = authorizationv1.SchemeGroupVersion.String(), "SelfSubjectRulesReview"
		writeJSON(w, http.StatusCreated, &rev)
	default:
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, ""))
	}
}

// allowed decides an access review the way the API decides requests.
func (s *Server) allowed(id auth.Identity, spec authorizationv1.SelfSubjectAccessReviewSpec) (bool, string) {
	if n := spec.NonResourceAttributes; n != nil {
		if n.Verb == "get" {
			return true, "any user may read discovery, health and version paths"
		}
		return false, "berth's non-resource paths are read-only"
	}
	a := spec.ResourceAttributes
	if a == nil {
		return false, "the review names neither a resource nor a path"
	}
	if a.Group == "authorization.k8s.io" && (a.Resource == "selfsubjectaccessreviews" || a.Resource == "selfsubjectrulesreviews") {
		return a.Verb == "create", "any user may review their own access"
	}
	stream := a.Group == "" && a.Resource == "pods" && slices.Contains(streamSubresources, a.Subresource)
	switch {
	case stream && auth.Operate.Allows(id):
		return true, "the operator role reads logs, execs and forwards ports"
	case stream:
		return false, "pods/" + a.Subresource + " takes the operator role; " + id.String() + " has role " + id.Role
	case !slices.Contains(readOnlyVerbs, a.Verb) && a.Verb != "*":
		return false, s.gitMessage()
	case a.Verb == "*":
		return false, "only get, list and watch are served: " + s.gitMessage()
	case !s.known(a.Group, a.Resource):
		return false, "berth serves no resource " + a.Resource + " in group " + quoteGroup(a.Group)
	case a.Resource == "secrets" && !id.CanReadSecrets():
		return true, "every user may read berth's objects; Secret values show redacted below the operator role"
	}
	return true, "every user may read berth's objects"
}

func quoteGroup(g string) string {
	if g == "" {
		return `"" (core)`
	}
	return `"` + g + `"`
}

// known reports whether a resource (or "*") of a group is served.
func (s *Server) known(group, plural string) bool {
	for _, r := range resources {
		if (group == "*" || r.gvk.Group == group) && (plural == "*" || r.plural == plural) {
			return true
		}
	}
	return false
}

// rules lists what the caller may do, by resource.
func rules(id auth.Identity) authorizationv1.SubjectRulesReviewStatus {
	byGroup := map[string][]string{}
	var groups []string
	for _, r := range resources {
		g := r.gvk.Group
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], r.plural)
		for _, sub := range r.subresources {
			byGroup[g] = append(byGroup[g], r.plural+"/"+sub)
		}
	}
	st := authorizationv1.SubjectRulesReviewStatus{}
	for _, g := range groups {
		st.ResourceRules = append(st.ResourceRules, authorizationv1.ResourceRule{Verbs: readOnlyVerbs, APIGroups: []string{g}, Resources: byGroup[g]})
	}
	if auth.Operate.Allows(id) {
		st.ResourceRules = append(st.ResourceRules,
			authorizationv1.ResourceRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}},
			authorizationv1.ResourceRule{Verbs: []string{"create", "get"}, APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}})
	}
	st.ResourceRules = append(st.ResourceRules, authorizationv1.ResourceRule{Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"},
		Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}})
	st.NonResourceRules = []authorizationv1.NonResourceRule{{Verbs: []string{"get"},
		NonResourceURLs: []string{"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version", "/openapi", "/openapi/*"}}}
	return st
}
