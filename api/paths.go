package api

import "net/url"

// Paths of the master's HTTP API.
const (
	PathStatus      = "/v1/status"
	PathPods        = "/v1/pods"
	PathDeployments = "/v1/deployments"
	// The other workloads, each a Kubernetes list with status.
	PathReplicaSets            = "/v1/replicasets"
	PathReplicationControllers = "/v1/replicationcontrollers"
	PathDaemonSets             = "/v1/daemonsets"
	PathStatefulSets           = "/v1/statefulsets"
	PathJobs                   = "/v1/jobs"
	PathCronJobs               = "/v1/cronjobs"
	PathNodes                  = "/v1/nodes"
	// PathServices and PathEndpoints list Services (with their assigned
	// addresses) and their endpoints as Kubernetes lists.
	PathServices  = "/v1/services"
	PathEndpoints = "/v1/endpoints"
	// PathEndpointSlices lists the EndpointSlices (discovery.k8s.io/v1)
	// computed beside the Endpoints.
	PathEndpointSlices = "/v1/endpointslices"
	// PathIngresses lists the Ingresses, with the node addresses they
	// answer on in status.loadBalancer.
	PathIngresses = "/v1/ingresses"
	// PathGateways and PathHTTPRoutes list the Gateway API objects of
	// berth's classes, with their status.
	PathGateways   = "/v1/gateways"
	PathHTTPRoutes = "/v1/httproutes"
	// PathStorageClasses, PathPersistentVolumes and
	// PathPersistentVolumeClaims list the storage objects with their
	// status (?namespace= for claims).
	PathStorageClasses         = "/v1/storageclasses"
	PathPersistentVolumes      = "/v1/persistentvolumes"
	PathPersistentVolumeClaims = "/v1/persistentvolumeclaims"
	PathRevisions              = "/v1/revisions"
	// PathEvents lists events (?namespace=, ?for=Kind/name).
	PathEvents    = "/v1/events"
	PathRegister  = "/v1/agent/register"
	PathHeartbeat = "/v1/agent/heartbeat"
	PathReport    = "/v1/agent/status"
	// PathAssignments is followed by the node's name.
	PathAssignments = "/v1/agent/assignments/"
	// PathServiceTable is the agents' blocking query for the service
	// table (?hash= the table the agent has).
	PathServiceTable = "/v1/agent/services"
	// PathLogs is followed by "namespace/pod".
	PathLogs = "/v1/logs/"
	// AgentPathLogs is served by the agent, followed by "namespace/pod".
	AgentPathLogs = "/logs/"
	// AgentPathExec, AgentPathAttach and AgentPathPortForward are the
	// agent's streams (kubectl exec, attach, port-forward), followed by
	// "namespace/pod"; the master proxies them.
	AgentPathExec        = "/exec/"
	AgentPathAttach      = "/attach/"
	AgentPathPortForward = "/portforward/"
	// PathMetrics is a master's Prometheus metrics; PathNodeMetrics
	// (PathNodes/NAME/metrics) a node's agent's, through the master.
	PathMetrics = "/metrics"
	// AgentPathMetrics is the agent's Prometheus metrics (masters only).
	AgentPathMetrics = "/metrics"
	// AgentPathStats is the agent's last CPU and memory readings.
	AgentPathStats = "/stats"

	// PathCA serves the cluster's CA bundle (PEM) without credentials:
	// a joining agent checks its hash against its token.
	PathCA = "/cacerts"
	// PathCertificates signs a CSR: an agent's or a joining master's
	// (with a join token), or a renewal (with the certificate itself).
	PathCertificates = "/v1/certificates"
	// PathClusterSecrets hands the CA to a joining master.
	PathClusterSecrets = "/v1/cluster/secrets"
	// PathTokens lists and creates tokens; PathTokens/ID revokes one.
	PathTokens = "/v1/tokens"
	// PathKubeconfig issues a user's certificate.
	PathKubeconfig = "/v1/kubeconfig"
	// PathKeys counts the Secrets each data key seals; PathKeys+"/rotate"
	// adds a primary key.
	PathKeys = "/v1/keys"
	// PathWhoAmI answers the caller's identity and role.
	PathWhoAmI = "/v1/whoami"
)

// Unauthenticated paths that report a master's health and version.
const (
	PathHealthz = "/healthz"
	PathLivez   = "/livez"
	PathReadyz  = "/readyz"
	PathVersion = "/version"
)

// ExecCommandParam is the query parameter that carries an exec's command,
// one argument each.
const ExecCommandParam = "command"

// DefaultServer is the master address the CLI uses when none is given.
const DefaultServer = "https://127.0.0.1:7070"

// LogsPath is the Kubernetes path of a pod's log, which the master serves
// with the Kubernetes query parameters (container, follow, previous,
// tailLines, sinceSeconds, sinceTime, timestamps, limitBytes).
func LogsPath(namespace, pod string) string {
	return "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(pod) + "/log"
}
