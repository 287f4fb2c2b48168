package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/api"
)

// File is one manifest file: its path relative to the repository root and
// its contents. Hash, when set, names the contents (a Git blob hash): a
// Decoder that saw the same name and hash before reuses what it decoded,
// and then Data may be nil.
type File struct {
	Name string
	Data []byte
	Hash string
	Size int64
}

// Limits bound what one commit may hold: its sizes, and the addresses
// its Services may take.
type Limits struct {
	MaxFileBytes   int64
	MaxCommitBytes int64
	MaxObjects     int
	// Services is the cluster's service network (the default one where
	// unset): cluster IPs must be in its range and not its DNS address.
	Services api.ServiceNetwork
}

// DefaultLimits are 1 MiB per file, 64 MiB and 10,000 objects per commit,
// and Kubernetes' default service network.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 1 << 20, MaxCommitBytes: 64 << 20, MaxObjects: 10000, Services: api.DefaultServiceNetwork()}
}

// IsManifest reports whether a file name has a manifest extension.
func IsManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// InDotDir reports whether a path lies under a folder whose name starts
// with a dot (.git, .github, …); such folders are skipped.
func InDotDir(p string) bool {
	parts := strings.Split(p, "/")
	for _, part := range parts[:len(parts)-1] {
		if strings.HasPrefix(part, ".") && part != "." && part != ".." {
			return true
		}
	}
	return false
}

