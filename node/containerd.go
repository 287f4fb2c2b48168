package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	cgroupsv1 "github.com/containerd/containerd/metrics/types/v1"
	cgroupsv2 "github.com/containerd/containerd/metrics/types/v2"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/typeurl/v2"
	"github.com/distribution/reference"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/node/crilog"
)

// Namespace is the containerd namespace berth's containers live in.
const Namespace = "berth"

const snapshotter = "overlayfs"

// InstallHint names the Debian packages that provide the container runtime.
const InstallHint = "install them with: apt-get install containerd runc"

// Containerd runs containers through the containerd Go client.
type Containerd struct {
	client   *containerd.Client
	node     string
	runcRoot string
	pullMu   sync.Mutex
	oom      *oomWatch
	stopOOM  context.CancelFunc
	oomDone  chan struct{} // closed when the OOM watch has ended
	execSeq  atomic.Uint64
	// AllowPrivileged lets pods run privileged containers on this node.
	AllowPrivileged bool
	// LogBinary is the berth binary the shim runs to write container logs
	// (see RunShimLogger); empty writes raw output with cio.LogFile.
	LogBinary string
}

// NewContainerd connects to the containerd socket and checks that it
// answers and that runc is installed.
func NewContainerd(ctx context.Context, socket, node, runcRoot string) (*Containerd, error) {
	if _, err := exec.LookPath("runc"); err != nil {
		return nil, fmt.Errorf("runc not found in PATH: %s", InstallHint)
	}
	if _, err := os.Stat(socket); err != nil {
		return nil, fmt.Errorf("containerd socket %s: %w (%s, or give --containerd)", socket, err, InstallHint)
	}
	client, err := containerd.New(socket, containerd.WithDefaultNamespace(Namespace), containerd.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("containerd at %s does not answer: %w", socket, err)
	}
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := client.Version(vctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("containerd at %s does not answer: %w", socket, err)
	}
	if err := os.MkdirAll(runcRoot, 0o711); err != nil {
		client.Close()
		return nil, fmt.Errorf("creating runc root %s: %w", runcRoot, err)
	}
	r := &Containerd{client: client, node: node, runcRoot: runcRoot, oom: newOOMWatch(), oomDone: make(chan struct{})}
	var octx context.Context
	octx, r.stopOOM = context.WithCancel(context.Background())
	go func() { defer close(r.oomDone); r.oom.run(octx, client) }() // until Close
	return r, nil
}

// podHostname is the name a pod's containers see: spec.hostname, or the
// pod's name; the node's for a pod in the node's network.
func podHostname(p *corev1.Pod) string {
	if p.Spec.HostNetwork {
		if h, err := os.Hostname(); err == nil {
			return h
		}
	}
	return cmp.Or(p.Spec.Hostname, p.Name)
}

// Client returns the containerd client.
func (r *Containerd) Client() *containerd.Client { return r.client }

// Close closes the connection.
func (r *Containerd) Close() error {
	r.stopOOM()
	<-r.oomDone
	return r.client.Close()
}

func nsCtx(ctx context.Context) context.Context { return namespaces.WithNamespace(ctx, Namespace) }

