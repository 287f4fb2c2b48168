package manifest

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The implemented fields of the Gateway API kinds berth serves.
var (
	gatewayClassFields = concat(metadataFields, []string{"spec.controllerName", "spec.description"})
	gatewayFields      = concat(metadataFields, []string{"spec.gatewayClassName",
		"spec.listeners[].name", "spec.listeners[].hostname", "spec.listeners[].port", "spec.listeners[].protocol",
		"spec.listeners[].tls.mode", "spec.listeners[].tls.certificateRefs[].group", "spec.listeners[].tls.certificateRefs[].kind",
		"spec.listeners[].tls.certificateRefs[].name", "spec.listeners[].tls.certificateRefs[].namespace",
		"spec.listeners[].allowedRoutes.namespaces.from", "spec.listeners[].allowedRoutes.kinds[].group", "spec.listeners[].allowedRoutes.kinds[].kind",
	}, prefixed("spec.listeners[].allowedRoutes.namespaces.selector.", labelSelectorFields))
	httpRouteFilterFields = concat([]string{"type",
		"requestRedirect.scheme", "requestRedirect.hostname", "requestRedirect.port", "requestRedirect.statusCode",
		"requestRedirect.path.type", "requestRedirect.path.replaceFullPath", "requestRedirect.path.replacePrefixMatch",
		"urlRewrite.hostname", "urlRewrite.path.type", "urlRewrite.path.replaceFullPath", "urlRewrite.path.replacePrefixMatch",
	}, headerFilterFields("requestHeaderModifier."), headerFilterFields("responseHeaderModifier."))
	backendRefFields = []string{"group", "kind", "name", "namespace", "port", "weight"}
	httpRouteFields  = concat(metadataFields, []string{"spec.hostnames[]",
		"spec.parentRefs[].group", "spec.parentRefs[].kind", "spec.parentRefs[].namespace", "spec.parentRefs[].name",
		"spec.parentRefs[].sectionName", "spec.parentRefs[].port",
		"spec.rules[].name", "spec.rules[].matches[].path.type", "spec.rules[].matches[].path.value",
		"spec.rules[].matches[].headers[].type", "spec.rules[].matches[].headers[].name", "spec.rules[].matches[].headers[].value",
		"spec.rules[].matches[].queryParams[].type", "spec.rules[].matches[].queryParams[].name", "spec.rules[].matches[].queryParams[].value",
		"spec.rules[].matches[].method",
	}, prefixed("spec.rules[].filters[].", httpRouteFilterFields), prefixed("spec.rules[].backendRefs[].", backendRefFields),
		prefixed("spec.rules[].backendRefs[].filters[].", httpRouteFilterFields))
	referenceGrantFields = concat(metadataFields, []string{"spec.from[].group", "spec.from[].kind", "spec.from[].namespace",
		"spec.to[].group", "spec.to[].kind", "spec.to[].name"})
)

func headerFilterFields(prefix string) []string {
	return []string{prefix + "set[].name", prefix + "set[].value", prefix + "add[].name", prefix + "add[].value", prefix + "remove[]"}
}

// validateGatewayClass checks a GatewayClass: a controller name.
func validateGatewayClass(c *gatewayv1.GatewayClass) []*fieldError {
	if c.Spec.ControllerName == "" {
		return []*fieldError{{"spec.controllerName", "required"}}
	}
	var fes []*fieldError
	for _, msg := range validation.IsDomainPrefixedPath(nil, string(c.Spec.ControllerName)) {
		fes = append(fes, &fieldError{"spec.controllerName", fmt.Sprintf("invalid value %q: %s", c.Spec.ControllerName, msg.Detail)})
	}
	return fes
}

