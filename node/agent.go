// Package node is the agent: it registers its node, long-polls the pods
// bound to it, runs them through a Runtime (containerd), and reports their
// status in batches.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/node/dns"
	"github.com/berth-dev/berth/node/ingress"
	"github.com/berth-dev/berth/node/network"
)

// Config configures an agent.
type Config struct {
	Name    string
	DataDir string
	// Listen is where the agent serves logs; empty serves none.
	Listen string
	// TLS is the log server's TLS config: the node's certificate, and only
	// masters' certificates accepted (required with Listen).
	TLS    *tls.Config
	Labels map[string]string
	// MaxPods caps the pods the scheduler puts on the node (0: 110).
	MaxPods int
	// CPU and Memory are the node's capacity; zero means the machine's.
	CPU, Memory resource.Quantity
	Heartbeat   time.Duration
	Logger      *slog.Logger
	// HostPaths are the prefixes hostPath volumes may use.
	HostPaths []string
	// Backoff is the delay before restarting a container that exited:
	// Initial, doubling to Max (the kubelet's 10 s and 5 min when zero).
	// Tests shorten it.
	Backoff Backoff
	// Clock gives the time (the real one when nil); tests drive a fake
	// one (k8s.io/utils/clock/testing).
	Clock clock.PassiveClock
	// Hollow marks a hollow node (with a HollowRuntime): no volumes are
	// prepared, hooks and probes are not run (they pass), for scale tests.
	Hollow bool
	// ServiceProxy programs the node's nftables for cluster IPs and node
	// ports (kube-proxy's job); it needs the nft command.
	ServiceProxy bool
	// PodNetwork gives each pod its own network namespace and address
	// from the node's pod CIDR, through CNI; NetworkMode says how pods
	// reach those of other nodes (network.HostGW when empty).
	PodNetwork  bool
	NetworkMode network.Mode
	// IngressHTTP and IngressHTTPS are the ports the Ingress proxy serves
	// on every address of the node (0: not served).
	IngressHTTP, IngressHTTPS int
	// CNIPluginDirs are where the CNI plugins are (network.DefaultPluginDirs
	// when empty).
	CNIPluginDirs []string
}

// Backoff bounds the restart back-off of crashing containers.
type Backoff struct {
	Initial, Max time.Duration
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Name == "" || c.DataDir == "" {
		return errors.New("agent: --name and --data are required")
	}
	return nil
}

// Agent is one running node agent.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	client   *client.Client
	rt       Runtime
	listener net.Listener

	mu      sync.Mutex
	workers map[string]*podWorker // by pod UID
	stats   statsCollector
	adopted map[string][]Container
	config  *configSet               // ConfigMaps and Secrets of the node's pods
	pending map[string]api.PodReport // reports not yet sent, by pod UID
	sent    map[string]api.PodReport // last report sent, by pod UID
	events  []corev1.Event           // events not yet sent
	// deletingVolumes are the volumes whose folders are being removed;
	// volumesDeleted those removed and not yet reported.
	deletingVolumes map[string]bool
	volumesDeleted  []string
	// volumeReports are the reports of local-path volumes set up, not
	// yet sent; reportedVolumes those queued once by this process.
	volumeReports   []api.VolumeReport
	reportedVolumes map[string]bool
	// nodeConditions are the node's conditions to send (nil: unchanged).
	nodeConditions []corev1.NodeCondition
	// metrics are the agent's Prometheus metrics.
	metrics *agentMetrics
	// services are the cluster's Services, for service links; not under mu.
	services atomic.Pointer[[]corev1.Service]
	wake     chan struct{} // signals the reporter
	// network is the node's pod network, once it has a pod CIDR; dns its
	// cluster DNS server then, answering from table, the last service
	// table.
	network atomic.Pointer[network.Network]
	dns     atomic.Pointer[dns.Server]
	table   atomic.Pointer[api.ServiceTable]
	// ingress is the Ingress and Gateway proxy (nil when the node serves
	// none); proxyPorts the ports it listens on.
	ingress    *ingress.Proxy
	proxyPorts proxyPorts
	// nodeRoutes keeps the routes to other nodes' pods, once the node has a
	// pod CIDR.
	nodeRoutes atomic.Pointer[network.Routes]
	// recordedNetwork says the master records the node as networking its
	// pods (the last assignments): without it and without a pod CIDR,
	// new pods run in the node's network.
	recordedNetwork atomic.Bool
	// serviceNet is the cluster DNS address and domain of the last
	// assignments.
	serviceNet atomic.Pointer[api.ServiceNetwork]
	// cluster is the cluster CIDR once the node's pod network is up: the
	// service proxy keeps the source of pods' connections then.
	cluster atomic.Pointer[netip.Prefix]
	// proxying says the service proxy programs nft; proxyMu serializes
	// its updates.
	proxying atomic.Bool
	proxyMu  sync.Mutex
	// hasNFT says the nft command is installed; policyMu serializes the
	// updates of the NetworkPolicy table.
	hasNFT   atomic.Bool
	policyMu sync.Mutex
	// hostPorts are the DNATs of the pods' hostPorts.
	hostPorts hostPorts

	// tasks are the goroutines Run starts and those they start (pod
	// workers, orphan removal, fences); Run returns once all have ended.
	tasks sync.WaitGroup
}