// NormalizeImage names an image as Docker does: busybox →
// docker.io/library/busybox:latest.
func NormalizeImage(image string) (string, error) {
	named, err := reference.ParseDockerRef(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	return named.String(), nil
}

// List returns the containers labelled with this node.
func (r *Containerd) List(ctx context.Context) ([]Container, error) {
	ctx = nsCtx(ctx)
	cs, err := r.client.Containers(ctx, fmt.Sprintf("labels.%q==%s", LabelNode, r.node))
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var out []Container
	for _, c := range cs {
		info, err := c.Info(ctx, containerd.WithoutRefreshedMetadata)
		if err != nil {
			continue
		}
		attempt, _ := strconv.Atoi(info.Labels[LabelAttempt])
		ct := Container{ID: c.ID(), PodUID: info.Labels[LabelPodUID], Name: info.Labels[LabelContainer],
			Attempt: attempt, LogPath: info.Labels[LabelLogPath], StartedAt: info.CreatedAt}
		r.taskState(ctx, c, &ct)
		out = append(out, ct)
	}
	return out, nil
}

// taskState fills in whether the container runs, or how it ended.
func (r *Containerd) taskState(ctx context.Context, c containerd.Container, ct *Container) {
	task, err := c.Task(ctx, nil)
	if err != nil {
		ct.Exit = &Exit{Code: -1, At: ct.StartedAt} // created, never started
		return
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status == containerd.Stopped {
		ct.Exit = &Exit{Code: int(st.ExitStatus), At: st.ExitTime}
		return
	}
	ct.Running = true
}

// Start creates and starts one container attempt.
func (r *Containerd) Start(ctx context.Context, s StartSpec) (Container, <-chan Exit, error) {
	ctx = nsCtx(ctx)
	img, pulled, err := r.ensureImage(ctx, s.Container.Image, s.Container.ImagePullPolicy)
	if err != nil {
		return Container{}, nil, err
	}
	opts, err := specOpts(ctx, img, s, r.AllowPrivileged)
	if err != nil {
		return Container{}, nil, err
	}
	labels := map[string]string{
		LabelNode: r.node, LabelPodUID: string(s.Pod.UID), LabelPodName: s.Pod.Name, LabelNamespace: s.Pod.Namespace,
		LabelContainer: s.Container.Name, LabelAttempt: strconv.Itoa(s.Attempt), LabelLogPath: s.LogPath,
	}
	c, err := r.client.NewContainer(ctx, s.ID,
		containerd.WithImage(img),
		containerd.WithNewSnapshot(s.ID, img),
		containerd.WithRuntime(plugin.RuntimeRuncV2, &runcoptions.Options{Root: r.runcRoot}),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(labels))
	if err != nil {
		return Container{}, nil, fmt.Errorf("creating container %s: %w", s.ID, err)
	}
	if err := os.MkdirAll(filepath.Dir(s.LogPath), 0o755); err != nil {
		return Container{}, nil, fmt.Errorf("creating log folder: %w", err)
	}
	logIO := cio.LogFile(s.LogPath)
	if r.LogBinary != "" {
		logIO = cio.BinaryIO(r.LogBinary, map[string]string{crilog.LogCommand: s.LogPath})
	}
	task, err := c.NewTask(ctx, logIO)
	if err != nil {
		return Container{}, nil, fmt.Errorf("creating task %s: %w", s.ID, err)
	}
	exits, err := r.waitTask(ctx, task)
	if err != nil {
		return Container{}, nil, err
	}
	if err := task.Start(ctx); err != nil {
		return Container{}, nil, fmt.Errorf("starting %s: %w", s.ID, err)
	}
	ct := Container{ID: s.ID, PodUID: string(s.Pod.UID), Name: s.Container.Name, Attempt: s.Attempt,
		Running: true, StartedAt: time.Now(), LogPath: s.LogPath, Pulled: pulled}
	return ct, exits, nil
}

// waitTask turns the task's exit into an Exit on a channel. The wait
// lasts as long as ctx (the pod worker's, not the start call's): when ctx
// ends first, the channel is closed without an exit, for the container
// has not exited.
func (r *Containerd) waitTask(ctx context.Context, task containerd.Task) (<-chan Exit, error) {
	statusC, err := task.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting for task %s: %w", task.ID(), err)
	}
	out := make(chan Exit, 1)
	go func() { // ends with ctx: containerd's wait returns then
		defer close(out)
		st := <-statusC
		if ctx.Err() != nil {
			return
		}
		code, at, err := st.Result()
		if err != nil {
			code = 255
		}
		out <- Exit{Code: int(code), At: at, OOMKilled: r.oom.wasKilled(task.ID(), int(code), 250*time.Millisecond)}
	}()
	return out, nil
}

// Wait returns the exit channel of a running container.
func (r *Containerd) Wait(ctx context.Context, id string) (<-chan Exit, error) {
	ctx = nsCtx(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("loading container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("loading task %s: %w", id, err)
	}
	return r.waitTask(ctx, task)
}

// Stop sends SIGTERM and, after grace, SIGKILL.
func (r *Containerd) Stop(ctx context.Context, id string, grace time.Duration) error {
	ctx = nsCtx(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("loading container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("loading task %s: %w", id, err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("waiting for task %s: %w", id, err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("SIGTERM to %s: %w", id, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-statusC:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("SIGKILL to %s: %w", id, err)
	}
	select {
	case <-statusC:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("container %s did not exit after SIGKILL", id)
	}
	return nil
}

// Remove deletes the task, the container and its snapshot.
func (r *Containerd) Remove(ctx context.Context, id string) error {
	ctx = nsCtx(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("loading container %s: %w", id, err)
	}
	if task, err := c.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("deleting task %s: %w", id, err)
		}
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("deleting container %s: %w", id, err)
	}
	return nil
}

// ensureImage returns the image, pulling it as the policy says, unpacked,
// and says how, in the words of the kubelet's Pulled event.
func (r *Containerd) ensureImage(ctx context.Context, image string, policy corev1.PullPolicy) (containerd.Image, string, error) {
	name, err := NormalizeImage(image)
	if err != nil {
		return nil, "", &ImageError{Reason: "InvalidImageName", Image: image, Err: err}
	}
	msg := fmt.Sprintf("Container image %q already present on machine", image)
	r.pullMu.Lock() // one pull at a time: parallel pulls of one image race on its content
	defer r.pullMu.Unlock()
	img, err := r.client.GetImage(ctx, name)
	present := err == nil
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, "", &ImageError{Reason: "ErrImagePull", Image: name, Err: err}
	}
	switch {
	case policy == corev1.PullNever && !present:
		return nil, "", &ImageError{Reason: "ErrImageNeverPull", Image: name, Err: errors.New("image is not present and imagePullPolicy is Never")}
	case policy == corev1.PullAlways || !present:
		resolver := docker.NewResolver(docker.ResolverOptions{
			Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost)),
		})
		start := time.Now()
		img, err = r.client.Pull(ctx, name, containerd.WithPullUnpack, containerd.WithResolver(resolver), containerd.WithPullSnapshotter(snapshotter))
		msg = fmt.Sprintf("Successfully pulled image %q in %v", image, time.Since(start).Round(time.Millisecond))
		if err != nil {
			return nil, "", &ImageError{Reason: "ErrImagePull", Image: name, Err: err}
		}
	}
	if ok, _ := img.IsUnpacked(ctx, snapshotter); !ok {
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return nil, "", &ImageError{Reason: "ErrImagePull", Image: name, Err: fmt.Errorf("unpacking: %w", err)}
		}
	}
	return img, msg, nil
}

