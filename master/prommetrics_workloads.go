package master

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/reconciler"
)

// The workload series, named and labelled as kube-state-metrics' are.
var (
	deploymentLabels  = []string{"namespace", "deployment"}
	statefulSetLabels = []string{"namespace", "statefulset"}
	daemonSetLabels   = []string{"namespace", "daemonset"}

	descDeploymentSpecReplicas        = prometheus.NewDesc("berth_deployment_spec_replicas", "Replicas a Deployment asks for.", deploymentLabels, nil)
	descDeploymentReplicas            = prometheus.NewDesc("berth_deployment_status_replicas", "A Deployment's pods.", deploymentLabels, nil)
	descDeploymentReplicasReady       = prometheus.NewDesc("berth_deployment_status_replicas_ready", "A Deployment's ready pods.", deploymentLabels, nil)
	descDeploymentReplicasAvailable   = prometheus.NewDesc("berth_deployment_status_replicas_available", "A Deployment's available pods.", deploymentLabels, nil)
	descDeploymentReplicasUnavailable = prometheus.NewDesc("berth_deployment_status_replicas_unavailable", "A Deployment's unavailable pods.", deploymentLabels, nil)
	descDeploymentReplicasUpdated     = prometheus.NewDesc("berth_deployment_status_replicas_updated", "A Deployment's pods of its current template.", deploymentLabels, nil)

	descStatefulSetReplicas        = prometheus.NewDesc("berth_statefulset_replicas", "Replicas a StatefulSet asks for.", statefulSetLabels, nil)
	descStatefulSetReplicasCurrent = prometheus.NewDesc("berth_statefulset_status_replicas", "A StatefulSet's pods.", statefulSetLabels, nil)
	descStatefulSetReplicasReady   = prometheus.NewDesc("berth_statefulset_status_replicas_ready", "A StatefulSet's ready pods.", statefulSetLabels, nil)
	descStatefulSetReplicasUpdated = prometheus.NewDesc("berth_statefulset_status_replicas_updated", "A StatefulSet's pods of its current template.", statefulSetLabels, nil)

	descDaemonSetDesired   = prometheus.NewDesc("berth_daemonset_status_desired_number_scheduled", "Nodes a DaemonSet should run on.", daemonSetLabels, nil)
	descDaemonSetScheduled = prometheus.NewDesc("berth_daemonset_status_current_number_scheduled", "Nodes a DaemonSet runs on.", daemonSetLabels, nil)
	descDaemonSetReady     = prometheus.NewDesc("berth_daemonset_status_number_ready", "Nodes with a DaemonSet's pod ready.", daemonSetLabels, nil)
	descDaemonSetAvailable = prometheus.NewDesc("berth_daemonset_status_number_available", "Nodes with a DaemonSet's pod available.", daemonSetLabels, nil)
)

// collectWorkloads sends the replica gauges of the Deployments,
// StatefulSets and DaemonSets.
func collectWorkloads(ch chan<- prometheus.Metric, w *reconciler.Workloads) {
	gauge := func(d *prometheus.Desc, v int32, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, o := range w.Deployments {
		spec := int32(1)
		if o.Spec.Replicas != nil {
			spec = *o.Spec.Replicas
		}
		s := o.Status
		gauge(descDeploymentSpecReplicas, spec, o.Namespace, o.Name)
		gauge(descDeploymentReplicas, s.Replicas, o.Namespace, o.Name)
		gauge(descDeploymentReplicasReady, s.ReadyReplicas, o.Namespace, o.Name)
		gauge(descDeploymentReplicasAvailable, s.AvailableReplicas, o.Namespace, o.Name)
		gauge(descDeploymentReplicasUnavailable, s.UnavailableReplicas, o.Namespace, o.Name)
		gauge(descDeploymentReplicasUpdated, s.UpdatedReplicas, o.Namespace, o.Name)
	}
	for _, o := range w.StatefulSets {
		spec := int32(1)
		if o.Spec.Replicas != nil {
			spec = *o.Spec.Replicas
		}
		s := o.Status
		gauge(descStatefulSetReplicas, spec, o.Namespace, o.Name)
		gauge(descStatefulSetReplicasCurrent, s.Replicas, o.Namespace, o.Name)
		gauge(descStatefulSetReplicasReady, s.ReadyReplicas, o.Namespace, o.Name)
		gauge(descStatefulSetReplicasUpdated, s.UpdatedReplicas, o.Namespace, o.Name)
	}
	for _, o := range w.DaemonSets {
		s := o.Status
		gauge(descDaemonSetDesired, s.DesiredNumberScheduled, o.Namespace, o.Name)
		gauge(descDaemonSetScheduled, s.CurrentNumberScheduled, o.Namespace, o.Name)
		gauge(descDaemonSetReady, s.NumberReady, o.Namespace, o.Name)
		gauge(descDaemonSetAvailable, s.NumberAvailable, o.Namespace, o.Name)
	}
}
