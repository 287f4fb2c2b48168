package ingress

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// wellKnownPorts are the ports a redirect's Location leaves out.
var wellKnownPorts = map[string]int{"http": 80, "https": 443}

// redirect answers a request with a rule's RequestRedirect filter, as the
// Gateway API defines it: the scheme, host, port and path of the request
// unless the filter replaces them (a new scheme takes its well-known
// port), the query kept, 302 unless the filter says 301.
func redirect(w http.ResponseWriter, req *http.Request, m *routeMatch, f *gatewayv1.HTTPRequestRedirectFilter, scheme string, listenerPort int) {
	host, port := req.Host, listenerPort
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if f.Scheme != nil && *f.Scheme != scheme {
		scheme, port = *f.Scheme, wellKnownPorts[*f.Scheme]
	}
	if f.Hostname != nil {
		host = string(*f.Hostname)
	}
	if f.Port != nil {
		port = int(*f.Port)
	}
	u := url.URL{Scheme: scheme, Host: host, Path: modifiedPath(req.URL.Path, m, f.Path), RawQuery: req.URL.RawQuery}
	if port != 0 && port != wellKnownPorts[scheme] {
		u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	}
	code := http.StatusFound
	if f.StatusCode != nil {
		code = *f.StatusCode
	}
	http.Redirect(w, req, u.String(), code)
}

// rewrite applies a URLRewrite filter to the request going to the
// backend.
func rewrite(req *http.Request, m *routeMatch, f *gatewayv1.HTTPURLRewriteFilter) {
	if f.Hostname != nil {
		req.Host = string(*f.Hostname)
	}
	if f.Path != nil {
		req.URL.Path = modifiedPath(req.URL.Path, m, f.Path)
		req.URL.RawPath = ""
	}
}

// modifiedPath is a path as a path modifier changes it: replaced whole,
// or its matched prefix replaced (for a PathPrefix match).
func modifiedPath(path string, m *routeMatch, p *gatewayv1.HTTPPathModifier) string {
	if p == nil {
		return path
	}
	switch {
	case p.Type == gatewayv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil:
		return *p.ReplaceFullPath
	case p.Type == gatewayv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil && m.path == gatewayv1.PathMatchPathPrefix:
		rest := path
		if m.value != "/" {
			rest = strings.TrimPrefix(path, m.value)
		}
		out := strings.TrimRight(*p.ReplacePrefixMatch, "/") + rest
		if !strings.HasPrefix(out, "/") {
			out = "/" + out
		}
		return out
	}
	return path
}

// modifyHeaders applies a header filter: set, then add, then remove.
func modifyHeaders(h http.Header, f *gatewayv1.HTTPHeaderFilter) {
	for _, s := range f.Set {
		h.Set(string(s.Name), s.Value)
	}
	for _, a := range f.Add {
		h.Add(string(a.Name), a.Value)
	}
	for _, r := range f.Remove {
		h.Del(r)
	}
}

// applyFilters runs a rule's (or a backendRef's) filters on a request in
// order; it reports whether one answered the request (a redirect). The
// response header modifiers are collected for the proxy to apply.
func applyFilters(w http.ResponseWriter, req *http.Request, m *routeMatch, filters []gatewayv1.HTTPRouteFilter, scheme string, port int,
	response *[]*gatewayv1.HTTPHeaderFilter) bool {
	for i := range filters {
		f := &filters[i]
		switch {
		case f.RequestHeaderModifier != nil:
			modifyHeaders(req.Header, f.RequestHeaderModifier)
		case f.ResponseHeaderModifier != nil:
			*response = append(*response, f.ResponseHeaderModifier)
		case f.RequestRedirect != nil:
			redirect(w, req, m, f.RequestRedirect, scheme, port)
			return true
		case f.URLRewrite != nil:
			rewrite(req, m, f.URLRewrite)
		}
	}
	return false
}
