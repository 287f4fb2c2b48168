// Package api holds berth's own types and wire formats: revisions, nodes,
// plans, pod status reports and the HTTP paths of the master API. Kubernetes
// object types come from k8s.io/api.
package api
