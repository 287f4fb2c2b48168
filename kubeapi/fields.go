package kubeapi

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/fields"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The fields each kind offers field selectors, as kube-apiserver does.

func podFields(o Object) fields.Set {
	p := o.(*corev1.Pod)
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func secretFields(o Object) fields.Set {
	return fields.Set{"type": string(o.(*corev1.Secret).Type)}
}

func namespaceFields(o Object) fields.Set {
	return fields.Set{"status.phase": string(o.(*corev1.Namespace).Status.Phase)}
}

func nodeFields(o Object) fields.Set {
	return fields.Set{"spec.unschedulable": strconv.FormatBool(o.(*corev1.Node).Spec.Unschedulable)}
}

func jobFields(o Object) fields.Set {
	return fields.Set{"status.successful": strconv.Itoa(int(o.(*batchv1.Job).Status.Succeeded))}
}

func eventFields(o Object) fields.Set {
	e := o.(*corev1.Event)
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           e.Type,
	}
}

func eventV1Fields(o Object) fields.Set {
	e := o.(*eventsv1.Event)
	return fields.Set{
		"regarding.kind":            e.Regarding.Kind,
		"regarding.namespace":       e.Regarding.Namespace,
		"regarding.name":            e.Regarding.Name,
		"regarding.uid":             string(e.Regarding.UID),
		"regarding.apiVersion":      e.Regarding.APIVersion,
		"regarding.resourceVersion": e.Regarding.ResourceVersion,
		"regarding.fieldPath":       e.Regarding.FieldPath,
		"reason":                    e.Reason,
		"reportingController":       e.ReportingController,
		"type":                      e.Type,
	}
}

// eventV1 is a core Event in its events.k8s.io/v1 form.
func eventV1(o Object) Object {
	e := o.(*corev1.Event)
	out := &eventsv1.Event{
		ObjectMeta:               *e.ObjectMeta.DeepCopy(),
		EventTime:                e.EventTime,
		ReportingController:      e.ReportingController,
		ReportingInstance:        e.ReportingInstance,
		Action:                   e.Action,
		Reason:                   e.Reason,
		Regarding:                e.InvolvedObject,
		Related:                  e.Related,
		Note:                     e.Message,
		Type:                     e.Type,
		DeprecatedSource:         e.Source,
		DeprecatedFirstTimestamp: e.FirstTimestamp,
		DeprecatedLastTimestamp:  e.LastTimestamp,
		DeprecatedCount:          e.Count,
	}
	if e.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	out.APIVersion, out.Kind = eventsv1.SchemeGroupVersion.String(), "Event"
	return out
}

// zeroOf is an empty object of a resource's kind: for the names of the
// fields it offers selectors, and its OpenAPI schema.
func zeroOf(r *resource) Object {
	switch r.id {
	case Pods:
		return &corev1.Pod{}
	case Services:
		return &corev1.Service{}
	case Endpoints:
		return &corev1.Endpoints{}
	case ConfigMaps:
		return &corev1.ConfigMap{}
	case Secrets:
		return &corev1.Secret{}
	case Namespaces:
		return &corev1.Namespace{}
	case Nodes:
		return &corev1.Node{}
	case Events:
		return &corev1.Event{}
	case ReplicationControllers:
		return &corev1.ReplicationController{}
	case Deployments:
		return &appsv1.Deployment{}
	case ReplicaSets:
		return &appsv1.ReplicaSet{}
	case StatefulSets:
		return &appsv1.StatefulSet{}
	case DaemonSets:
		return &appsv1.DaemonSet{}
	case Jobs:
		return &batchv1.Job{}
	case CronJobs:
		return &batchv1.CronJob{}
	case EndpointSlices:
		return &discoveryv1.EndpointSlice{}
	case EventsV1:
		return &eventsv1.Event{}
	case NetworkPolicies:
		return &networkingv1.NetworkPolicy{}
	case Ingresses:
		return &networkingv1.Ingress{}
	case IngressClasses:
		return &networkingv1.IngressClass{}
	case GatewayClasses:
		return &gatewayv1.GatewayClass{}
	case Gateways:
		return &gatewayv1.Gateway{}
	case HTTPRoutes:
		return &gatewayv1.HTTPRoute{}
	case ReferenceGrants:
		return &gatewayv1.ReferenceGrant{}
	case StorageClasses:
		return &storagev1.StorageClass{}
	case PersistentVolumes:
		return &corev1.PersistentVolume{}
	case PersistentVolumeClaims:
		return &corev1.PersistentVolumeClaim{}
	case Leases:
		return &coordinationv1.Lease{}
	}
	panic("kubeapi: no Go type for resource " + r.id)
}
