package kubeapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// printer is the columns kubectl prints for a kind, as kube-apiserver's
// printers define them, and the cells of one object's row.
type printer struct {
	columns []metav1.TableColumnDefinition
	row     func(o Object, now time.Time) []any
}

const none = "<none>"

func col(name, typ, desc string) metav1.TableColumnDefinition {
	c := metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc}
	if name == "Name" {
		c.Format = "name"
	}
	return c
}

func wide(c metav1.TableColumnDefinition) metav1.TableColumnDefinition { c.Priority = 1; return c }

var (
	nameCol       = col("Name", "string", metav1.ObjectMeta{}.SwaggerDoc()["name"])
	ageCol        = col("Age", "string", metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"])
	containersCol = wide(col("Containers", "string", "Names of each container in the template."))
	imagesCol     = wide(col("Images", "string", "Images referenced by each container in the template."))
	selectorCol   = wide(col("Selector", "string", "The label selector of the workload's pods."))
)

// age prints how long ago t was, as kubectl does.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// templateCells are the Containers and Images cells of a pod template.
func templateCells(spec *corev1.PodSpec) (string, string) {
	var names, images []string
	for _, c := range spec.Containers {
		names, images = append(names, c.Name), append(images, c.Image)
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}

func selectorString(s *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "<error>"
	}
	return orNone(sel.String())
}

var podPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
		col("Status", "string", "The aggregate status of the containers in this pod."),
		col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		ageCol,
		wide(col("IP", "string", corev1.PodStatus{}.SwaggerDoc()["podIP"])),
		wide(col("Node", "string", corev1.PodSpec{}.SwaggerDoc()["nodeName"])),
		wide(col("Nominated Node", "string", corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"])),
		wide(col("Readiness Gates", "string", corev1.PodSpec{}.SwaggerDoc()["readinessGates"])),
	},
	row: func(o Object, now time.Time) []any {
		p := o.(*corev1.Pod)
		ready, total := 0, len(p.Spec.Containers)
		restarts, lastRestart := 0, metav1.Time{}
		for _, c := range p.Status.ContainerStatuses {
			restarts += int(c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(lastRestart.Time) {
				lastRestart = t.FinishedAt
			}
			if c.Ready && c.State.Running != nil {
				ready++
			}
		}
		restartCell := strconv.Itoa(restarts)
		if restarts > 0 && !lastRestart.IsZero() {
			restartCell = fmt.Sprintf("%d (%s ago)", restarts, age(lastRestart, now))
		}
		gates := none
		if n := len(p.Spec.ReadinessGates); n > 0 {
			gates = fmt.Sprintf("%d/%d", readyGates(p), n)
		}
		return []any{p.Name, fmt.Sprintf("%d/%d", ready, total), podStatus(p), restartCell, age(p.CreationTimestamp, now),
			orNone(p.Status.PodIP), orNone(p.Spec.NodeName), orNone(p.Status.NominatedNodeName), gates}
	},
}

func readyGates(p *corev1.Pod) int {
	n := 0
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

// podStatus is the STATUS kubectl prints: the phase, or what the init
// containers or containers wait on or ended with.
func podStatus(p *corev1.Pod) string {
	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	initializing := false
	for i, c := range p.Status.InitContainerStatuses {
		switch {
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			continue
		case c.State.Terminated != nil && c.State.Terminated.Reason != "":
			reason = "Init:" + c.State.Terminated.Reason
		case c.State.Terminated != nil:
			reason = fmt.Sprintf("Init:ExitCode:%d", c.State.Terminated.ExitCode)
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + c.State.Waiting.Reason
		case isSidecar(p, c.Name) && c.Started != nil && *c.Started:
			continue
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		initializing = true
		break
	}
	if !initializing {
		hasRunning := false
		for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := p.Status.ContainerStatuses[i]
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				reason = c.State.Waiting.Reason
			case c.State.Terminated != nil && c.State.Terminated.Reason != "":
				reason = c.State.Terminated.Reason
			case c.State.Terminated != nil && c.State.Terminated.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", c.State.Terminated.Signal)
			case c.State.Terminated != nil:
				reason = fmt.Sprintf("ExitCode:%d", c.State.Terminated.ExitCode)
			case c.Ready && c.State.Running != nil:
				hasRunning = true
			}
		}
		if reason == "Completed" && hasRunning {
			reason = "NotReady"
			if podReady(p) {
				reason = "Running"
			}
		}
	}
	if p.DeletionTimestamp != nil {
		reason = "Terminating"
		if p.Status.Reason == "NodeLost" {
			reason = "Unknown"
		}
	}
	return reason
}

func isSidecar(p *corev1.Pod, name string) bool {
	for _, c := range p.Spec.InitContainers {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

var deploymentPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Ready", "string", "Number of the pod with ready state"),
		col("Up-to-date", "string", appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
		col("Available", "string", appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
		ageCol, containersCol, imagesCol, selectorCol},
	row: func(o Object, now time.Time) []any {
		d := o.(*appsv1.Deployment)
		names, images := templateCells(&d.Spec.Template.Spec)
		return []any{d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)), int64(d.Status.UpdatedReplicas),
			int64(d.Status.AvailableReplicas), age(d.CreationTimestamp, now), names, images, selectorString(d.Spec.Selector)}
	},
}

var replicaColumns = []metav1.TableColumnDefinition{nameCol,
	col("Desired", "integer", appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
	col("Current", "integer", appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
	col("Ready", "integer", appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
	ageCol, containersCol, imagesCol, selectorCol}

var replicaSetPrinter = &printer{
	columns: replicaColumns,
	row: func(o Object, now time.Time) []any {
		r := o.(*appsv1.ReplicaSet)
		names, images := templateCells(&r.Spec.Template.Spec)
		return []any{r.Name, int64(replicas(r.Spec.Replicas)), int64(r.Status.Replicas), int64(r.Status.ReadyReplicas),
			age(r.CreationTimestamp, now), names, images, selectorString(r.Spec.Selector)}
	},
}

var replicationControllerPrinter = &printer{
	columns: replicaColumns,
	row: func(o Object, now time.Time) []any {
		r := o.(*corev1.ReplicationController)
		var names, images string
		if r.Spec.Template != nil {
			names, images = templateCells(&r.Spec.Template.Spec)
		}
		return []any{r.Name, int64(replicas(r.Spec.Replicas)), int64(r.Status.Replicas), int64(r.Status.ReadyReplicas),
			age(r.CreationTimestamp, now), names, images, orNone(labels.FormatLabels(r.Spec.Selector))}
	},
}

var statefulSetPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Ready", "string", "Number of the pod with ready state"), ageCol, containersCol, imagesCol},
	row: func(o Object, now time.Time) []any {
		s := o.(*appsv1.StatefulSet)
		names, images := templateCells(&s.Spec.Template.Spec)
		return []any{s.Name, fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas)), age(s.CreationTimestamp, now), names, images}
	},
}

var daemonSetPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Desired", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
		col("Current", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
		col("Ready", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
		col("Up-to-date", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
		col("Available", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
		col("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
		ageCol, containersCol, imagesCol, selectorCol},
	row: func(o Object, now time.Time) []any {
		d := o.(*appsv1.DaemonSet)
		names, images := templateCells(&d.Spec.Template.Spec)
		st := d.Status
		return []any{d.Name, int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
			int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable), orNone(labels.FormatLabels(d.Spec.Template.Spec.NodeSelector)),
			age(d.CreationTimestamp, now), names, images, selectorString(d.Spec.Selector)}
	},
}

var jobPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Status", "string", "Status of the job."),
		col("Completions", "string", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
		col("Duration", "string", "Time required to complete the job."),
		ageCol, containersCol, imagesCol, selectorCol},
	row: func(o Object, now time.Time) []any {
		j := o.(*batchv1.Job)
		names, images := templateCells(&j.Spec.Template.Spec)
		completions := fmt.Sprintf("%d/1", j.Status.Succeeded)
		switch {
		case j.Spec.Completions != nil:
			completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
		case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
			completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
		}
		var took string
		switch {
		case j.Status.StartTime == nil:
		case j.Status.CompletionTime == nil:
			took = duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
		default:
			took = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
		}
		return []any{j.Name, jobStatus(j), completions, took, age(j.CreationTimestamp, now), names, images, selectorString(j.Spec.Selector)}
	},
}

func jobStatus(j *batchv1.Job) string {
	has := func(t batchv1.JobConditionType) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}
	switch {
	case has(batchv1.JobComplete):
		return "Complete"
	case has(batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case has(batchv1.JobSuspended):
		return "Suspended"
	case has(batchv1.JobFailureTarget):
		return "FailureTarget"
	case has(batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	}
	return "Running"
}

var cronJobPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Schedule", "string", batchv1.CronJobSpec{}.SwaggerDoc()["schedule"]),
		col("Timezone", "string", batchv1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
		col("Suspend", "boolean", batchv1.CronJobSpec{}.SwaggerDoc()["suspend"]),
		col("Active", "integer", batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
		col("Last Schedule", "string", batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
		ageCol, containersCol, imagesCol, selectorCol},
	row: func(o Object, now time.Time) []any {
		c := o.(*batchv1.CronJob)
		names, images := templateCells(&c.Spec.JobTemplate.Spec.Template.Spec)
		last := none
		if c.Status.LastScheduleTime != nil {
			last = age(*c.Status.LastScheduleTime, now)
		}
		tz := none
		if c.Spec.TimeZone != nil {
			tz = *c.Spec.TimeZone
		}
		sel := none
		if c.Spec.JobTemplate.Spec.Selector != nil {
			sel = selectorString(c.Spec.JobTemplate.Spec.Selector)
		}
		return []any{c.Name, c.Spec.Schedule, tz, c.Spec.Suspend != nil && *c.Spec.Suspend, int64(len(c.Status.Active)), last,
			age(c.CreationTimestamp, now), names, images, sel}
	},
}

var servicePrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Type", "string", corev1.ServiceSpec{}.SwaggerDoc()["type"]),
		col("Cluster-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
		col("External-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
		col("Port(s)", "string", corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
		ageCol, wide(col("Selector", "string", corev1.ServiceSpec{}.SwaggerDoc()["selector"]))},
	row: func(o Object, now time.Time) []any {
		s := o.(*corev1.Service)
		typ := s.Spec.Type
		if typ == "" {
			typ = corev1.ServiceTypeClusterIP
		}
		return []any{s.Name, string(typ), orNone(s.Spec.ClusterIP), serviceExternalIP(s), servicePorts(s.Spec.Ports),
			age(s.CreationTimestamp, now), orNone(labels.FormatLabels(s.Spec.Selector))}
	},
}

func serviceExternalIP(s *corev1.Service) string {
	ips := append([]string(nil), s.Spec.ExternalIPs...)
	switch s.Spec.Type {
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	case corev1.ServiceTypeLoadBalancer:
		for _, in := range s.Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP+in.Hostname)
		}
		if len(ips) == 0 {
			return "<pending>"
		}
	}
	return orNone(strings.Join(ips, ","))
}

func servicePorts(ports []corev1.ServicePort) string {
	var out []string
	for _, p := range ports {
		s := strconv.Itoa(int(p.Port))
		if p.NodePort > 0 {
			s += ":" + strconv.Itoa(int(p.NodePort))
		}
		out = append(out, s+"/"+string(p.Protocol))
	}
	return orNone(strings.Join(out, ","))
}

var endpointsPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]), ageCol},
	row: func(o Object, now time.Time) []any {
		e := o.(*corev1.Endpoints)
		var addrs []string
		for _, ss := range e.Subsets {
			for _, a := range ss.Addresses {
				if len(ss.Ports) == 0 {
					addrs = append(addrs, a.IP)
				}
				for _, p := range ss.Ports {
					addrs = append(addrs, fmt.Sprintf("%s:%d", a.IP, p.Port))
				}
			}
		}
		return []any{e.Name, firstThree(addrs), age(e.CreationTimestamp, now)}
	},
}

