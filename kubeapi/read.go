package kubeapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
)

// freshWait bounds how long a read waits for the cache to reach the
// resourceVersion it asks for (kube-apiserver waits 3 s too).
const freshWait = 3 * time.Second

// selection is what a list or watch keeps: a namespace, a label and a
// field selector.
type selection struct {
	res       *resource
	namespace string
	labels    labels.Selector
	fields    fields.Selector
}

func newSelection(r *http.Request, req request) (*selection, error) {
	q := r.URL.Query()
	sel := &selection{res: req.res, namespace: req.namespace}
	var err error
	if sel.labels, err = labels.Parse(q.Get("labelSelector")); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("labelSelector %q: %v", q.Get("labelSelector"), err))
	}
	if sel.fields, err = fields.ParseSelector(q.Get("fieldSelector")); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("fieldSelector %q: %v", q.Get("fieldSelector"), err))
	}
	known := req.res.fieldSet(zeroOf(req.res))
	for _, f := range sel.fields.Requirements() {
		if _, ok := known[f.Field]; !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("fieldSelector %q: field label not supported: %s", q.Get("fieldSelector"), f.Field))
		}
	}
	return sel, nil
}

// matches reports whether the selection keeps o.
func (sel *selection) matches(o Object) bool {
	if sel.namespace != "" && o.GetNamespace() != sel.namespace {
		return false
	}
	if !sel.labels.Empty() && !sel.labels.Matches(labels.Set(o.GetLabels())) {
		return false
	}
	return sel.fields.Empty() || sel.fields.Matches(sel.res.fieldSet(o))
}

// present is an object as a caller gets it: in the resource's form, and
// a Secret opened for those who may read its values, redacted for the
// others (viewers), as berth shows Secrets everywhere.
func (s *Server) present(id auth.Identity, res *resource, o Object) Object {
	if res.convert != nil {
		o = res.convert(o)
	}
	sec, ok := o.(*corev1.Secret)
	if !ok {
		return o
	}
	if !id.CanReadSecrets() || s.cfg.OpenSecret == nil {
		return redactSecret(sec, s.cfg.SealedAnnotation)
	}
	plain, err := s.cfg.OpenSecret(sec)
	if err != nil {
		s.log.Error("cannot open a Secret for the Kubernetes API", "secret", objectKey(sec), "err", err)
		return redactSecret(sec, s.cfg.SealedAnnotation)
	}
	plain.TypeMeta, plain.ResourceVersion = sec.TypeMeta, sec.ResourceVersion
	return &plain
}

// redactSecret is a copy of a Secret with every value replaced by
// api.Redacted and the sealing annotation left out.
func redactSecret(sec *corev1.Secret, sealed string) *corev1.Secret {
	out := sec.DeepCopy()
	delete(out.Annotations, sealed)
	for k := range out.Data {
		out.Data[k] = []byte(api.Redacted)
	}
	for k := range out.StringData {
		out.StringData[k] = api.Redacted
	}
	return out
}

// fresh waits, as the request's resourceVersion asks, for the cache to
// be recent enough: the store's latest index when none is given (a
// consistent read), at least the one given otherwise.
func (s *Server) fresh(r *http.Request) error {
	q := r.URL.Query()
	rv := q.Get("resourceVersion")
	if rv == "0" {
		s.cache.waitIndex(r.Context(), 0)
		return nil
	}
	want := s.cfg.Source.Index()
	if rv != "" {
		n, err := strconv.ParseUint(rv, 10, 64)
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("resourceVersion %q: not a number", rv))
		}
		want = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), freshWait)
	defer cancel()
	if !s.cache.waitIndex(ctx, want) {
		if rv == "" {
			return nil // the newest the cache has
		}
		return apierrors.NewTimeoutError("Too large resource version: "+rv, 1)
	}
	if q.Get("resourceVersionMatch") == string(metav1.ResourceVersionMatchExact) {
		if _, at := s.cache.current(""); strconv.FormatUint(at, 10) != rv {
			return apierrors.NewResourceExpired(fmt.Sprintf("resourceVersion %s is not the current one (%d): older ones are not kept", rv, at))
		}
	}
	return nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, req request) {
	sel, err := newSelection(r, req)
	if err == nil {
		err = s.fresh(r)
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	objs, index := s.cache.current(req.res.from)
	kept, id := objs[:0], identityOf(r)
	for _, o := range objs {
		if sel.matches(o) {
			kept = append(kept, s.present(id, req.res, o))
		}
	}
	sort.Slice(kept, func(i, j int) bool { return objectKey(kept[i]) < objectKey(kept[j]) })
	rv := strconv.FormatUint(index, 10)
	if f, ok := tableFormat(r); ok {
		writeJSON(w, http.StatusOK, s.table(req.res, f, kept, rv))
		return
	}
	writeJSON(w, http.StatusOK, objectList{TypeMeta: metav1.TypeMeta{APIVersion: req.res.apiVersion(), Kind: req.res.gvk.Kind + "List"},
		ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: kept})
}

// objectList is the JSON of every Kubernetes list (PodList, …).
type objectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []Object `json:"items"`
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, req request) {
	if err := s.fresh(r); err != nil {
		writeStatus(w, err)
		return
	}
	o, _ := s.cache.get(req.res.from, req.namespace, req.name)
	if o == nil {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: req.gv.Group, Resource: req.plural}, req.name))
		return
	}
	o = s.present(identityOf(r), req.res, o)
	var out runtime.Object = o
	if req.sub == "scale" {
		out = scaleOf(o)
	}
	if f, ok := tableFormat(r); ok && req.sub == "" {
		writeJSON(w, http.StatusOK, s.table(req.res, f, []Object{o}, o.GetResourceVersion()))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// scaleOf is the autoscaling/v1 Scale of a workload.
func scaleOf(o Object) *autoscalingv1.Scale {
	sc := &autoscalingv1.Scale{TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), UID: o.GetUID(),
			ResourceVersion: o.GetResourceVersion(), CreationTimestamp: o.GetCreationTimestamp()}}
	spec, status, selector := workloadScale(o)
	sc.Spec.Replicas, sc.Status.Replicas = spec, status
	if selector != nil {
		if sel, err := metav1.LabelSelectorAsSelector(selector); err == nil {
			sc.Status.Selector = sel.String()
		}
	}
	return sc
}

// identityOf is the caller of a request, for the access reviews.
func identityOf(r *http.Request) auth.Identity { return auth.From(r.Context()) }

// reviewCodecs decode the access reviews' request bodies, which
// client-go sends as protobuf (kubectl auth can-i) or JSON.
var reviewCodecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	authorizationv1.AddToScheme(scheme)
	return serializer.NewCodecFactory(scheme)
}()

// decodeBody reads a small request body, JSON or protobuf, into v.
func decodeBody(r *http.Request, v runtime.Object) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		_, _, err = reviewCodecs.UniversalDeserializer().Decode(body, nil, v)
	}
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("request body of %s: %v", r.URL.Path, err))
	}
	return nil
}
