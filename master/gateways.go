package master

import (
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/raftstore"
	"github.com/berth-dev/berth/reconciler"
)

// gatewayView is the Gateway API objects with their status: the Gateways
// answer on every Ready node's InternalIP, and conditions date from when
// the live commit was applied.
func (m *Master) gatewayView(v raftstore.View, nodes []corev1.Node) reconciler.GatewayView {
	var addrs []string
	for _, in := range ingressAddresses(nodes).Ingress {
		addrs = append(addrs, in.IP)
	}
	return reconciler.Gateways(v.Desired, addrs, metav1.NewTime(m.liveAppliedAt(v.LiveCommit)))
}

// liveApplied caches when the live commit was applied.
type liveApplied struct {
	mu     sync.Mutex
	commit string
	at     time.Time
}

// liveAppliedAt is when a commit was applied, from the revision log
// (looked up again only when the live commit changes).
func (m *Master) liveAppliedAt(commit string) time.Time {
	c := &m.liveApplied
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commit == commit {
		return c.at
	}
	log := m.store.Log()
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Commit == commit && log[i].Outcome == api.OutcomeApplied {
			c.commit, c.at = commit, log[i].AppliedAt.UTC().Truncate(time.Second)
			break
		}
	}
	return c.at
}

// currentGateways is the gateway view of the store now.
func (m *Master) currentGateways() reconciler.GatewayView {
	v := m.store.View(false)
	return m.gatewayView(v, m.kubeNodes(v, time.Now()))
}

// handleGateways lists the Gateways of berth's classes with their status.
func (m *Master) handleGateways(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	writeJSON(w, kubeList("gateway.networking.k8s.io/v1", "Gateway", m.currentGateways().Gateways, keep))
}

// handleHTTPRoutes lists the HTTPRoutes attached to berth's Gateways (or
// naming one that does not exist) with their status.
func (m *Master) handleHTTPRoutes(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	writeJSON(w, kubeList("gateway.networking.k8s.io/v1", "HTTPRoute", m.currentGateways().Routes, keep))
}

// currentStorage is the storage view of the store now.
func (m *Master) currentStorage() reconciler.StorageView {
	v := m.store.View(false)
	return reconciler.Storage(v.Desired, v.Volumes, v.PVCs)
}

// handleStorageClasses lists the StorageClasses, the built-in one too.
func (m *Master) handleStorageClasses(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, kubeList("storage.k8s.io/v1", "StorageClass", m.currentStorage().Classes, func(string) bool { return true }))
}

// handlePersistentVolumes lists the volumes: recorded, and Git's static
// volumes that no claim holds (Available).
func (m *Master) handlePersistentVolumes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, kubeList("v1", "PersistentVolume", m.currentStorage().Volumes, func(string) bool { return true }))
}

// handlePersistentVolumeClaims lists the claims, Git's and the
// StatefulSets', Bound or Pending.
func (m *Master) handlePersistentVolumeClaims(w http.ResponseWriter, r *http.Request) {
	keep := func(ns string) bool { return inNamespace(r, ns) }
	writeJSON(w, kubeList("v1", "PersistentVolumeClaim", m.currentStorage().Claims, keep))
}
