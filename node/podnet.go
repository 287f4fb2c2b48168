package node

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/node/network"
)

// podNetwork is the node's pod network, or nil while it has none: the
// agent runs without --pod-network, or the leader has not given the node
// a pod CIDR yet.
func (a *Agent) podNetwork() *network.Network { return a.network.Load() }

// setUpNetwork loads the node's pod network the first time an assignment
// brings the node's pod CIDR: the routes to other nodes' pods, the
// cluster DNS, the masquerade of traffic that leaves the cluster, and the
// CNI network of its own pods.
func (a *Agent) setUpNetwork(ctx context.Context, podCIDR, clusterCIDR string) {
	if !a.cfg.PodNetwork || a.cfg.Hollow || podCIDR == "" || a.network.Load() != nil {
		return
	}
	cidr, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		a.log.Error("the master gave a pod CIDR that is no range", "podCIDR", podCIDR, "err", err)
		return
	}
	cluster, err := netip.ParsePrefix(clusterCIDR)
	if err != nil {
		cluster = cidr // a master that does not say: this node's pods only
	}
	mtu := a.startRoutes(cidr, cluster)
	n, err := network.New(network.Config{Node: a.cfg.Name, PodCIDR: cidr, DataDir: a.cfg.DataDir, PluginDirs: a.cfg.CNIPluginDirs, MTU: mtu})
	if err != nil {
		a.log.Error("pod network", "err", err)
		return
	}
	if err := a.startDNS(ctx, cidr); err != nil {
		a.log.Error("cluster DNS", "err", err)
	}
	if err := a.routeOut(ctx, cidr, cluster); err != nil {
		a.log.Error("pod traffic leaving the cluster", "err", err)
	}
	a.network.Store(n)
	a.cluster.Store(&cluster)
	if err := a.applyProxy(ctx); err != nil {
		a.log.Error("service proxy", "err", err)
	}
	if err := a.applyPolicies(ctx); err != nil {
		a.log.Error("NetworkPolicies", "err", err)
	}
	a.log.Info("pod network ready", "podCIDR", cidr, "bridge", network.BridgeName(a.cfg.Name), "mode", a.cfg.NetworkMode, "mtu", mtu)
}

// networkReady gives the pod its network namespace and address before
// its first container starts, and reports whether it has them. A pod in
// the node's network (hostNetwork, an agent without --pod-network, a node
// the cluster cannot give a pod CIDR yet, or containers started before
// pod networking) is always ready; a pod whose
// namespace exists (the agent restarted) gets it back with its address.
func (w *podWorker) networkReady(ctx context.Context, pod *corev1.Pod) bool {
	if w.podNet != nil || w.hostNet {
		return true
	}
	if !w.a.cfg.PodNetwork || w.a.cfg.Hollow || pod.Spec.HostNetwork {
		w.hostNet = true
		w.setNetns(nodeNetwork)
		w.warnUnmappedHostPorts(pod)
		return true
	}
	n := w.a.podNetwork()
	if n == nil && !w.a.recordedNetwork.Load() {
		// The cluster cannot give the node a pod CIDR (a master before
		// v0.2.0 votes): the pod runs in the node's network, as there.
		w.hostNet = true
		w.setNetns(nodeNetwork)
		w.warnUnmappedHostPorts(pod)
		return true
	}
	if n == nil {
		return false // no pod CIDR yet
	}
	if w.adopted {
		p, err := n.Find(ctx, w.uid)
		if err != nil {
			w.a.log.Warn("finding an adopted pod's network", "pod", w.key, "err", err)
		}
		w.podNet, w.hostNet = p, p == nil // no namespace: it started in the node's network, and stays there
		if p != nil {
			w.setNetns(p.Namespace)
		} else {
			w.setNetns(nodeNetwork)
		}
		w.openHostPorts(ctx, pod)
		return true
	}
	p, err := n.Add(ctx, w.uid, podHostname(pod))
	if err != nil {
		w.a.event(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod network: "+err.Error())
		w.a.log.Warn("pod network", "pod", w.key, "err", err)
		return false
	}
	w.podNet = p
	w.setNetns(p.Namespace)
	w.openHostPorts(ctx, pod)
	return true
}

// warnUnmappedHostPorts records a warning for each hostPort of a pod in
// the node's network that differs from its containerPort: nothing maps
// it there (only a pod in its own network has its hostPorts DNATed).
func (w *podWorker) warnUnmappedHostPorts(pod *corev1.Pod) {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 && p.HostPort != p.ContainerPort {
				w.a.event(pod, corev1.EventTypeWarning, "HostPortNotMapped", fmt.Sprintf(
					"hostPort %d of container %s is not mapped to containerPort %d: the pod runs in the node's network (agent --pod-network=off, or no pod CIDR yet)", p.HostPort, c.Name, p.ContainerPort))
			}
		}
	}
}

