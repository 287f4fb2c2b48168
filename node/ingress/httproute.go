package ingress

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// AttachedRoute is an HTTPRoute attached to one listener of a Gateway,
// with the hostnames it serves there: the intersection of the listener's
// and the route's (none: every host).
type AttachedRoute struct {
	Route     *gatewayv1.HTTPRoute
	Hostnames []string
	// Backends resolves a backendRef of the route (its namespace
	// applied) to a Backend; nil when it does not resolve (the share of
	// requests it would take gets 500, as the specification asks).
	Backends func(ref gatewayv1.BackendObjectReference) *Backend
}

// Router routes the requests of one listener by its HTTPRoutes.
type Router struct {
	https    bool                     // the listeners serve HTTPS
	exact    map[string][]*routeMatch // by host
	wildcard []wildcardHost           // longest suffix first
	anyHost  []*routeMatch
}

type wildcardHost struct {
	suffix string // ".example.com" for "*.example.com"
	rules  []*routeMatch
}

// routeMatch is one match of one rule of a route, with the rule's
// filters and backends; the order of a slice of them is the precedence
// the Gateway API specification defines (see precedes).
type routeMatch struct {
	path       gatewayv1.PathMatchType
	value      string // the path, without its trailing slash for a prefix
	pathRegexp *regexp.Regexp
	method     string
	headers    []valueMatch
	query      []valueMatch
	// for precedence: the route's creation and key, the rule and match
	// indexes.
	created   int64
	key       string
	rule, idx int
	filters   []gatewayv1.HTTPRouteFilter
	backends  *weighted
}

// valueMatch is a header or query parameter match.
type valueMatch struct {
	name   string
	value  string
	re     *regexp.Regexp
	header bool
}

// NewRouter compiles the routes attached to a listener. A match whose
// regular expression does not compile is left out.
func NewRouter(routes []AttachedRoute) *Router {
	r := &Router{exact: map[string][]*routeMatch{}}
	wild := map[string][]*routeMatch{}
	for _, ar := range routes {
		matches := compileRoute(ar)
		hosts := ar.Hostnames
		if len(hosts) == 0 {
			r.anyHost = append(r.anyHost, matches...)
			continue
		}
		for _, h := range hosts {
			h = strings.ToLower(h)
			if suffix, ok := strings.CutPrefix(h, "*"); ok {
				wild[suffix] = append(wild[suffix], matches...)
			} else {
				r.exact[h] = append(r.exact[h], matches...)
			}
		}
	}
	for suffix, ms := range wild {
		r.wildcard = append(r.wildcard, wildcardHost{suffix: suffix, rules: ms})
	}
	slices.SortFunc(r.wildcard, func(a, b wildcardHost) int { return cmp.Compare(len(b.suffix), len(a.suffix)) })
	sortMatches(r.anyHost)
	for _, ms := range r.exact {
		sortMatches(ms)
	}
	for i := range r.wildcard {
		sortMatches(r.wildcard[i].rules)
	}
	return r
}

// compileRoute turns a route's rules into matches; a rule without
// matches matches every path.
func compileRoute(ar AttachedRoute) []*routeMatch {
	rt := ar.Route
	var out []*routeMatch
	for i, rule := range rt.Spec.Rules {
		backends := newWeighted(rule.BackendRefs, ar.Backends)
		matches := rule.Matches
		if len(matches) == 0 {
			matches = []gatewayv1.HTTPRouteMatch{{}}
		}
		for j, m := range matches {
			rm, ok := compileMatch(m)
			if !ok {
				continue
			}
			rm.created, rm.key, rm.rule, rm.idx = rt.CreationTimestamp.UnixNano(), rt.Namespace+"/"+rt.Name, i, j
			rm.filters, rm.backends = rule.Filters, backends
			out = append(out, rm)
		}
	}
	return out
}

// compileMatch compiles one match; ok is false when a regular
// expression does not compile.
func compileMatch(m gatewayv1.HTTPRouteMatch) (*routeMatch, bool) {
	rm := &routeMatch{path: gatewayv1.PathMatchPathPrefix, value: "/"}
	if p := m.Path; p != nil {
		if p.Type != nil {
			rm.path = *p.Type
		}
		if p.Value != nil {
			rm.value = *p.Value
		}
	}
	switch rm.path {
	case gatewayv1.PathMatchPathPrefix:
		if rm.value != "/" {
			rm.value = strings.TrimRight(rm.value, "/")
		}
	case gatewayv1.PathMatchRegularExpression:
		re, err := regexp.Compile("^(?:" + rm.value + ")$")
		if err != nil {
			return nil, false
		}
		rm.pathRegexp = re
	}
	if m.Method != nil {
		rm.method = string(*m.Method)
	}
	for _, h := range m.Headers {
		vm, ok := compileValue(string(h.Name), h.Value, h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression)
		if !ok {
			return nil, false
		}
		vm.header = true
		rm.headers = append(rm.headers, vm)
	}
	for _, q := range m.QueryParams {
		vm, ok := compileValue(string(q.Name), q.Value, q.Type != nil && *q.Type == gatewayv1.QueryParamMatchRegularExpression)
		if !ok {
			return nil, false
		}
		rm.query = append(rm.query, vm)
	}
	return rm, true
}