// ReadFS reads every manifest file under root in fsys, skipping dot
// folders.
func ReadFS(fsys fs.FS, root string) ([]File, error) {
	var files []File
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !IsManifest(p) {
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

// object is one decoded document, with where it came from.
type object struct {
	file  string
	index int // the document's index in the file
	line  int // first line of the document in the file
	doc   []byte
	kind  string
	meta  *metav1.ObjectMeta
	value any // *corev1.Pod, *appsv1.Deployment, …
}

func (o *object) id() string { return objectID(o.kind, o.meta.Namespace, o.meta.Name) }

// clusterScoped are the kinds without a namespace.
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "IngressClass": true, "GatewayClass": true,
	"StorageClass": true, "PersistentVolume": true}

// objectID is "Kind/namespace/name", or "Kind/name" for a cluster-scoped
// kind.
func objectID(kind, namespace, name string) string {
	if clusterScoped[kind] {
		return kind + "/" + name
	}
	if namespace == "" {
		namespace = corev1.NamespaceDefault
	}
	return kind + "/" + namespace + "/" + name
}

// errorAt locates a field error of the object in its file.
func (o *object) errorAt(fe *fieldError) error {
	line := o.line
	if l := lineOf(o.doc, fe.field); l > 0 {
		line = o.line + l - 1
	}
	return &Error{File: o.file, Line: line, Document: o.index, Object: o.id(), Field: fe.field, Message: fe.msg}
}

// Decode decodes, defaults and validates every document of every file with
// the default limits.
func Decode(files []File) (*api.ObjectSet, []error) { return DecodeWithLimits(files, DefaultLimits()) }

// DecodeWithLimits decodes, defaults and validates every document of every
// file. It returns the objects, or every error found: a commit with any
// error is refused whole.
func DecodeWithLimits(files []File, limits Limits) (*api.ObjectSet, []error) {
	return NewDecoder(limits).Decode(files)
}

// Decoder decodes commits one after another. It keeps what each file of
// the last commit decoded to, by name and hash, so that the next commit
// decodes and validates only the files that changed; the checks between
// objects (duplicates, namespaces, references) always see every object.
type Decoder struct {
	limits Limits
	mu     sync.Mutex
	last   map[fileKey]*decodedFile
}

type fileKey struct{ name, hash string }

// decodedFile is one file's size, objects (defaulted) and own errors.
type decodedFile struct {
	size int64
	objs []*object
	errs []error
}

// NewDecoder returns a decoder with the given limits.
func NewDecoder(limits Limits) *Decoder {
	return &Decoder{limits: limits, last: map[fileKey]*decodedFile{}}
}

// Known reports whether the decoder holds the file's decoding from the
// last commit, so that its contents need not be read.
func (d *Decoder) Known(name, hash string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return hash != "" && d.last[fileKey{name, hash}] != nil
}

// Decode decodes, defaults and validates a commit's files, as
// DecodeWithLimits does.
func (d *Decoder) Decode(files []File) (*api.ObjectSet, []error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var objs []*object
	var errs []error
	var total int64
	next := map[fileKey]*decodedFile{}
	for _, f := range files {
		key := fileKey{f.Name, f.Hash}
		df := d.last[key]
		if df == nil || f.Hash == "" {
			if f.Data == nil && f.Hash != "" {
				errs = append(errs, &Error{File: f.Name, Message: "contents not read (the decoder no longer holds them)"})
				continue
			}
			df = d.decodeFile(f)
		}
		total += df.size
		if f.Hash != "" {
			next[key] = df
		}
		objs = append(objs, df.objs...)
		errs = append(errs, df.errs...)
	}
	d.last = next
	if total > d.limits.MaxCommitBytes {
		errs = append(errs, &Error{File: "(commit)", Message: fmt.Sprintf("manifests total %d bytes, over the limit of %d", total, d.limits.MaxCommitBytes)})
	}
	if len(objs) > d.limits.MaxObjects {
		errs = append(errs, &Error{File: "(commit)", Message: fmt.Sprintf("%d objects, over the limit of %d", len(objs), d.limits.MaxObjects)})
	}
	errs = append(errs, crossCheck(objs)...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	return buildSet(objs), nil
}

// decodeFile decodes, defaults and validates the documents of one file.
func (d *Decoder) decodeFile(f File) *decodedFile {
	df := &decodedFile{size: int64(len(f.Data))}
	if err := checkFile(f, d.limits); err != nil {
		df.errs = append(df.errs, err)
		return df
	}
	for i, doc := range splitDocuments(f) {
		o, derrs := decodeDocument(f.Name, i, doc)
		df.errs = append(df.errs, derrs...)
		if o == nil {
			continue
		}
		df.objs = append(df.objs, o)
		for _, fe := range validateObject(o, d.limits.Services.OrDefault()) {
			df.errs = append(df.errs, o.errorAt(fe))
		}
	}
	return df
}

// sortErrors orders errors by file and line, keeping the order of errors
// on the same line.
func sortErrors(errs []error) {
	key := func(e error) (string, int) {
		var me *Error
		if errors.As(e, &me) {
			return me.File, me.Line
		}
		return "", 0
	}
	sort.SliceStable(errs, func(i, j int) bool {
		fi, li := key(errs[i])
		fj, lj := key(errs[j])
		if fi != fj {
			return fi < fj
		}
		return li < lj
	})
}

func checkFile(f File, limits Limits) error {
	if int64(len(f.Data)) > limits.MaxFileBytes {
		return &Error{File: f.Name, Message: fmt.Sprintf("file is %d bytes, over the limit of %d", len(f.Data), limits.MaxFileBytes)}
	}
	if !utf8.Valid(f.Data) {
		line := 1 + bytes.Count(f.Data[:firstInvalidUTF8(f.Data)], []byte("\n"))
		return &Error{File: f.Name, Line: line, Message: "invalid UTF-8"}
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// document is one YAML document of a file and the line it starts on.
type document struct {
	data []byte
	line int
}

// splitDocuments splits a YAML stream at "---" lines. A JSON file is one
// document.
func splitDocuments(f File) []document {
	if strings.EqualFold(path.Ext(f.Name), ".json") {
		return []document{{data: f.Data, line: 1}}
	}
	var docs []document
	var cur bytes.Buffer
	start := 1
	for n, line := range bytes.SplitAfter(f.Data, []byte("\n")) {
		trimmed := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			docs = append(docs, document{data: bytes.Clone(cur.Bytes()), line: start})
			cur.Reset()
			start = n + 2
			continue
		}
		cur.Write(line)
	}
	docs = append(docs, document{data: cur.Bytes(), line: start})
	if len(docs) > 1 && isBlank(docs[0].data) {
		docs = docs[1:] // a leading "---" opens the first document
	}
	return docs
}

// firstLine is the line of the document's first non-blank, non-comment line.
func (d document) firstLine() int {
	for i, line := range bytes.Split(d.data, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return d.line + i
		}
	}
	return d.line
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
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
}

// kinds maps each kind berth implements to a constructor of its value and
// the way to reach its metadata.
var kinds = map[string]func() (any, *metav1.ObjectMeta){
	"Namespace":  func() (any, *metav1.ObjectMeta) { o := &corev1.Namespace{}; return o, &o.ObjectMeta },
	"Node":       func() (any, *metav1.ObjectMeta) { o := &corev1.Node{}; return o, &o.ObjectMeta },
	"ConfigMap":  func() (any, *metav1.ObjectMeta) { o := &corev1.ConfigMap{}; return o, &o.ObjectMeta },
	"Secret":     func() (any, *metav1.ObjectMeta) { o := &corev1.Secret{}; return o, &o.ObjectMeta },
	"Pod":        func() (any, *metav1.ObjectMeta) { o := &corev1.Pod{}; return o, &o.ObjectMeta },
	"Deployment": func() (any, *metav1.ObjectMeta) { o := &appsv1.Deployment{}; return o, &o.ObjectMeta },
	"ReplicaSet": func() (any, *metav1.ObjectMeta) { o := &appsv1.ReplicaSet{}; return o, &o.ObjectMeta },
	"ReplicationController": func() (any, *metav1.ObjectMeta) {
		o := &corev1.ReplicationController{}
		return o, &o.ObjectMeta
	},
	"DaemonSet":   func() (any, *metav1.ObjectMeta) { o := &appsv1.DaemonSet{}; return o, &o.ObjectMeta },
	"StatefulSet": func() (any, *metav1.ObjectMeta) { o := &appsv1.StatefulSet{}; return o, &o.ObjectMeta },
	"Job":         func() (any, *metav1.ObjectMeta) { o := &batchv1.Job{}; return o, &o.ObjectMeta },
	"CronJob":     func() (any, *metav1.ObjectMeta) { o := &batchv1.CronJob{}; return o, &o.ObjectMeta },
	"Service":     func() (any, *metav1.ObjectMeta) { o := &corev1.Service{}; return o, &o.ObjectMeta },
	"Endpoints":   func() (any, *metav1.ObjectMeta) { o := &corev1.Endpoints{}; return o, &o.ObjectMeta },
	"NetworkPolicy": func() (any, *metav1.ObjectMeta) {
		o := &networkingv1.NetworkPolicy{}
		return o, &o.ObjectMeta
	},
	"Ingress": func() (any, *metav1.ObjectMeta) { o := &networkingv1.Ingress{}; return o, &o.ObjectMeta },
	"IngressClass": func() (any, *metav1.ObjectMeta) {
		o := &networkingv1.IngressClass{}
		return o, &o.ObjectMeta
	},
	"GatewayClass": func() (any, *metav1.ObjectMeta) { o := &gatewayv1.GatewayClass{}; return o, &o.ObjectMeta },
	"Gateway":      func() (any, *metav1.ObjectMeta) { o := &gatewayv1.Gateway{}; return o, &o.ObjectMeta },
	"HTTPRoute":    func() (any, *metav1.ObjectMeta) { o := &gatewayv1.HTTPRoute{}; return o, &o.ObjectMeta },
	"ReferenceGrant": func() (any, *metav1.ObjectMeta) {
		o := &gatewayv1.ReferenceGrant{}
		return o, &o.ObjectMeta
	},
	"StorageClass": func() (any, *metav1.ObjectMeta) { o := &storagev1.StorageClass{}; return o, &o.ObjectMeta },
	"PersistentVolume": func() (any, *metav1.ObjectMeta) {
		o := &corev1.PersistentVolume{}
		return o, &o.ObjectMeta
	},
	"PersistentVolumeClaim": func() (any, *metav1.ObjectMeta) {
		o := &corev1.PersistentVolumeClaim{}
		return o, &o.ObjectMeta
	},
}

// kindVersions is the apiVersion of each kind berth implements.
var kindVersions = map[string]string{
	"Namespace": "v1", "Node": "v1", "ConfigMap": "v1", "Secret": "v1", "Pod": "v1", "ReplicationController": "v1",
	"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "DaemonSet": "apps/v1", "StatefulSet": "apps/v1",
	"Job": "batch/v1", "CronJob": "batch/v1", "Service": "v1", "Endpoints": "v1",
	"NetworkPolicy": "networking.k8s.io/v1", "Ingress": "networking.k8s.io/v1", "IngressClass": "networking.k8s.io/v1",
	"GatewayClass": gatewayv1.GroupVersion.String(), "Gateway": gatewayv1.GroupVersion.String(),
	"HTTPRoute": gatewayv1.GroupVersion.String(), "ReferenceGrant": gatewayv1.GroupVersion.String(),
	"StorageClass": "storage.k8s.io/v1", "PersistentVolume": "v1", "PersistentVolumeClaim": "v1",
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
	return "kind", fmt.Sprintf("%s %q is not a kind berth knows (berth knows: %s)", tm.APIVersion, tm.Kind, knownKinds())
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeDocument decodes one document strictly; it returns the object, or
// every problem with it.
func decodeDocument(file string, index int, d document) (*object, []error) {
	if isBlank(d.data) {
		return nil, nil
	}
	at := &Error{File: file, Line: d.firstLine(), Document: index}
	fail := func(field, format string, args ...any) []error {
		e := *at
		e.Field, e.Message = field, fmt.Sprintf(format, args...)
		if l := lineOf(d.data, field); field != "" && l > 0 {
			e.Line = d.line + l - 1
		}
		return []error{&e}
	}
	data, err := yaml.YAMLToJSON(d.data)
	if err != nil {
		msg := cleanYAMLError(err)
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			at.Line = d.line + n - 1
			msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
		}
		return nil, fail("", "invalid YAML: %s", msg)
	}
	if t := bytes.TrimSpace(data); bytes.Equal(t, []byte("null")) {
		return nil, nil
	} else if len(t) == 0 || t[0] != '{' {
		return nil, fail("", "not a Kubernetes object: a document must be a mapping")
	}
	var tm typeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &tm); err != nil {
		return nil, fail("", "not a Kubernetes object: %v", typeError(err))
	}
	if tm.Metadata.Name != "" && tm.Kind != "" {
		at.Object = objectID(tm.Kind, tm.Metadata.Namespace, tm.Metadata.Name)
	}
	switch {
	case tm.Kind == "":
		return nil, fail("kind", "required")
	case tm.APIVersion == "":
		return nil, fail("apiVersion", "required")
	}
	if field, msg := checkKind(tm); msg != "" {
		return nil, fail(field, "%s", msg)
	}
	value, meta := kinds[tm.Kind]()
	strict, err := kjson.UnmarshalStrict(data, value, kjson.DisallowUnknownFields)
	var errs []error
	if err != nil {
		var fe *fieldError
		if errors.As(typeError(err), &fe) {
			return nil, fail(fe.field, "%s", fe.msg)
		}
		return nil, fail("", "%v", err)
	}
	for _, se := range strict {
		fe := strictError(se)
		errs = append(errs, fail(fe.field, "%s", fe.msg)...)
	}
	if len(errs) > 0 {
		return nil, errs // unknown fields: the check of supported ones would repeat them
	}
	unsupported, err := unsupportedFields(tm.Kind, data)
	if err != nil {
		return nil, fail("", "%v", err)
	}
	for _, f := range unsupported {
		errs = append(errs, fail(f, "not supported by berth")...)
	}
	// With unsupported fields the object is still validated, so that every
	// error of the commit is reported at once.
	return &object{file: file, index: index, line: d.line, doc: d.data, kind: tm.Kind, meta: meta, value: value}, errs
}

// strictError turns `unknown field "spec.foo"` into a field error.
func strictError(err error) *fieldError {
	msg := err.Error()
	for _, prefix := range []string{"unknown field ", "duplicate field "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return &fieldError{field: strings.Trim(rest, `"`), msg: strings.TrimSpace(prefix)}
		}
	}
	return &fieldError{msg: msg}
}