// openHostPorts sends the pod's hostPorts to its address.
func (w *podWorker) openHostPorts(ctx context.Context, pod *corev1.Pod) {
	if w.podNet != nil {
		w.a.setHostPorts(ctx, w.uid, hostPortRules(pod, w.podNet.IP.String()))
	}
}

// removeNetwork takes back the pod's address and removes its namespace.
func (w *podWorker) removeNetwork(ctx context.Context) {
	if w.podNet == nil {
		return
	}
	w.a.setHostPorts(ctx, w.uid, nil)
	if n := w.a.podNetwork(); n != nil {
		if err := n.Remove(ctx, w.uid); err != nil {
			w.a.log.Warn("removing the pod's network", "pod", w.key, "err", err)
		}
	}
}

// networkMounts are the files of a pod in its own network that its
// containers see: /etc/hostname, /etc/hosts and the cluster DNS's
// resolv.conf (written once per pod).
func (w *podWorker) networkMounts(pod *corev1.Pod) []Mount {
	if w.podNet == nil {
		return w.hostNetworkDNS(pod)
	}
	if w.podFiles == nil {
		mounts, err := writePodFiles(filepath.Join(w.a.logDir(pod), "etc"), pod, w.podNet.IP.String(), w.a.serviceNetwork().Domain, w.a.clusterDNS())
		if err != nil {
			w.a.log.Warn("writing the pod's /etc files", "pod", w.key, "err", err)
			return nil
		}
		w.podFiles = mounts
	}
	return w.podFiles
}

// sandbox is the namespaces the pod's containers join: network, UTS and
// IPC (none for a pod in the node's network).
func (w *podWorker) sandbox() Sandbox {
	if w.podNet == nil {
		return Sandbox{}
	}
	return Sandbox{Net: w.podNet.Namespace, UTS: w.podNet.UTS, IPC: w.podNet.IPC}
}

// info is what the downward API may ask, with the pod's own address.
func (w *podWorker) info() nodeInfo {
	info := w.a.nodeInfo()
	if w.podNet != nil {
		info.podIP = w.podNet.IP.String()
	}
	return info
}

// probeHost is the address probes and HTTP hooks reach the pod at: its
// own, or the loopback of the node's network it shares.
func (w *podWorker) probeHost() string {
	if w.podNet != nil {
		return w.podNet.IP.String()
	}
	return "127.0.0.1"
}

// routeOut masquerades the pods' traffic that leaves the cluster, passes
// their bridged traffic to the ip hooks (for NetworkPolicies), and lets
// node ports answer on 127.0.0.1.
func (a *Agent) routeOut(ctx context.Context, podCIDR, cluster netip.Prefix) error {
	table := strings.Replace(proxyTable(a.cfg.Name), "berth_", "berth_egress_", 1)
	if err := applyRuleset(ctx, network.EgressRuleset(table, network.BridgeName(a.cfg.Name), podCIDR, cluster)); err != nil {
		return err
	}
	if err := network.FilterBridgedTraffic(); err != nil {
		return err
	}
	return network.AllowLoopbackNodePorts()
}

// hostNetworkDNS is the resolv.conf of a pod in the node's network whose
// dnsPolicy or dnsConfig asks for one other than the node's.
func (w *podWorker) hostNetworkDNS(pod *corev1.Pod) []Mount {
	if p := pod.Spec.DNSPolicy; p != corev1.DNSClusterFirstWithHostNet && p != corev1.DNSNone && pod.Spec.DNSConfig == nil {
		return nil
	}
	if w.podFiles == nil {
		m, err := writePodResolvConf(filepath.Join(w.a.logDir(pod), "etc"), pod, w.a.clusterDNS())
		if err != nil {
			w.a.log.Warn("writing the pod's resolv.conf", "pod", w.key, "err", err)
			return nil
		}
		w.podFiles = []Mount{m}
	}
	return w.podFiles
}