// specOpts builds the OCI spec of a container: the image's config, then the
// pod's command, args, env and working directory, in the pod's network
// namespace (or the host's).
func specOpts(ctx context.Context, img containerd.Image, s StartSpec, allowPrivileged bool) ([]oci.SpecOpts, error) {
	cfg, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading config of image %s: %w", img.Name(), err)
	}
	c := s.Container
	opts := []oci.SpecOpts{oci.WithImageConfig(img)}
	if s.Sandbox.Net == "" { // a pod in its own network mounts its own (writePodFiles)
		opts = append(opts, oci.WithHostHostsFile, oci.WithHostResolvconf)
	}
	hostname := podHostname(s.Pod)
	switch {
	case s.Pod.Spec.HostNetwork: // the node's network and name, as in Kubernetes
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	case s.Sandbox.Net != "":
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: s.Sandbox.Net}), oci.WithHostname(hostname))
		for t, path := range map[specs.LinuxNamespaceType]string{specs.UTSNamespace: s.Sandbox.UTS, specs.IPCNamespace: s.Sandbox.IPC} {
			if path != "" {
				opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: t, Path: path}))
			}
		}
	default: // pods created before pod networking, or an agent without it
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostname(hostname))
	}
	if args := processArgs(cfg.Config.Entrypoint, cfg.Config.Cmd, c.Command, c.Args); len(args) > 0 {
		opts = append(opts, oci.WithProcessArgs(args...))
	} else {
		return nil, fmt.Errorf("container %s: no command: the image has no entrypoint and the pod gives none", c.Name)
	}
	opts = append(opts, oci.WithEnv(append([]string{"HOSTNAME=" + hostname}, s.Env...)))
	var mounts []specs.Mount
	for _, m := range s.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: m.Source, Destination: m.Destination, Options: []string{"rbind", mode}})
	}
	if len(mounts) > 0 {
		opts = append(opts, oci.WithMounts(mounts))
	}
	if c.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(c.WorkingDir))
	}
	sec, err := securityOpts(s.Pod, c, cfg.Config.User, allowPrivileged)
	if err != nil {
		return nil, err
	}
	opts = append(opts, sec...)
	return append(opts, resourceOpts(c.Resources)...), nil
}

