package kubeapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// tableAsked is a request's Table form: its group version (meta.k8s.io
// v1 or v1beta1) and what each row carries of its object.
type tableAsked struct {
	apiVersion string
	include    metav1.IncludeObjectPolicy
}

// tableFormat reports whether the request asks for a Table (kubectl's
// get does: "application/json;as=Table;v=v1;g=meta.k8s.io").
func tableFormat(r *http.Request) (tableAsked, bool) {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		p := mediaParams(part)
		if p["as"] != "Table" || p["g"] != "meta.k8s.io" || (p["v"] != "v1" && p["v"] != "v1beta1") {
			continue
		}
		if p["type"] != "application/json" && p["type"] != "*/*" {
			continue
		}
		f := tableAsked{apiVersion: "meta.k8s.io/" + p["v"], include: metav1.IncludeMetadata}
		if inc := r.URL.Query().Get("includeObject"); inc != "" {
			f.include = metav1.IncludeObjectPolicy(inc)
		}
		return f, true
	}
	return tableAsked{}, false
}

// table prints objects as a Table with the resource's columns.
func (s *Server) table(res *resource, f tableAsked, objs []Object, rv string) *metav1.Table {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: f.apiVersion, Kind: "Table"}, ListMeta: metav1.ListMeta{ResourceVersion: rv},
		ColumnDefinitions: res.table.columns, Rows: make([]metav1.TableRow, 0, len(objs))}
	now := time.Now()
	for _, o := range objs {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: res.table.row(o, now), Object: rowObject(o, f.include)})
	}
	return t
}

// rowObject is what a row carries of its object: its metadata (the
// default; kubectl prints namespaces and labels from it), all of it, or
// nothing.
func rowObject(o Object, include metav1.IncludeObjectPolicy) runtime.RawExtension {
	var v any
	switch include {
	case metav1.IncludeNone:
		return runtime.RawExtension{}
	case metav1.IncludeObject:
		v = o
	default:
		m := metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}}
		om := o.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
		m.ObjectMeta = *om
		m.ManagedFields = nil
		v = &m
	}
	raw, _ := json.Marshal(v)
	return runtime.RawExtension{Raw: raw}
}

// workloadScale is a workload's wanted and current replicas and its
// selector, for its scale subresource.
func workloadScale(o Object) (spec, status int32, selector *metav1.LabelSelector) {
	switch w := o.(type) {
	case *appsv1.Deployment:
		return replicas(w.Spec.Replicas), w.Status.Replicas, w.Spec.Selector
	case *appsv1.ReplicaSet:
		return replicas(w.Spec.Replicas), w.Status.Replicas, w.Spec.Selector
	case *appsv1.StatefulSet:
		return replicas(w.Spec.Replicas), w.Status.Replicas, w.Spec.Selector
	case *corev1.ReplicationController:
		return replicas(w.Spec.Replicas), w.Status.Replicas, &metav1.LabelSelector{MatchLabels: w.Spec.Selector}
	}
	return 0, 0, nil
}