// New makes an agent; it does not contact the master until Run.
func New(cfg Config, c *client.Client, rt Runtime) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Backoff.Initial <= 0 {
		cfg.Backoff.Initial = DefaultBackoffInitial
	}
	if cfg.Backoff.Max < cfg.Backoff.Initial {
		cfg.Backoff.Max = max(DefaultBackoffMax, cfg.Backoff.Initial)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PodNetwork && !cfg.Hollow {
		if err := network.CheckPlugins(cfg.CNIPluginDirs); err != nil {
			return nil, fmt.Errorf("--pod-network: %w", err)
		}
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("--data %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = abs // the shim writes logs there, from its own working directory
	if cfg.CPU.IsZero() {
		cfg.CPU = *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)
	}
	if cfg.Memory.IsZero() {
		cfg.Memory = *resource.NewQuantity(machineMemory(), resource.BinarySI)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger.With("node", cfg.Name), client: c, rt: rt,
		workers: map[string]*podWorker{}, pending: map[string]api.PodReport{}, sent: map[string]api.PodReport{}, deletingVolumes: map[string]bool{}, reportedVolumes: map[string]bool{},
		config: newConfigSet(&api.Assignments{}),
		wake:   make(chan struct{}, 1)}
	a.metrics = newAgentMetrics(a)
	if cfg.Listen != "" {
		if cfg.TLS == nil {
			return nil, errors.New("agent: serving logs needs the node's TLS config")
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("agent: listening on %s: %w", cfg.Listen, err)
		}
		a.listener = tls.NewListener(ln, cfg.TLS)
	}
	return a, nil
}

// now is the agent's clock.
func (a *Agent) now() time.Time { return a.cfg.Clock.Now() }

// Run registers the node and runs its loops until ctx ends. Containers keep
// running when the agent stops; the next agent adopts them.
func (a *Agent) Run(ctx context.Context) error {
	existing, err := a.rt.List(ctx)
	if err != nil {
		return err
	}
	a.adopted = map[string][]Container{}
	for _, c := range existing {
		a.adopted[c.PodUID] = append(a.adopted[c.PodUID], c)
	}
	a.log.Info("agent starting", "containers found", len(existing))
	if err := a.register(ctx); err != nil {
		return err
	}
	var srv *http.Server
	if a.listener != nil {
		// Handlers (a followed log) end with ctx, so Shutdown below
		// waits for them.
		srv = &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return ctx }}
		a.spawn(func() { srv.Serve(a.listener) })
	}
	if a.ingressOn() {
		a.ingress = ingress.NewProxy(a.log)
		a.ingress.SetIngressPorts(a.cfg.IngressHTTP, a.cfg.IngressHTTPS)
		a.syncProxyPorts(ctx)
	}
	if !a.cfg.Hollow {
		a.spawn(func() { a.serviceLoop(ctx) })
		a.spawn(func() { a.statsLoop(ctx) })
	}
	a.spawn(func() { a.heartbeatLoop(ctx) })
	a.spawn(func() { a.reportLoop(ctx) })
	a.assignmentLoop(ctx)
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		cancel()
		srv.Close()
	}
	a.tasks.Wait() // workers end with ctx; their containers keep running
	return nil
}