// validateGateway checks a Gateway: its class, and listeners of HTTP or
// HTTPS with unique names, ports, hostnames and (for HTTPS)
// certificates.
func validateGateway(g *gatewayv1.Gateway) []*fieldError {
	var fes []*fieldError
	if g.Spec.GatewayClassName == "" {
		fes = append(fes, &fieldError{"spec.gatewayClassName", "required"})
	}
	if len(g.Spec.Listeners) == 0 {
		fes = append(fes, &fieldError{"spec.listeners", "required"})
	}
	names := map[gatewayv1.SectionName]bool{}
	for i, l := range g.Spec.Listeners {
		f := fmt.Sprintf("spec.listeners[%d]", i)
		if names[l.Name] {
			fes = append(fes, &fieldError{f + ".name", fmt.Sprintf("duplicate listener name %q", l.Name)})
		}
		names[l.Name] = true
		for _, msg := range validation.IsDNS1123Label(string(l.Name)) {
			fes = append(fes, &fieldError{f + ".name", fmt.Sprintf("invalid value %q: %s", l.Name, msg)})
		}
		if l.Port < 1 || l.Port > 65535 {
			fes = append(fes, &fieldError{f + ".port", fmt.Sprintf("invalid value %d: must be between 1 and 65535", l.Port)})
		}
		if l.Hostname != nil {
			fes = append(fes, validateIngressHost(string(*l.Hostname), f+".hostname")...)
		}
		switch l.Protocol {
		case gatewayv1.HTTPProtocolType:
			if l.TLS != nil {
				fes = append(fes, &fieldError{f + ".tls", "must be empty for protocol HTTP"})
			}
		case gatewayv1.HTTPSProtocolType:
			fes = append(fes, validateListenerTLS(l.TLS, f+".tls")...)
		default:
			fes = append(fes, &fieldError{f + ".protocol", fmt.Sprintf(`unsupported value %q: supported values: "HTTP", "HTTPS"`, l.Protocol)})
		}
		if ar := l.AllowedRoutes; ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
			switch *ar.Namespaces.From {
			case gatewayv1.NamespacesFromSame, gatewayv1.NamespacesFromAll:
			case gatewayv1.NamespacesFromSelector:
				if ar.Namespaces.Selector == nil {
					fes = append(fes, &fieldError{f + ".allowedRoutes.namespaces.selector", "required when from is Selector"})
				} else {
					fes = append(fes, validateSelector(ar.Namespaces.Selector, f+".allowedRoutes.namespaces.selector")...)
				}
			default:
				fes = append(fes, &fieldError{f + ".allowedRoutes.namespaces.from", fmt.Sprintf(`unsupported value %q: supported values: "All", "Same", "Selector"`, *ar.Namespaces.From)})
			}
		}
	}
	return fes
}

// validateListenerTLS checks an HTTPS listener's TLS: Terminate, with
// certificates in Secrets.
func validateListenerTLS(tls *gatewayv1.ListenerTLSConfig, f string) []*fieldError {
	if tls == nil || len(tls.CertificateRefs) == 0 {
		return []*fieldError{{f + ".certificateRefs", "required for protocol HTTPS: berth terminates TLS with a kubernetes.io/tls Secret"}}
	}
	var fes []*fieldError
	if tls.Mode != nil && *tls.Mode != gatewayv1.TLSModeTerminate {
		fes = append(fes, &fieldError{f + ".mode", fmt.Sprintf(`unsupported value %q: berth terminates TLS ("Terminate")`, *tls.Mode)})
	}
	for j, ref := range tls.CertificateRefs {
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
			fes = append(fes, &fieldError{fmt.Sprintf("%s.certificateRefs[%d]", f, j), "must refer to a Secret (group \"\", kind Secret)"})
		}
	}
	return fes
}

// validateHTTPRoute checks an HTTPRoute: hostnames, matches (paths,
// regular expressions in RE2), filters and backendRefs to Services.
func validateHTTPRoute(r *gatewayv1.HTTPRoute) []*fieldError {
	var fes []*fieldError
	for i, h := range r.Spec.Hostnames {
		fes = append(fes, validateIngressHost(string(h), fmt.Sprintf("spec.hostnames[%d]", i))...)
	}
	for i, p := range r.Spec.ParentRefs {
		if (p.Group != nil && *p.Group != gatewayv1.GroupName) || (p.Kind != nil && *p.Kind != "Gateway") {
			fes = append(fes, &fieldError{fmt.Sprintf("spec.parentRefs[%d]", i), "must refer to a Gateway (group gateway.networking.k8s.io)"})
		}
	}
	for i, rule := range r.Spec.Rules {
		f := fmt.Sprintf("spec.rules[%d]", i)
		for j, m := range rule.Matches {
			fes = append(fes, validateRouteMatch(m, fmt.Sprintf("%s.matches[%d]", f, j))...)
		}
		fes = append(fes, validateRouteFilters(rule.Filters, f+".filters")...)
		for j, b := range rule.BackendRefs {
			bf := fmt.Sprintf("%s.backendRefs[%d]", f, j)
			if (b.Group != nil && *b.Group != "") || (b.Kind != nil && *b.Kind != "Service") {
				fes = append(fes, &fieldError{bf, "must refer to a Service (group \"\", kind Service)"})
			}
			if b.Port == nil {
				fes = append(fes, &fieldError{bf + ".port", "required for a Service"})
			}
			if b.Weight != nil && (*b.Weight < 0 || *b.Weight > 1000000) {
				fes = append(fes, &fieldError{bf + ".weight", fmt.Sprintf("invalid value %d: must be between 0 and 1000000", *b.Weight)})
			}
			fes = append(fes, validateRouteFilters(b.Filters, bf+".filters")...)
		}
	}
	return fes
}

