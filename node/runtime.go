package node

import (
	"context"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Runtime runs containers for the agent. The containerd runtime is the one
// users run; a hollow runtime for scale tests may implement it too.
type Runtime interface {
	// List returns every container this node owns, running or exited.
	List(ctx context.Context) ([]Container, error)
	// Start makes the image available, creates the container and starts
	// it. The channel receives the container's exit; it is watched for as
	// long as ctx lasts (a runtime may close it when ctx ends).
	Start(ctx context.Context, s StartSpec) (Container, <-chan Exit, error)
	// Wait returns a channel that receives a running container's exit,
	// watched for as long as ctx lasts, as Start's.
	Wait(ctx context.Context, id string) (<-chan Exit, error)
	// Stop sends SIGTERM, then SIGKILL once grace runs out.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove deletes the container, its task and its snapshot.
	Remove(ctx context.Context, id string) error
	// Exec runs a command in a running container and returns its exit code.
	Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, error)
	// ExecStream runs a command in a running container with a user's
	// streams (kubectl exec) and returns its exit code once it ended and
	// its output was copied.
	ExecStream(ctx context.Context, id string, s ExecStreams) (int, error)
	// Usage reads a running container's cgroup: its CPU time so far and
	// its memory working set.
	Usage(ctx context.Context, id string) (CgroupUsage, error)
}

// CgroupUsage is a container's cumulative CPU time and its working set
// (memory in use less the inactive page cache), as cAdvisor counts it.
type CgroupUsage struct {
	CPU        time.Duration
	WorkingSet uint64
}

// ExecStreams are the command and streams of an interactive exec. Stdin,
// Stdout and Stderr may be nil; Resize carries a terminal's new sizes.
type ExecStreams struct {
	Cmd    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	Resize <-chan TerminalSize
}

// TerminalSize is a terminal's width and height, in characters.
type TerminalSize struct{ Width, Height uint16 }

// Sandbox is the namespaces a pod's containers share, by path: network,
// hostname (UTS) and System V IPC, as the pause container's in
// Kubernetes. Empty paths are not shared.
type Sandbox struct {
	Net, UTS, IPC string
}

// StartSpec is one attempt of one container of a pod.
type StartSpec struct {
	ID        string
	Pod       *corev1.Pod
	Container *corev1.Container
	Attempt   int
	LogPath   string
	// Env is the container's environment, resolved ("NAME=value").
	Env []string
	// Mounts are the container's volumes, prepared on the host.
	Mounts []Mount
	// Sandbox holds the pod's namespaces to join; none runs the container
	// in the node's network.
	Sandbox Sandbox
}

// Mount binds a host folder into a container.
type Mount struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// Container is a container the runtime knows.
type Container struct {
	ID        string
	PodUID    string
	Name      string
	Attempt   int
	Running   bool
	StartedAt time.Time
	Exit      *Exit
	LogPath   string
	// Pulled says how Start made the image available, as the kubelet's
	// Pulled event does.
	Pulled string
}

// Exit is how a container ended.
type Exit struct {
	Code int
	At   time.Time
	// OOMKilled is set when the kernel's OOM killer ended it.
	OOMKilled bool
}

// ImageError is a failure to make a container's image available; Reason
// is the waiting reason Kubernetes shows (ErrImagePull, ErrImageNeverPull).
type ImageError struct {
	Reason string
	Image  string
	Err    error
}

// Error renders the reason, the image and the cause.
func (e *ImageError) Error() string { return e.Reason + ": " + e.Image + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ImageError) Unwrap() error { return e.Err }

// Labels berth puts on the containers it creates.
const (
	LabelNode      = "berth.dev/node"
	LabelPodUID    = "berth.dev/pod-uid"
	LabelPodName   = "berth.dev/pod-name"
	LabelNamespace = "berth.dev/pod-namespace"
	LabelContainer = "berth.dev/container"
	LabelAttempt   = "berth.dev/attempt"
	LabelLogPath   = "berth.dev/log-path"
)
