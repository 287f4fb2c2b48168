// Package network gives each pod of a node its own network namespace and
// address, through CNI (github.com/containerd/go-cni and Debian's
// containernetworking-plugins): a bridge named after the node, host-local
// addresses from the node's pod CIDR, and loopback. The namespace is a
// file under the agent's data directory, so that it outlives the agent
// and the next one adopts it with its address.
package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd/pkg/netns"
	gocni "github.com/containerd/go-cni"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// DefaultPluginDirs are where Debian's containernetworking-plugins and the
// upstream release put the CNI plugins.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// plugins are the CNI plugins a node needs.
var plugins = []string{"bridge", "host-local", "loopback"}

// InstallHint says how to get the plugins on Debian.
const InstallHint = "install Debian's containernetworking-plugins (apt-get install containernetworking-plugins)"

// Config is one node's pod network.
type Config struct {
	// Node names the bridge (see BridgeName).
	Node string
	// PodCIDR is the node's range of pod addresses.
	PodCIDR netip.Prefix
	// DataDir is the agent's data directory: the pods' namespaces and the
	// addresses given out live under it, so that agents on one machine
	// never share them.
	DataDir string
	// PluginDirs are searched for the CNI plugins (DefaultPluginDirs when
	// empty).
	PluginDirs []string
	// MTU of the pods' interfaces (the plugin's default when 0).
	MTU int
}

// Network sets up and tears down the network of the node's pods.
type Network struct {
	cfg Config
	cni gocni.CNI
}

// CheckPlugins checks that the CNI plugins are installed in dirs
// (DefaultPluginDirs when empty), and names the Debian package if not.
func CheckPlugins(dirs []string) error {
	if len(dirs) == 0 {
		dirs = DefaultPluginDirs
	}
	for _, p := range plugins {
		if findPlugin(dirs, p) == "" {
			return fmt.Errorf("CNI plugin %q not found in %v: %s", p, dirs, InstallHint)
		}
	}
	return nil
}

// New checks that the plugins are installed and loads the node's network.
func New(cfg Config) (*Network, error) {
	if len(cfg.PluginDirs) == 0 {
		cfg.PluginDirs = DefaultPluginDirs
	}
	if !cfg.PodCIDR.IsValid() {
		return nil, fmt.Errorf("pod network of node %s: no pod CIDR", cfg.Node)
	}
	if err := CheckPlugins(cfg.PluginDirs); err != nil {
		return nil, err
	}
	conf, err := confList(cfg)
	if err != nil {
		return nil, err
	}
	c, err := gocni.New(gocni.WithPluginDir(cfg.PluginDirs), gocni.WithInterfacePrefix("eth"), gocni.WithMinNetworkCount(2))
	if err != nil {
		return nil, fmt.Errorf("CNI: %w", err)
	}
	// The node's network first, so that the pod's interface is eth0.
	if err := c.Load(gocni.WithConfListBytes(conf), gocni.WithLoNetwork); err != nil {
		return nil, fmt.Errorf("CNI: loading the pod network: %w", err)
	}
	return &Network{cfg: cfg, cni: c}, nil
}

func findPlugin(dirs []string, name string) string {
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && !st.IsDir() {
			return filepath.Join(d, name)
		}
	}
	return ""
}

// BridgeName is the node's bridge: "berth-" and the node's name, or a
// hash of it where that would pass the kernel's 15 characters.
func BridgeName(node string) string {
	if len("berth-"+node) <= 15 {
		return "berth-" + node
	}
	h := fnv.New32a()
	h.Write([]byte(node))
	return fmt.Sprintf("berth-%08x", h.Sum32())
}

// confList is the CNI configuration of the node's pod network: a bridge
// that is the pods' gateway (no masquerade: pod-to-pod traffic keeps its
// addresses; berth masquerades only what leaves the cluster), with
// hairpin mode so that a pod reaches itself through a Service, and
// addresses from the pod CIDR kept under the data directory.
func confList(cfg Config) ([]byte, error) {
	ipam := map[string]any{
		"type":    "host-local",
		"ranges":  [][]map[string]string{{{"subnet": cfg.PodCIDR.Masked().String()}}},
		"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
		"dataDir": filepath.Join(cfg.DataDir, "cni", "networks"),
	}
	bridge := map[string]any{"type": "bridge", "bridge": BridgeName(cfg.Node), "isGateway": true,
		"ipMasq": false, "hairpinMode": true, "ipam": ipam}
	if cfg.MTU > 0 {
		bridge["mtu"] = cfg.MTU
	}
	return json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": "berth", "plugins": []any{bridge}})
}

// Pod is a pod's network: its namespaces and its address.
type Pod struct {
	// Namespace is the path of the pod's network namespace, for its
	// containers to join; UTS and IPC those of its hostname and its
	// System V IPC, which they share too.
	Namespace, UTS, IPC string
	IP                  netip.Addr
	// Took is how long Add took to set the pod's network up, and CNI the
	// part of it the plugins took (zero for a pod found again).
	Took, CNI time.Duration
}

// PodCIDR is the node's range of pod addresses.
func (n *Network) PodCIDR() netip.Prefix { return n.cfg.PodCIDR }