// processArgs applies Kubernetes' rules: command replaces the entrypoint
// (and drops the image's cmd), args replace the cmd.
func processArgs(entrypoint, cmd, command, args []string) []string {
	switch {
	case len(command) > 0:
		return append(append([]string{}, command...), args...)
	case len(args) > 0:
		return append(append([]string{}, entrypoint...), args...)
	default:
		return append(append([]string{}, entrypoint...), cmd...)
	}
}

// Import loads an image archive (OCI or docker save format) into berth's
// namespace and unpacks it.
func (r *Containerd) Import(ctx context.Context, path string) ([]string, error) {
	ctx = nsCtx(ctx)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening image archive: %w", err)
	}
	defer f.Close()
	imgs, err := r.client.Import(ctx, f, containerd.WithImageRefTranslator(func(ref string) string {
		if n, err := NormalizeImage(ref); err == nil {
			return n
		}
		return ref
	}))
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w", path, err)
	}
	var names []string
	for _, i := range imgs {
		if err := containerd.NewImage(r.client, i).Unpack(ctx, snapshotter); err != nil {
			return nil, fmt.Errorf("unpacking %s from %s: %w", i.Name, path, err)
		}
		names = append(names, i.Name)
	}
	return names, nil
}

// Usage reads a running container's cgroup through containerd's task
// metrics (cgroup v1 or v2).
func (r *Containerd) Usage(ctx context.Context, id string) (CgroupUsage, error) {
	ctx = nsCtx(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return CgroupUsage{}, fmt.Errorf("loading container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return CgroupUsage{}, fmt.Errorf("container %s is not running: %w", id, err)
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return CgroupUsage{}, fmt.Errorf("metrics of %s: %w", id, err)
	}
	data, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return CgroupUsage{}, fmt.Errorf("metrics of %s: %w", id, err)
	}
	switch s := data.(type) {
	case *cgroupsv1.Metrics:
		u := CgroupUsage{CPU: time.Duration(s.GetCPU().GetUsage().GetTotal())}
		if mem := s.GetMemory(); mem != nil && mem.GetUsage().GetUsage() > mem.GetTotalInactiveFile() {
			u.WorkingSet = mem.GetUsage().GetUsage() - mem.GetTotalInactiveFile()
		}
		return u, nil
	case *cgroupsv2.Metrics:
		u := CgroupUsage{CPU: time.Duration(s.GetCPU().GetUsageUsec()) * time.Microsecond}
		if mem := s.GetMemory(); mem != nil && mem.GetUsage() > mem.GetInactiveFile() {
			u.WorkingSet = mem.GetUsage() - mem.GetInactiveFile()
		}
		return u, nil
	}
	return CgroupUsage{}, fmt.Errorf("metrics of %s: unknown type %T", id, data)
}

