package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/api"
)

// File is one manifest file: its path relative to the manifest root and its
// contents.
type File struct {
	Name string
	Data []byte
}

// Error is one problem with one document of one file.
type Error struct {
	File     string
	Document int // index of the document in the file, from 0
	Field    string
	Message  string
}

// Error renders as "FILE: document N: FIELD: MESSAGE".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: document %d", e.File, e.Document)
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	return b.String()
}

// IsManifest reports whether a file name has a manifest extension.
func IsManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// ReadFS reads every manifest file under root in fsys.
func ReadFS(fsys fs.FS, root string) ([]File, error) {
	var files []File
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsManifest(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: p, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading manifests under %q: %w", root, err)
	}
	return files, nil
}

// Decode decodes, defaults and validates every document of every file. It
// returns the objects, or every error found; a commit with any error is
// rejected whole.
func Decode(files []File) (*api.ObjectSet, []error) {
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	set := &api.ObjectSet{}
	var errs []error
	for _, f := range files {
		for i, doc := range splitDocuments(f) {
			errs = append(errs, decodeDocument(set, f.Name, i, doc)...)
		}
	}
	errs = append(errs, validateSet(set)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

// splitDocuments splits a YAML stream at "---" lines. A JSON file is one
// document. Empty documents are kept so that indexes match the file.
func splitDocuments(f File) [][]byte {
	if strings.EqualFold(path.Ext(f.Name), ".json") {
		return [][]byte{f.Data}
	}
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(f.Data, []byte("\n")) {
		trimmed := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	docs = append(docs, cur.Bytes())
	if len(docs) > 1 && isBlank(docs[0]) {
		docs = docs[1:] // a leading "---" opens the first document
	}
	return docs
}

func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// kinds maps each kind berth implements to its decoder.
var kinds = map[string]func(set *api.ObjectSet, data []byte) error{
	"Namespace": func(set *api.ObjectSet, data []byte) error {
		var o corev1.Namespace
		return decodeInto(data, &o, func() { set.Namespaces = append(set.Namespaces, o) })
	},
	"Pod": func(set *api.ObjectSet, data []byte) error {
		var o corev1.Pod
		return decodeInto(data, &o, func() { set.Pods = append(set.Pods, o) })
	},
	"Deployment": func(set *api.ObjectSet, data []byte) error {
		var o appsv1.Deployment
		return decodeInto(data, &o, func() { set.Deployments = append(set.Deployments, o) })
	},
}

// kindVersions is the apiVersion of each kind berth implements.
var kindVersions = map[string]string{"Namespace": "v1", "Pod": "v1", "Deployment": "apps/v1"}

// plannedKinds are Kubernetes kinds berth will implement but does not yet.
var plannedKinds = map[string]string{
	"ReplicationController": "v1", "Service": "v1", "Endpoints": "v1", "ConfigMap": "v1", "Secret": "v1", "Node": "v1",
	"ReplicaSet": "apps/v1", "DaemonSet": "apps/v1", "StatefulSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
}

// retiredVersions are API versions Kubernetes removed, with what to use.
var retiredVersions = map[string]map[string]string{
	"extensions/v1beta1": {"Deployment": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
		"Ingress": "networking.k8s.io/v1", "NetworkPolicy": "networking.k8s.io/v1"},
	"apps/v1beta1":  {"Deployment": "apps/v1", "StatefulSet": "apps/v1"},
	"apps/v1beta2":  {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1"},
	"batch/v1beta1": {"CronJob": "batch/v1"},
}

func knownKinds() string {
	var names []string
	for k, v := range kindVersions {
		names = append(names, v+" "+k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// checkKind returns why berth cannot take an apiVersion and kind, or "".
func checkKind(tm typeMeta) (field, msg string) {
	if use, ok := retiredVersions[tm.APIVersion][tm.Kind]; ok {
		return "apiVersion", fmt.Sprintf("%s %s was removed from Kubernetes: use apiVersion %s", tm.APIVersion, tm.Kind, use)
	}
	if want, ok := kindVersions[tm.Kind]; ok {
		if tm.APIVersion != want {
			return "apiVersion", fmt.Sprintf("%s %s is not supported: use apiVersion %s", tm.APIVersion, tm.Kind, want)
		}
		return "", ""
	}
	if v, ok := plannedKinds[tm.Kind]; ok {
		return "kind", fmt.Sprintf("%s %s is not implemented by berth yet (berth knows: %s)", v, tm.Kind, knownKinds())
	}
	return "kind", fmt.Sprintf("%s %q is not a kind berth knows (berth knows: %s)", tm.APIVersion, tm.Kind, knownKinds())
}

// decodeDocument decodes one document into the set and returns every
// problem with it.
func decodeDocument(set *api.ObjectSet, file string, index int, doc []byte) []error {
	fail := func(field, format string, args ...any) []error {
		return []error{&Error{File: file, Document: index, Field: field, Message: fmt.Sprintf(format, args...)}}
	}
	if isBlank(doc) {
		return nil
	}
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fail("", "invalid YAML: %s", cleanYAMLError(err))
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var tm typeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &tm); err != nil {
		return fail("", "not a Kubernetes object: %v", err)
	}
	if tm.Kind == "" {
		return fail("kind", "required")
	}
	if tm.APIVersion == "" {
		return fail("apiVersion", "required")
	}
	if field, msg := checkKind(tm); msg != "" {
		return fail(field, "%s", msg)
	}
	if err := kinds[tm.Kind](set, data); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return fail(fe.field, "%s", fe.msg)
		}
		return fail("", "%v", err)
	}
	unsupported, err := unsupportedFields(tm.Kind, data)
	if err != nil {
		return fail("", "%v", err)
	}
	var errs []error
	for _, f := range unsupported {
		errs = append(errs, fail(f, "not supported by berth")...)
	}
	return errs
}

type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// decodeInto decodes data strictly into o and calls add on success.
func decodeInto(data []byte, o any, add func()) error {
	strict, err := kjson.UnmarshalStrict(data, o, kjson.DisallowUnknownFields)
	if err != nil {
		return typeError(err)
	}
	if len(strict) > 0 {
		return strictError(strict[0])
	}
	add()
	return nil
}

// strictError turns `unknown field "spec.foo"` into a field error.
func strictError(err error) error {
	msg := err.Error()
	for _, prefix := range []string{"unknown field ", "duplicate field "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			field := strings.Trim(rest, `"`)
			return &fieldError{field: field, msg: strings.TrimSpace(prefix)}
		}
	}
	return err
}

// typeError names the field of a JSON type mismatch.
func typeError(err error) error {
	var ute interface{ Error() string }
	ute = err
	msg := ute.Error()
	if i := strings.Index(msg, "json: cannot unmarshal "); i >= 0 {
		rest := msg[i+len("json: cannot unmarshal "):]
		if j := strings.Index(rest, " into Go struct field "); j >= 0 {
			what := rest[:j]
			field := rest[j+len(" into Go struct field "):]
			if k := strings.Index(field, " of type "); k >= 0 {
				typ := field[k+len(" of type "):]
				field = field[:k]
				if dot := strings.Index(field, "."); dot >= 0 {
					field = field[dot+1:]
				}
				return &fieldError{field: field, msg: fmt.Sprintf("cannot use %s as %s", what, typ)}
			}
		}
	}
	return err
}

func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return strings.TrimPrefix(msg, "yaml: ")
}