// validateRouteMatch checks one match of a rule.
func validateRouteMatch(m gatewayv1.HTTPRouteMatch, f string) []*fieldError {
	var fes []*fieldError
	if p := m.Path; p != nil && p.Value != nil {
		typ := gatewayv1.PathMatchPathPrefix
		if p.Type != nil {
			typ = *p.Type
		}
		switch typ {
		case gatewayv1.PathMatchExact, gatewayv1.PathMatchPathPrefix:
			if !strings.HasPrefix(*p.Value, "/") {
				fes = append(fes, &fieldError{f + ".path.value", fmt.Sprintf("invalid value %q: must be an absolute path", *p.Value)})
			}
		case gatewayv1.PathMatchRegularExpression:
			if _, err := regexp.Compile(*p.Value); err != nil {
				fes = append(fes, &fieldError{f + ".path.value", fmt.Sprintf("invalid regular expression %q: %v", *p.Value, err)})
			}
		default:
			fes = append(fes, &fieldError{f + ".path.type", fmt.Sprintf(`unsupported value %q: supported values: "Exact", "PathPrefix", "RegularExpression"`, typ)})
		}
	}
	for k, h := range m.Headers {
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			if _, err := regexp.Compile(h.Value); err != nil {
				fes = append(fes, &fieldError{fmt.Sprintf("%s.headers[%d].value", f, k), fmt.Sprintf("invalid regular expression %q: %v", h.Value, err)})
			}
		}
	}
	for k, q := range m.QueryParams {
		if q.Type != nil && *q.Type == gatewayv1.QueryParamMatchRegularExpression {
			if _, err := regexp.Compile(q.Value); err != nil {
				fes = append(fes, &fieldError{fmt.Sprintf("%s.queryParams[%d].value", f, k), fmt.Sprintf("invalid regular expression %q: %v", q.Value, err)})
			}
		}
	}
	return fes
}

// routeFilterKinds are the filter types berth implements, with the
// field each one sets.
var routeFilterKinds = map[gatewayv1.HTTPRouteFilterType]func(*gatewayv1.HTTPRouteFilter) bool{
	gatewayv1.HTTPRouteFilterRequestHeaderModifier:  func(f *gatewayv1.HTTPRouteFilter) bool { return f.RequestHeaderModifier != nil },
	gatewayv1.HTTPRouteFilterResponseHeaderModifier: func(f *gatewayv1.HTTPRouteFilter) bool { return f.ResponseHeaderModifier != nil },
	gatewayv1.HTTPRouteFilterRequestRedirect:        func(f *gatewayv1.HTTPRouteFilter) bool { return f.RequestRedirect != nil },
	gatewayv1.HTTPRouteFilterURLRewrite:             func(f *gatewayv1.HTTPRouteFilter) bool { return f.URLRewrite != nil },
}

// validateRouteFilters checks filters: a type berth implements, with its
// field set; a redirect's status 301 or 302; a path modifier's value.
func validateRouteFilters(filters []gatewayv1.HTTPRouteFilter, f string) []*fieldError {
	var fes []*fieldError
	for i := range filters {
		flt := &filters[i]
		ff := fmt.Sprintf("%s[%d]", f, i)
		has, ok := routeFilterKinds[flt.Type]
		switch {
		case !ok:
			fes = append(fes, &fieldError{ff + ".type", fmt.Sprintf(`unsupported value %q: supported values: "RequestHeaderModifier", "RequestRedirect", "ResponseHeaderModifier", "URLRewrite"`, flt.Type)})
			continue
		case !has(flt):
			fes = append(fes, &fieldError{ff, fmt.Sprintf("filter type %s needs its field set", flt.Type)})
			continue
		}
		if r := flt.RequestRedirect; r != nil {
			if r.StatusCode != nil && *r.StatusCode != 301 && *r.StatusCode != 302 {
				fes = append(fes, &fieldError{ff + ".requestRedirect.statusCode", fmt.Sprintf("unsupported value %d: supported values: 301, 302", *r.StatusCode)})
			}
			if r.Scheme != nil && *r.Scheme != "http" && *r.Scheme != "https" {
				fes = append(fes, &fieldError{ff + ".requestRedirect.scheme", fmt.Sprintf(`unsupported value %q: supported values: "http", "https"`, *r.Scheme)})
			}
			fes = append(fes, validatePathModifier(r.Path, ff+".requestRedirect.path")...)
		}
		if u := flt.URLRewrite; u != nil {
			fes = append(fes, validatePathModifier(u.Path, ff+".urlRewrite.path")...)
		}
	}
	return fes
}

// validatePathModifier checks that a path modifier sets the field of its
// type.
func validatePathModifier(p *gatewayv1.HTTPPathModifier, f string) []*fieldError {
	switch {
	case p == nil:
		return nil
	case p.Type == gatewayv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil,
		p.Type == gatewayv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil:
		return nil
	}
	return []*fieldError{{f, fmt.Sprintf("type %q needs replaceFullPath (ReplaceFullPath) or replacePrefixMatch (ReplacePrefixMatch)", p.Type)}}
}

// validateReferenceGrant checks a ReferenceGrant: from and to.
func validateReferenceGrant(g *gatewayv1.ReferenceGrant) []*fieldError {
	var fes []*fieldError
	if len(g.Spec.From) == 0 {
		fes = append(fes, &fieldError{"spec.from", "required"})
	}
	if len(g.Spec.To) == 0 {
		fes = append(fes, &fieldError{"spec.to", "required"})
	}
	return fes
}