func compileValue(name, value string, isRegexp bool) (valueMatch, bool) {
	vm := valueMatch{name: name, value: value}
	if isRegexp {
		re, err := regexp.Compile(value)
		if err != nil {
			return vm, false
		}
		vm.re = re
	}
	return vm, true
}

// sortMatches orders matches by the specification's precedence: an Exact
// path, then a regular expression (their place is the implementation's to
// choose: before prefixes, as Envoy Gateway puts them), then the longest
// prefix; a method, more header matches, more query matches; then
// the oldest route, the first by namespace/name, the first rule and
// match.
func sortMatches(ms []*routeMatch) {
	slices.SortStableFunc(ms, func(a, b *routeMatch) int {
		return cmp.Or(
			cmp.Compare(b.pathRank(), a.pathRank()),
			cmp.Compare(len(b.value), len(a.value)),
			cmp.Compare(boolRank(b.method != ""), boolRank(a.method != "")),
			cmp.Compare(len(b.headers), len(a.headers)),
			cmp.Compare(len(b.query), len(a.query)),
			cmp.Compare(a.created, b.created),
			cmp.Compare(a.key, b.key),
			cmp.Compare(a.rule, b.rule),
			cmp.Compare(a.idx, b.idx),
		)
	})
}

// pathRank puts Exact first, then regular expressions, then prefixes.
func (m *routeMatch) pathRank() int {
	switch m.path {
	case gatewayv1.PathMatchExact:
		return 2
	case gatewayv1.PathMatchRegularExpression:
		return 1
	}
	return 0
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Route finds the first match of a request (its Host without the port):
// among the routes of the exact host, else of the longest wildcard
// suffix that covers it, else of the routes without hostnames.
func (r *Router) Route(req *http.Request, host string) (*routeMatch, bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	ms, ok := r.exact[host]
	if !ok {
		for _, w := range r.wildcard {
			if strings.HasSuffix(host, w.suffix) && len(host) > len(w.suffix) {
				ms, ok = w.rules, true
				break
			}
		}
	}
	if !ok {
		ms = r.anyHost
	}
	for _, m := range ms {
		if m.matches(req) {
			return m, true
		}
	}
	return nil, false
}

// matches reports whether a request meets every condition of the match.
func (m *routeMatch) matches(req *http.Request) bool {
	path := req.URL.Path
	if path == "" {
		path = "/"
	}
	switch m.path {
	case gatewayv1.PathMatchExact:
		if path != m.value {
			return false
		}
	case gatewayv1.PathMatchPathPrefix:
		if m.value != "/" && !(strings.HasPrefix(path, m.value) && (len(path) == len(m.value) || path[len(m.value)] == '/')) {
			return false
		}
	case gatewayv1.PathMatchRegularExpression:
		if !m.pathRegexp.MatchString(path) {
			return false
		}
	}
	if m.method != "" && req.Method != m.method {
		return false
	}
	for _, h := range m.headers {
		if !h.matches(req.Header.Values(h.name)) {
			return false
		}
	}
	q := req.URL.Query()
	for _, p := range m.query {
		if !p.matches(q[p.name]) {
			return false
		}
	}
	return true
}

// matches checks a header's or query parameter's values: the first one
// counts (headers of one name are joined, as HTTP allows).
func (v valueMatch) matches(values []string) bool {
	if len(values) == 0 {
		return false
	}
	got := values[0]
	if v.header {
		got = strings.Join(values, ",")
	}
	if v.re != nil {
		return v.re.MatchString(got)
	}
	return got == v.value
}

// weighted chooses among a rule's backends by weight, smooth weighted
// round robin (nginx's): exact shares, spread out.
type weighted struct {
	mu      sync.Mutex
	members []weightedMember
	total   int
}

type weightedMember struct {
	backend *Backend // nil: the ref did not resolve
	filters []gatewayv1.HTTPRouteFilter
	weight  int
	current int
}

func newWeighted(refs []gatewayv1.HTTPBackendRef, resolve func(gatewayv1.BackendObjectReference) *Backend) *weighted {
	w := &weighted{}
	for _, ref := range refs {
		weight := 1
		if ref.Weight != nil {
			weight = int(*ref.Weight)
		}
		if weight <= 0 {
			continue
		}
		var b *Backend
		if resolve != nil {
			b = resolve(ref.BackendObjectReference)
		}
		w.members = append(w.members, weightedMember{backend: b, filters: ref.Filters, weight: weight})
		w.total += weight
	}
	return w
}

// pick chooses the next backend ref; ok is false when the rule has none
// (the request gets 500). A nil Backend is a ref that did not resolve.
func (w *weighted) pick() (*Backend, []gatewayv1.HTTPRouteFilter, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.members) == 0 {
		return nil, nil, false
	}
	best := -1
	for i := range w.members {
		m := &w.members[i]
		m.current += m.weight
		if best < 0 || m.current > w.members[best].current {
			best = i
		}
	}
	w.members[best].current -= w.total
	return w.members[best].backend, w.members[best].filters, true
}