// spawn runs f on a goroutine that Run waits for: f must end with Run's
// context.
func (a *Agent) spawn(f func()) {
	a.tasks.Add(1)
	go func() {
		defer a.tasks.Done()
		f()
	}()
}

// wellKnownLabels adds the labels the kubelet puts on its node (hostname,
// os, arch) to the node's own, which win.
func wellKnownLabels(name string, own map[string]string) map[string]string {
	out := map[string]string{api.LabelHostname: name, api.LabelOS: runtime.GOOS, api.LabelArch: runtime.GOARCH}
	for k, v := range own {
		out[k] = v
	}
	return out
}

// storageDir is the folder the node's local-path volumes are made in
// (for a hollow node, which makes none, a name that says so).
func (a *Agent) storageDir() string {
	if a.cfg.Hollow || a.cfg.DataDir == "" {
		return "(hollow)"
	}
	return a.cfg.DataDir
}

// register announces the node, retrying until a master accepts it.
func (a *Agent) register(ctx context.Context) error {
	reg := &api.Registration{Name: a.cfg.Name, Labels: wellKnownLabels(a.cfg.Name, a.cfg.Labels), CPU: a.cfg.CPU, Memory: a.cfg.Memory, MaxPods: a.cfg.MaxPods,
		PodNetwork: a.cfg.PodNetwork && !a.cfg.Hollow, StorageDir: a.storageDir()}
	if a.listener != nil {
		reg.Address = a.registeredAddress()
	}
	delay := 100 * time.Millisecond
	for {
		err := a.client.Register(ctx, reg)
		if err == nil {
			a.log.Info("registered", "servers", a.client.Servers())
			return nil
		}
		a.log.Warn("registration failed; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// heartbeatLoop sends a heartbeat every cfg.Heartbeat, or less often when
// the master asks for that (a large cluster: api.HeartbeatPace).
func (a *Agent) heartbeatLoop(ctx context.Context) {
	interval := a.cfg.Heartbeat
	reregistered := false
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ans, err := a.client.HeartbeatAnswer(ctx, a.cfg.Name)
		asked := time.Duration(ans.IntervalMillis) * time.Millisecond
		if next := max(a.cfg.Heartbeat, asked); err == nil && next != interval {
			interval = next
			t.Reset(interval)
		}
		var apiErr *client.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
			err = a.register(ctx) // the master forgot this node
		case err == nil && ans.Register && !reregistered:
			reregistered = true // once: the record lacks what this release registers
			err = a.register(ctx)
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("heartbeat failed", "err", err)
		}
	}
}

// assignmentLoop long-polls the pods bound to this node and starts, updates
// and stops pod workers to match.
func (a *Agent) assignmentLoop(ctx context.Context) {
	var index uint64
	first := true
	for ctx.Err() == nil {
		as, err := a.client.Assignments(ctx, a.cfg.Name, index, 30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("reading assignments failed", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		if as.Index == index && !first {
			continue
		}
		index = as.Index
		a.sync(ctx, as, first)
		first = false
	}
}

// sync makes the workers match the assigned pods. Fencing: the pods that
// are no longer bound to this node (gone from its assignments, as after
// a partition in which the master moved them) are stopped first; new pods
// of the same sync start only once those containers are stopped.
func (a *Agent) sync(ctx context.Context, as *api.Assignments, first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recordedNetwork.Store(as.PodNetwork)
	svc := serviceNetworkOf(as)
	a.serviceNet.Store(&svc)
	a.setUpNetwork(ctx, as.PodCIDR, as.ClusterCIDR)
	config := newConfigSet(as)
	a.deleteVolumes(ctx, as.Volumes)
	configChanged := !a.config.equal(config)
	a.config = config
	assigned := map[string]bool{}
	for i := range as.Pods {
		assigned[string(as.Pods[i].UID)] = true
	}
	var stopping []<-chan struct{}
	for uid, w := range a.workers {
		if !assigned[uid] {
			w.remove()
			stopping = append(stopping, w.done)
			delete(a.workers, uid)
		}
	}
	if first {
		for uid, cs := range a.adopted { // containers of pods no longer here
			if !assigned[uid] {
				done := make(chan struct{})
				a.spawn(func() { defer close(done); a.removeContainers(ctx, cs) })
				stopping = append(stopping, done)
				delete(a.adopted, uid)
			}
		}
	}
	fence := a.allDone(ctx, stopping)
	for i := range as.Pods {
		uid := string(as.Pods[i].UID)
		if w, ok := a.workers[uid]; ok {
			// Only a pod that changed, or whose ConfigMaps and Secrets
			// may have, wakes its worker: an answer comes for every pod
			// created or deleted on the node, and each woke every worker
			// of the node. (reflect.DeepEqual, not the API's semantic
			// equality: 5 µs a pod against 82, and at worst a wake-up
			// too many.)
			if configChanged || !reflect.DeepEqual(w.current(), &as.Pods[i]) {
				w.update(as.Pods[i].DeepCopy())
			}
			continue
		}
		p := as.Pods[i].DeepCopy()
		w := newPodWorker(a, p, a.adopted[uid])
		w.fence = fence
		delete(a.adopted, uid)
		a.workers[uid] = w
		a.spawn(func() { w.run(ctx) })
	}
	if len(stopping) > 0 {
		a.log.Info("fencing: stopping pods no longer bound here before starting new ones", "stopping", len(stopping))
	}
}

// allDone returns a channel closed once every channel of chans is closed,
// or nil when there are none; it is never closed if ctx ends first.
func (a *Agent) allDone(ctx context.Context, chans []<-chan struct{}) <-chan struct{} {
	if len(chans) == 0 {
		return nil
	}
	out := make(chan struct{})
	a.spawn(func() {
		for _, c := range chans {
			select {
			case <-c:
			case <-ctx.Done():
				return
			}
		}
		close(out)
	})
	return out
}

func (a *Agent) removeContainers(ctx context.Context, cs []Container) {
	for _, c := range cs {
		if err := a.rt.Stop(ctx, c.ID, 2*time.Second); err != nil {
			a.log.Warn("stopping orphan container", "id", c.ID, "err", err)
		}
		if err := a.rt.Remove(ctx, c.ID); err != nil {
			a.log.Warn("removing orphan container", "id", c.ID, "err", err)
		}
	}
}

// outboundIP is the address the machine's routes give to traffic leaving
// it (no packet is sent), or "" when there is no such route.
func outboundIP() string {
	conn, err := net.Dial("udp4", "10.255.255.254:9")
	if err != nil {
		return ""
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String()
}

// nodeInfo is the node's address and capacity, for the downward API.
func (a *Agent) nodeInfo() nodeInfo {
	ip := "127.0.0.1"
	if a.listener != nil {
		if host, _, err := net.SplitHostPort(a.listener.Addr().String()); err == nil && host != "::" && host != "0.0.0.0" {
			ip = host
		} else if out := outboundIP(); out != "" {
			ip = out
		}
	}
	return nodeInfo{hostIP: ip, cpu: a.cfg.CPU, memory: a.cfg.Memory, hostPaths: a.cfg.HostPaths, services: a.currentServices(),
		claimsDir: filepath.Join(a.cfg.DataDir, claimsFolder), dataDir: a.cfg.DataDir, localVolume: a.setUpLocalVolume}
}

// currentConfig returns the ConfigMaps and Secrets of the last assignment.
func (a *Agent) currentConfig() *configSet {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.config
}

// logDir is where a pod's container logs and volumes live.
func (a *Agent) logDir(p *corev1.Pod) string {
	return filepath.Join(a.cfg.DataDir, "pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID))
}

// workerFor finds the worker of a pod by namespace and name.
// allWorkers lists the pod workers.
func (a *Agent) allWorkers() []*podWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*podWorker, 0, len(a.workers))
	for _, w := range a.workers {
		out = append(out, w)
	}
	return out
}

func (a *Agent) workerFor(namespace, name string) *podWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		if w.key == api.Key(namespace, name) {
			return w
		}
	}
	return nil
}