// typeError names the field of a JSON type mismatch.
func typeError(err error) error {
	msg := err.Error()
	i := strings.Index(msg, "json: cannot unmarshal ")
	if i < 0 {
		return err
	}
	rest := msg[i+len("json: cannot unmarshal "):]
	j := strings.Index(rest, " into Go struct field ")
	if j < 0 {
		return err
	}
	what, field := rest[:j], rest[j+len(" into Go struct field "):]
	k := strings.Index(field, " of type ")
	if k < 0 {
		return err
	}
	typ := field[k+len(" of type "):]
	field = field[:k]
	if dot := strings.Index(field, "."); dot >= 0 {
		field = field[dot+1:]
	}
	return &fieldError{field: field, msg: fmt.Sprintf("cannot use %s as %s", what, typ)}
}

func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return strings.TrimPrefix(msg, "yaml: ")
}

// buildSet gathers copies of the objects, in file order, into an
// ObjectSet (a Decoder keeps the objects for the next commit; whoever gets
// the set may change it).
func buildSet(objs []*object) *api.ObjectSet {
	set := &api.ObjectSet{}
	for _, o := range objs {
		switch v := o.value.(type) {
		case *corev1.Namespace:
			set.Namespaces = append(set.Namespaces, *v.DeepCopy())
		case *corev1.Node:
			set.Nodes = append(set.Nodes, *v.DeepCopy())
		case *corev1.ConfigMap:
			set.ConfigMaps = append(set.ConfigMaps, *v.DeepCopy())
		case *corev1.Secret:
			set.Secrets = append(set.Secrets, *v.DeepCopy())
		case *corev1.Pod:
			set.Pods = append(set.Pods, *v.DeepCopy())
		case *appsv1.Deployment:
			set.Deployments = append(set.Deployments, *v.DeepCopy())
		case *appsv1.ReplicaSet:
			set.ReplicaSets = append(set.ReplicaSets, *v.DeepCopy())
		case *corev1.ReplicationController:
			set.ReplicationControllers = append(set.ReplicationControllers, *v.DeepCopy())
		case *appsv1.DaemonSet:
			set.DaemonSets = append(set.DaemonSets, *v.DeepCopy())
		case *appsv1.StatefulSet:
			set.StatefulSets = append(set.StatefulSets, *v.DeepCopy())
		case *batchv1.Job:
			set.Jobs = append(set.Jobs, *v.DeepCopy())
		case *batchv1.CronJob:
			set.CronJobs = append(set.CronJobs, *v.DeepCopy())
		case *corev1.Service:
			set.Services = append(set.Services, *v.DeepCopy())
		case *corev1.Endpoints:
			set.Endpoints = append(set.Endpoints, *v.DeepCopy())
		case *networkingv1.NetworkPolicy:
			set.NetworkPolicies = append(set.NetworkPolicies, *v.DeepCopy())
		case *networkingv1.Ingress:
			set.Ingresses = append(set.Ingresses, *v.DeepCopy())
		case *networkingv1.IngressClass:
			set.IngressClasses = append(set.IngressClasses, *v.DeepCopy())
		case *gatewayv1.GatewayClass:
			set.GatewayClasses = append(set.GatewayClasses, *v.DeepCopy())
		case *gatewayv1.Gateway:
			set.Gateways = append(set.Gateways, *v.DeepCopy())
		case *gatewayv1.HTTPRoute:
			set.HTTPRoutes = append(set.HTTPRoutes, *v.DeepCopy())
		case *gatewayv1.ReferenceGrant:
			set.ReferenceGrants = append(set.ReferenceGrants, *v.DeepCopy())
		case *storagev1.StorageClass:
			set.StorageClasses = append(set.StorageClasses, *v.DeepCopy())
		case *corev1.PersistentVolume:
			set.PersistentVolumes = append(set.PersistentVolumes, *v.DeepCopy())
		case *corev1.PersistentVolumeClaim:
			set.PersistentVolumeClaims = append(set.PersistentVolumeClaims, *v.DeepCopy())
		}
	}
	return set
}
