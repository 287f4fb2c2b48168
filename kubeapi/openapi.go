package kubeapi

import (
	"net/http"
	"reflect"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// The OpenAPI documents are built by reflection over the k8s.io/api Go
// types: their JSON tags give the properties, their SwaggerDoc methods
// the descriptions (what `kubectl explain` prints). They are served by
// kube-openapi's own handlers: v2 at /openapi/v2 (JSON and the protobuf
// kubectl asks for), v3 at /openapi/v3 (an index, then one document per
// group version).

// kinds maps each served group version to the Go types of its kinds.
func kinds() map[schema.GroupVersion]map[string]reflect.Type {
	out := map[schema.GroupVersion]map[string]reflect.Type{}
	add := func(gvk schema.GroupVersionKind, o any) {
		gv := gvk.GroupVersion()
		if out[gv] == nil {
			out[gv] = map[string]reflect.Type{}
		}
		out[gv][gvk.Kind] = reflect.TypeOf(o).Elem()
	}
	for _, r := range resources {
		add(r.gvk, zeroOf(r))
	}
	add(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview"), &authorizationv1.SelfSubjectAccessReview{})
	add(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectRulesReview"), &authorizationv1.SelfSubjectRulesReview{})
	add(autoscalingv1.SchemeGroupVersion.WithKind("Scale"), &autoscalingv1.Scale{})
	return out
}

// schemaBuilder collects the definitions of the types it reaches.
type schemaBuilder struct {
	refPrefix string // "#/definitions/" (v2) or "#/components/schemas/" (v3)
	defs      spec.Definitions
}

var (
	timeType        = reflect.TypeOf(metav1.Time{})
	microTimeType   = reflect.TypeOf(metav1.MicroTime{})
	durationType    = reflect.TypeOf(metav1.Duration{})
	quantityType    = reflect.TypeOf(apiresource.Quantity{})
	intOrStringType = reflect.TypeOf(intstr.IntOrString{})
	rawType         = reflect.TypeOf(runtime.RawExtension{})
)

// definitionName is the name Kubernetes gives a type's definition:
// k8s.io/api/core/v1.Pod is io.k8s.api.core.v1.Pod.
func definitionName(t reflect.Type) string {
	host, path, _ := strings.Cut(t.PkgPath(), "/")
	labels := strings.Split(host, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "." + strings.ReplaceAll(path, "/", ".") + "." + t.Name()
}

// schemaOf is the schema of a field's type: a reference for a struct.
func (b *schemaBuilder) schemaOf(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType, microTimeType:
		return withFormat("date-time")
	case durationType:
		return *spec.StringProperty()
	case quantityType:
		s := spec.StringProperty()
		s.AddExtension("x-kubernetes-int-or-string", true)
		return *s
	case intOrStringType:
		s := ptr(withFormat("int-or-string"))
		s.AddExtension("x-kubernetes-int-or-string", true)
		return *s
	case rawType:
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}
	}
	switch t.Kind() {
	case reflect.String:
		return *spec.StringProperty()
	case reflect.Bool:
		return *spec.BoolProperty()
	case reflect.Int32, reflect.Uint32, reflect.Int16, reflect.Uint16, reflect.Int8, reflect.Uint8:
		return *spec.Int32Property()
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return *spec.Int64Property()
	case reflect.Float32, reflect.Float64:
		return *spec.Float64Property()
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return withFormat("byte")
		}
		return *spec.ArrayProperty(ptr(b.schemaOf(t.Elem())))
	case reflect.Map:
		return *spec.MapProperty(ptr(b.schemaOf(t.Elem())))
	case reflect.Struct:
		b.define(t)
		return *spec.RefSchema(b.refPrefix + definitionName(t))
	}
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}
}

func ptr(s spec.Schema) *spec.Schema { return &s }

func withFormat(format string) spec.Schema {
	s := spec.StringProperty()
	s.Format = format
	return *s
}

// define adds a struct type's definition, once.
func (b *schemaBuilder) define(t reflect.Type) *spec.Schema {
	name := definitionName(t)
	if s, ok := b.defs[name]; ok {
		return &s
	}
	s := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Properties: map[string]spec.Schema{}}}
	b.defs[name] = s // a placeholder against recursion (JSONSchemaProps-like types)
	doc := swaggerDoc(t)
	s.Description = doc[""]
	b.properties(t, &s, doc)
	b.defs[name] = s
	return &s
}

// properties adds a struct's JSON fields to s, inlining embedded ones.
func (b *schemaBuilder) properties(t reflect.Type, s *spec.Schema, doc map[string]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			b.properties(ft, s, swaggerDoc(ft))
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := b.schemaOf(f.Type)
		if d := doc[name]; d != "" {
			if p.Ref.String() != "" { // a description beside a $ref is dropped by some readers: wrap it
				p = spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{p}}}
			}
			p.Description = d
		}
		s.Properties[name] = p
	}
}

// swaggerDoc is a type's SwaggerDoc map, if it has one.
func swaggerDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.New(t).Elem().Interface().(interface{ SwaggerDoc() map[string]string }); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// gvkExtension marks a kind's definition, as kubectl explain looks it up.
func gvkExtension(s *spec.Schema, gvks ...schema.GroupVersionKind) {
	var list []any
	for _, gvk := range gvks {
		list = append(list, gvkMap(gvk))
	}
	s.AddExtension("x-kubernetes-group-version-kind", list)
}