// nsDir is the folder of a pod's network namespace.
func (n *Network) nsDir(podUID string) string {
	return filepath.Join(n.cfg.DataDir, "netns", podUID)
}

// Add makes the pod's namespaces (its hostname set in the UTS one) and
// gives it an address, or returns the pod's network as it is when the
// namespaces exist (an agent restarted).
func (n *Network) Add(ctx context.Context, podUID, hostname string) (*Pod, error) {
	if p, err := n.Find(ctx, podUID); err != nil || p != nil {
		return p, err
	}
	start := time.Now()
	ns, err := netns.NewNetNS(n.nsDir(podUID))
	if err != nil {
		return nil, fmt.Errorf("network namespace of pod %s: %w", podUID, err)
	}
	p := &Pod{Namespace: ns.GetPath()}
	p.UTS, p.IPC, err = newSandbox(n.nsDir(podUID), hostname)
	if err == nil {
		cni := time.Now()
		p.IP, err = n.setup(ctx, podUID, ns.GetPath())
		p.CNI = time.Since(cni)
	}
	if err != nil {
		n.Remove(ctx, podUID)
		return nil, err
	}
	p.Took = time.Since(start)
	return p, nil
}

// setup runs the CNI ADD of a pod and returns its address on eth0.
func (n *Network) setup(ctx context.Context, podUID, nsPath string) (netip.Addr, error) {
	// Serially: in the calling thread, whose network namespace (the node's)
	// the plugins run in.
	res, err := n.cni.SetupSerially(ctx, podUID, nsPath, gocni.WithArgs("IgnoreUnknown", "1"))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("CNI ADD of pod %s: %w", podUID, err)
	}
	if eth0 := res.Interfaces["eth0"]; eth0 != nil {
		for _, c := range eth0.IPConfigs {
			if ip, ok := netip.AddrFromSlice(c.IP); ok && n.cfg.PodCIDR.Contains(ip.Unmap()) {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("CNI ADD of pod %s gave no address of %s on eth0", podUID, n.cfg.PodCIDR)
}

// Find returns the network of a pod whose namespace exists, with the
// address CNI gave it (a CNI CHECK-free read of host-local's record), or
// nil when it has none.
func (n *Network) Find(ctx context.Context, podUID string) (*Pod, error) {
	paths, _ := filepath.Glob(filepath.Join(n.nsDir(podUID), "cni-*"))
	if len(paths) == 0 {
		return nil, nil
	}
	ip, err := n.recordedIP(podUID)
	if err != nil {
		// The record is lost (a wiped CNI folder, say): the address is
		// still on the pod's eth0.
		if ip, err = n.interfaceIP(paths[0]); err != nil {
			return nil, err
		}
	}
	p := &Pod{Namespace: paths[0], IP: ip}
	if _, err := os.Stat(filepath.Join(n.nsDir(podUID), utsFile)); err == nil {
		p.UTS, p.IPC = filepath.Join(n.nsDir(podUID), utsFile), filepath.Join(n.nsDir(podUID), ipcFile)
	}
	return p, nil
}

// recordedIP reads the address host-local gave a pod: a file named after
// the address whose first line is the pod's ID.
func (n *Network) recordedIP(podUID string) (netip.Addr, error) {
	dir := filepath.Join(n.cfg.DataDir, "cni", "networks", "berth")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading the addresses given out (%s): %w", dir, err)
	}
	for _, e := range entries {
		ip, err := netip.ParseAddr(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && firstLine(data) == podUID {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod %s has a network namespace but no address recorded in %s", podUID, dir)
}

// interfaceIP reads the address of the pod's CIDR on eth0 inside the
// pod's network namespace.
func (n *Network) interfaceIP(nsPath string) (netip.Addr, error) {
	var ip netip.Addr
	err := netns.LoadNetNS(nsPath).Do(func(cnins.NetNS) error {
		link, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if got, ok := netip.AddrFromSlice(a.IP); ok && n.cfg.PodCIDR.Contains(got.Unmap()) {
				ip = got.Unmap()
			}
		}
		return nil
	})
	if err == nil && !ip.IsValid() {
		err = fmt.Errorf("no address of %s on eth0", n.cfg.PodCIDR)
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("the address of the pod in %s: %w", nsPath, err)
	}
	return ip, nil
}

func firstLine(data []byte) string {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return string(data[:i])
		}
	}
	return string(data)
}

// Remove takes the pod's address back and removes its namespace. A pod
// without one is no error.
func (n *Network) Remove(ctx context.Context, podUID string) error {
	paths, _ := filepath.Glob(filepath.Join(n.nsDir(podUID), "cni-*"))
	var errs []error
	for _, f := range []string{utsFile, ipcFile} {
		if err := unbind(filepath.Join(n.nsDir(podUID), f)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range paths {
		if err := n.cni.Remove(ctx, podUID, p, gocni.WithArgs("IgnoreUnknown", "1")); err != nil {
			errs = append(errs, fmt.Errorf("CNI DEL of pod %s: %w", podUID, err))
		}
		if err := netns.LoadNetNS(p).Remove(); err != nil {
			errs = append(errs, fmt.Errorf("removing the network namespace of pod %s: %w", podUID, err))
		}
	}
	if err := os.RemoveAll(n.nsDir(podUID)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