// firstThree joins up to three items and counts the rest, as kubectl does.
func firstThree(items []string) string {
	if len(items) == 0 {
		return none
	}
	if len(items) > 3 {
		return strings.Join(items[:3], ",") + fmt.Sprintf(" + %d more...", len(items)-3)
	}
	return strings.Join(items, ",")
}

var endpointSlicePrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("AddressType", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"]),
		col("Ports", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["ports"]),
		col("Endpoints", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"]),
		ageCol},
	row: func(o Object, now time.Time) []any {
		s := o.(*discoveryv1.EndpointSlice)
		var ports, addrs []string
		for _, p := range s.Ports {
			if p.Port == nil {
				ports = append(ports, "<unset>")
			} else {
				ports = append(ports, strconv.Itoa(int(*p.Port)))
			}
		}
		for _, e := range s.Endpoints {
			addrs = append(addrs, e.Addresses...)
		}
		portCell := "<unset>"
		if len(ports) > 0 {
			portCell = firstThree(ports)
		}
		return []any{s.Name, string(s.AddressType), portCell, firstThree(addrs), age(s.CreationTimestamp, now)}
	},
}

var configMapPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Data", "integer", corev1.ConfigMap{}.SwaggerDoc()["data"]), ageCol},
	row: func(o Object, now time.Time) []any {
		c := o.(*corev1.ConfigMap)
		return []any{c.Name, int64(len(c.Data) + len(c.BinaryData)), age(c.CreationTimestamp, now)}
	},
}

var secretPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Type", "string", corev1.Secret{}.SwaggerDoc()["type"]),
		col("Data", "integer", corev1.Secret{}.SwaggerDoc()["data"]), ageCol},
	row: func(o Object, now time.Time) []any {
		s := o.(*corev1.Secret)
		typ := s.Type
		if typ == "" {
			typ = corev1.SecretTypeOpaque
		}
		return []any{s.Name, string(typ), int64(len(s.Data)), age(s.CreationTimestamp, now)}
	},
}

var namespacePrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Status", "string", "The status of the namespace"), ageCol},
	row: func(o Object, now time.Time) []any {
		n := o.(*corev1.Namespace)
		return []any{n.Name, string(n.Status.Phase), age(n.CreationTimestamp, now)}
	},
}

var nodePrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Status", "string", "The status of the node"),
		col("Roles", "string", "The roles of the node"),
		ageCol,
		col("Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
		wide(col("Internal-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"])),
		wide(col("External-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"])),
		wide(col("OS-Image", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"])),
		wide(col("Kernel-Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"])),
		wide(col("Container-Runtime", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"])),
	},
	row: func(o Object, now time.Time) []any {
		n := o.(*corev1.Node)
		info := n.Status.NodeInfo
		return []any{n.Name, nodeStatus(n), nodeRoles(n), age(n.CreationTimestamp, now), info.KubeletVersion,
			nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP), orNone(info.OSImage),
			orNone(info.KernelVersion), orNone(info.ContainerRuntimeVersion)}
	},
}