func gvkMap(gvk schema.GroupVersionKind) map[string]any {
	return map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// definitions builds the definitions of the given group versions' kinds.
func definitions(refPrefix string, gvs ...schema.GroupVersion) spec.Definitions {
	b := &schemaBuilder{refPrefix: refPrefix, defs: spec.Definitions{}}
	byType := map[string][]schema.GroupVersionKind{}
	all := kinds()
	b.define(reflect.TypeOf(metav1.List{}))
	for _, gv := range gvs {
		for kind, t := range all[gv] {
			b.define(t)
			byType[definitionName(t)] = append(byType[definitionName(t)], gv.WithKind(kind))
		}
	}
	for name, gvks := range byType {
		s := b.defs[name]
		gvkExtension(&s, gvks...)
		b.defs[name] = s
	}
	return b.defs
}

// openAPIPathPrefix is where a group version's paths start.
func openAPIPathPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// openAPIV3 is the document of one group version.
func openAPIV3(gv schema.GroupVersion) *spec3.OpenAPI {
	doc := &spec3.OpenAPI{Version: "3.0.0", Info: &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes (berth)", Version: "v1.32.0"}},
		Paths: &spec3.Paths{Paths: map[string]*spec3.Path{}}, Components: &spec3.Components{Schemas: map[string]*spec.Schema{}}}
	for name, s := range definitions("#/components/schemas/", gv) {
		doc.Components.Schemas[name] = &s
	}
	for _, r := range resources {
		if r.gvk.GroupVersion() != gv {
			continue
		}
		for _, p := range resourcePaths(r) {
			op := &spec3.Operation{OperationProps: spec3.OperationProps{OperationId: p.op, Description: p.desc,
				Responses: &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{
					200: {ResponseProps: spec3.ResponseProps{Description: "OK", Content: map[string]*spec3.MediaType{
						"application/json": {MediaTypeProps: spec3.MediaTypeProps{Schema: spec.RefSchema("#/components/schemas/" + p.schema)}}}}}}}}}}
			op.VendorExtensible.AddExtension("x-kubernetes-action", p.action)
			op.VendorExtensible.AddExtension("x-kubernetes-group-version-kind", gvkMap(r.gvk))
			doc.Paths.Paths[p.path] = &spec3.Path{PathProps: spec3.PathProps{Get: op}}
		}
	}
	return doc
}

// openAPIV2 is the Swagger 2.0 document of every served group version.
func openAPIV2() *spec.Swagger {
	doc := &spec.Swagger{SwaggerProps: spec.SwaggerProps{Swagger: "2.0", Info: &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes (berth)", Version: "v1.32.0"}},
		Paths: &spec.Paths{Paths: map[string]spec.PathItem{}}}}
	doc.Definitions = definitions("#/definitions/", groupVersions()...)
	for _, r := range resources {
		for _, p := range resourcePaths(r) {
			op := &spec.Operation{OperationProps: spec.OperationProps{ID: p.op, Description: p.desc, Produces: []string{"application/json"},
				Responses: &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{
					200: {ResponseProps: spec.ResponseProps{Description: "OK", Schema: spec.RefSchema("#/definitions/" + p.schema)}}}}}}}
			op.AddExtension("x-kubernetes-action", p.action)
			op.AddExtension("x-kubernetes-group-version-kind", gvkMap(r.gvk))
			doc.Paths.Paths[p.path] = spec.PathItem{PathItemProps: spec.PathItemProps{Get: op}}
		}
	}
	return doc
}

// openAPIPath is one read path: its operation, and the definition of what
// it answers.
type openAPIPath struct{ path, op, action, desc, schema string }

// resourcePaths are a resource's read paths: list (everywhere and in a
// namespace) and get.
func resourcePaths(r *resource) []openAPIPath {
	base := "/" + openAPIPathPrefix(r.gvk.GroupVersion())
	kind, list := definitionName(reflect.TypeOf(zeroOf(r)).Elem()), "io.k8s.apimachinery.pkg.apis.meta.v1.List"
	op := "list" + r.gvk.Kind
	desc := "list or watch objects of kind " + r.gvk.Kind
	out := []openAPIPath{{base + "/" + r.plural, op + "ForAllNamespaces", "list", desc, list}}
	item := base + "/" + r.plural + "/{name}"
	if r.namespaced {
		out = append(out, openAPIPath{base + "/namespaces/{namespace}/" + r.plural, "listNamespaced" + r.gvk.Kind, "list", desc, list})
		item = base + "/namespaces/{namespace}/" + r.plural + "/{name}"
	}
	return append(out, openAPIPath{item, "read" + r.gvk.Kind, "get", "read the specified " + r.gvk.Kind, kind})
}

// openAPIHandler serves /openapi/v2 and /openapi/v3 with kube-openapi's
// handlers, which negotiate JSON or protobuf and set ETags.
func openAPIHandler() http.Handler {
	mux := &prefixMux{ServeMux: http.NewServeMux()}
	handler.NewOpenAPIService(openAPIV2()).RegisterOpenAPIVersionedService("/openapi/v2", mux)
	v3 := handler3.NewOpenAPIService()
	for _, gv := range groupVersions() {
		v3.UpdateGroupVersion(openAPIPathPrefix(gv), openAPIV3(gv))
	}
	v3.RegisterOpenAPIV3VersionedService("/openapi/v3", mux)
	return mux
}

// prefixMux is the PathHandlerByGroupVersion kube-openapi registers on.
type prefixMux struct{ *http.ServeMux }

// HandlePrefix serves every path under prefix.
func (m *prefixMux) HandlePrefix(prefix string, h http.Handler) { m.ServeMux.Handle(prefix, h) }