// ExecStream runs a user's command inside a running container with its
// streams, on a terminal when asked (kubectl exec -it), and returns its
// exit code once the process ended and its output was copied.
func (r *Containerd) ExecStream(ctx context.Context, id string, s ExecStreams) (int, error) {
	ctx = nsCtx(ctx)
	task, pspec, err := r.execTarget(ctx, id)
	if err != nil {
		return -1, err
	}
	pspec.Args, pspec.Terminal = s.Cmd, s.TTY
	var stdin io.Reader
	in := &stdinEOF{r: s.Stdin}
	if s.Stdin != nil {
		stdin = in
	}
	opts := []cio.Opt{cio.WithStreams(stdin, orDiscard(s.Stdout), orDiscard(s.Stderr))}
	if s.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	proc, err := task.Exec(ctx, fmt.Sprintf("exec-%d", r.execSeq.Add(1)), &pspec, cio.NewCreator(opts...))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	in.onEOF(func() { proc.CloseIO(ctx, containerd.WithStdinCloser) }) // the process reads EOF when the user's stdin ends
	statusC, err := proc.Wait(ctx)
	if err != nil {
		return -1, err
	}
	if err := proc.Start(ctx); err != nil {
		return -1, fmt.Errorf("starting %q in %s: %w", strings.Join(s.Cmd, " "), id, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // ends with ExecStream
		for {
			select {
			case size, ok := <-s.Resize:
				if !ok {
					return
				}
				proc.Resize(ctx, uint32(size.Width), uint32(size.Height))
			case <-done:
				return
			}
		}
	}()
	select {
	case st := <-statusC:
		proc.IO().Wait() // the output copied to the end
		code, _, err := st.Result()
		return int(code), err
	case <-ctx.Done():
		proc.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return -1, ctx.Err()
	}
}

// stdinEOF passes a user's stdin on and, at its end, closes the
// process's stdin (the FIFO's end alone does not reach it).
type stdinEOF struct {
	r    io.Reader
	mu   sync.Mutex
	eof  bool
	done func()
}

func (s *stdinEOF) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.mu.Lock()
		s.eof = true
		done := s.done
		s.mu.Unlock()
		if done != nil {
			done()
		}
	}
	return n, err
}

// onEOF sets what to do at the end of stdin (at once if it was reached).
func (s *stdinEOF) onEOF(f func()) {
	s.mu.Lock()
	s.done = f
	eof := s.eof
	s.mu.Unlock()
	if eof {
		f()
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// execTarget is a running container's task and a copy of its process
// spec, for a process to exec beside it.
func (r *Containerd) execTarget(ctx context.Context, id string) (containerd.Task, specs.Process, error) {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, specs.Process{}, fmt.Errorf("loading container %s: %w", id, err)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return nil, specs.Process{}, fmt.Errorf("reading the spec of %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return nil, specs.Process{}, fmt.Errorf("container %s is not running: %w", id, err)
	}
	return task, *spec.Process, nil
}

// Exec runs a command inside a running container (an exec probe) and
// returns its exit code; a command that outlives timeout is killed and
// counts as an error.
func (r *Containerd) Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, error) {
	ctx = nsCtx(ctx)
	task, pspec, err := r.execTarget(ctx, id)
	if err != nil {
		return -1, err
	}
	pspec.Args = cmd
	execID := fmt.Sprintf("probe-%d", r.execSeq.Add(1))
	proc, err := task.Exec(ctx, execID, &pspec, cio.NullIO)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	statusC, err := proc.Wait(ctx)
	if err != nil {
		return -1, err
	}
	if err := proc.Start(ctx); err != nil {
		return -1, fmt.Errorf("starting exec in %s: %w", id, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case st := <-statusC:
		code, _, err := st.Result()
		return int(code), err
	case <-timer.C:
		proc.Kill(ctx, syscall.SIGKILL)
		return -1, fmt.Errorf("command timed out after %v", timeout)
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}