func nodeStatus(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			switch c.Status {
			case corev1.ConditionTrue:
				status = "Ready"
			case corev1.ConditionFalse:
				status = "NotReady"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				roles = append(roles, r)
			}
		case k == "kubernetes.io/role" && v != "":
			roles = append(roles, v)
		}
	}
	sort.Strings(roles)
	return orNone(strings.Join(roles, ","))
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return none
}

var eventColumns = []metav1.TableColumnDefinition{
	col("Last Seen", "string", corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
	col("Type", "string", corev1.Event{}.SwaggerDoc()["type"]),
	col("Reason", "string", corev1.Event{}.SwaggerDoc()["reason"]),
	col("Object", "string", "The object that this event is about."),
	wide(col("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
	wide(col("Source", "string", corev1.Event{}.SwaggerDoc()["source"])),
	col("Message", "string", corev1.Event{}.SwaggerDoc()["message"]),
	wide(col("First Seen", "string", corev1.Event{}.SwaggerDoc()["firstTimestamp"])),
	wide(col("Count", "string", corev1.Event{}.SwaggerDoc()["count"])),
	wide(nameCol),
}

var eventPrinter = &printer{columns: eventColumns, row: func(o Object, now time.Time) []any { return eventRow(o.(*corev1.Event), now) }}

var eventV1Printer = &printer{columns: eventColumns, row: func(o Object, now time.Time) []any {
	e := o.(*eventsv1.Event)
	return eventRow(&corev1.Event{ObjectMeta: e.ObjectMeta, InvolvedObject: e.Regarding, Reason: e.Reason, Message: e.Note, Type: e.Type,
		Source: e.DeprecatedSource, FirstTimestamp: e.DeprecatedFirstTimestamp, LastTimestamp: e.DeprecatedLastTimestamp,
		Count: e.DeprecatedCount, EventTime: e.EventTime, ReportingController: e.ReportingController}, now)
}}

func eventRow(e *corev1.Event, now time.Time) []any {
	last := e.LastTimestamp
	if e.Series != nil {
		last = metav1.Time{Time: e.Series.LastObservedTime.Time}
	} else if last.IsZero() {
		last = metav1.Time{Time: e.EventTime.Time}
	}
	first := e.FirstTimestamp
	if first.IsZero() {
		first = metav1.Time{Time: e.EventTime.Time}
	}
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	if e.Source.Host != "" {
		source += ", " + e.Source.Host
	}
	object := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
	return []any{age(last, now), e.Type, e.Reason, object, e.InvolvedObject.FieldPath, source, strings.TrimSpace(e.Message),
		age(first, now), int64(max(e.Count, 1)), e.Name}
}

var networkPolicyPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Pod-Selector", "string", networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]), ageCol},
	row: func(o Object, now time.Time) []any {
		p := o.(*networkingv1.NetworkPolicy)
		return []any{p.Name, metav1.FormatLabelSelector(&p.Spec.PodSelector), age(p.CreationTimestamp, now)}
	},
}

var leasePrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]), ageCol},
	row: func(o Object, now time.Time) []any {
		l := o.(*coordinationv1.Lease)
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return []any{l.Name, holder, age(l.CreationTimestamp, now)}
	},
}

var ingressPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Class", "string", "The name of the IngressClass resource that should be used for ingress."),
		col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
		col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
		col("Ports", "string", "Ports of TLS configurations that open"),
		ageCol},
	row: func(o Object, now time.Time) []any {
		ing := o.(*networkingv1.Ingress)
		class := none
		if ing.Spec.IngressClassName != nil {
			class = *ing.Spec.IngressClassName
		}
		var hosts, addrs []string
		for _, r := range ing.Spec.Rules {
			if r.Host != "" {
				hosts = append(hosts, r.Host)
			}
		}
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		for _, in := range ing.Status.LoadBalancer.Ingress {
			addrs = append(addrs, in.IP+in.Hostname)
		}
		ports := "80"
		if len(ing.Spec.TLS) > 0 {
			ports = "80, 443"
		}
		return []any{ing.Name, class, firstThree(hosts), strings.Join(addrs, ","), ports, age(ing.CreationTimestamp, now)}
	},
}

var ingressClassPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol,
		col("Controller", "string", networkingv1.IngressClassSpec{}.SwaggerDoc()["controller"]),
		col("Parameters", "string", networkingv1.IngressClassSpec{}.SwaggerDoc()["parameters"]),
		ageCol},
	row: func(o Object, now time.Time) []any {
		c := o.(*networkingv1.IngressClass)
		return []any{c.Name, c.Spec.Controller, none, age(c.CreationTimestamp, now)}
	},
}

// conditionCell is a condition's status, Unknown when missing (the
// Gateway API CRDs' printer columns).
func conditionCell(cs []metav1.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return string(c.Status)
		}
	}
	return "Unknown"
}

var gatewayClassPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Controller", "string", "The controller that manages Gateways of this class."),
		col("Accepted", "string", "Whether the controller accepted the class."), ageCol},
	row: func(o Object, now time.Time) []any {
		c := o.(*gatewayv1.GatewayClass)
		return []any{c.Name, string(c.Spec.ControllerName), conditionCell(c.Status.Conditions, "Accepted"), age(c.CreationTimestamp, now)}
	},
}

var gatewayPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Class", "string", "The GatewayClass of the Gateway."),
		col("Address", "string", "Where the Gateway answers."), col("Programmed", "string", "Whether the Gateway is programmed."), ageCol},
	row: func(o Object, now time.Time) []any {
		g := o.(*gatewayv1.Gateway)
		addr := ""
		if len(g.Status.Addresses) > 0 {
			addr = g.Status.Addresses[0].Value
		}
		return []any{g.Name, string(g.Spec.GatewayClassName), addr, conditionCell(g.Status.Conditions, "Programmed"), age(g.CreationTimestamp, now)}
	},
}

var httpRoutePrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, col("Hostnames", "string", "The hostnames the route matches."), ageCol},
	row: func(o Object, now time.Time) []any {
		r := o.(*gatewayv1.HTTPRoute)
		var hosts []string
		for _, h := range r.Spec.Hostnames {
			hosts = append(hosts, string(h))
		}
		return []any{r.Name, "[" + strings.Join(hosts, " ") + "]", age(r.CreationTimestamp, now)}
	},
}

var referenceGrantPrinter = &printer{
	columns: []metav1.TableColumnDefinition{nameCol, ageCol},
	row: func(o Object, now time.Time) []any {
		return []any{o.GetName(), age(o.GetCreationTimestamp(), now)}
	},
}
