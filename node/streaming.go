package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/berth-dev/berth/api"
)

// The agent serves kubectl's exec, attach and port-forward streams (the
// master authorizes them and proxies the connection) with Kubernetes'
// streaming packages: the same SPDY and WebSocket protocols as the
// kubelet's streaming server.

// Timeouts of a stream, as the kubelet's: an idle connection closes after
// streamIdle; a client opens its streams within streamCreation.
const (
	streamIdle     = 4 * time.Hour
	streamCreation = remotecommand.DefaultStreamCreationTimeout
)

func (a *Agent) streamRoutes(mux *http.ServeMux) {
	mux.HandleFunc(api.AgentPathExec+"{namespace}/{pod}", a.handleExec)
	mux.HandleFunc(api.AgentPathAttach+"{namespace}/{pod}", a.handleAttach)
	mux.HandleFunc(api.AgentPathPortForward+"{namespace}/{pod}", a.handlePortForward)
}

// streamPod finds the pod of a stream request on this node; it answers
// the error itself.
func (a *Agent) streamPod(w http.ResponseWriter, r *http.Request) *podWorker {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	wk := a.workerFor(ns, name)
	if wk == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s is not on node %s", ns, name, a.cfg.Name), http.StatusNotFound)
	}
	return wk
}

// commandTarget finds the pod and the started container of an exec or
// attach, and the streams it asks for; it answers the error itself.
func (a *Agent) commandTarget(w http.ResponseWriter, r *http.Request) (wk *podWorker, container, id string, opts *remotecommand.Options, ok bool) {
	if wk = a.streamPod(w, r); wk == nil {
		return nil, "", "", nil, false
	}
	container, id, _ = wk.target(r.URL.Query().Get("container"))
	if id == "" {
		http.Error(w, fmt.Sprintf("container %q of pod %s has not started", container, wk.key), http.StatusBadRequest)
		return nil, "", "", nil, false
	}
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, "", "", nil, false
	}
	return wk, container, id, opts, true
}

func (a *Agent) handleExec(w http.ResponseWriter, r *http.Request) {
	wk, container, id, opts, ok := a.commandTarget(w, r)
	if !ok {
		return
	}
	cmd := r.URL.Query()[api.ExecCommandParam]
	remotecommand.ServeExec(w, r, &executor{rt: a.rt, id: id}, wk.key, wk.uid, container, cmd, opts, streamIdle, streamCreation,
		remotecommand.SupportedStreamingProtocols)
}

// executor runs an exec through the runtime.
type executor struct {
	rt Runtime
	id string
}

// ExecInContainer runs cmd in the container with the client's streams; a
// non-zero exit is an ExitError, which kubectl reports with its code.
func (e *executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool,
	resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	var sizes chan TerminalSize
	if resize != nil {
		sizes = make(chan TerminalSize)
		go func() { // ends when the client's resizes do, or with the request
			for s := range resize {
				select {
				case sizes <- TerminalSize{Width: s.Width, Height: s.Height}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	if errw != nil {
		stderr = errw
	}
	code, err := e.rt.ExecStream(ctx, e.id, ExecStreams{Cmd: cmd, Stdin: in, Stdout: stdout, Stderr: stderr, TTY: tty, Resize: sizes})
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

func (a *Agent) handleAttach(w http.ResponseWriter, r *http.Request) {
	wk, container, _, opts, ok := a.commandTarget(w, r)
	if !ok {
		return
	}
	if opts.Stdin {
		http.Error(w, fmt.Sprintf("attach to %s of pod %s: berth attaches to a container's output; its stdin is not kept open", container, wk.key), http.StatusBadRequest)
		return
	}
	_, path := wk.logPath(container)
	remotecommand.ServeAttach(w, r, logAttacher{path: path}, wk.key, wk.uid, container, opts, streamIdle, streamCreation,
		remotecommand.SupportedStreamingProtocols)
}

// logAttacher attaches to a container's output: what its log receives
// from now on (stdout and stderr, as the log holds them together).
type logAttacher struct{ path string }

// AttachContainer follows the log until the client or the agent goes.
func (l logAttacher) AttachContainer(ctx context.Context, _, _, _ string, _ io.Reader, out, errw io.WriteCloser, _ bool,
	_ <-chan remotecommand.TerminalSize) error {
	w := io.Writer(out)
	if w == nil {
		w = errw
	}
	if w == nil {
		return fmt.Errorf("attach asks for neither stdout nor stderr")
	}
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("the container's log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	followLog(ctx, func() error { return nil }, &logWriter{w: w}, f, l.path)
	return nil
}

func (a *Agent) handlePortForward(w http.ResponseWriter, r *http.Request) {
	wk := a.streamPod(w, r)
	if wk == nil {
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _, netns := wk.target("")
	if netns == "" {
		http.Error(w, fmt.Sprintf("pod %s has no network yet", wk.key), http.StatusServiceUnavailable)
		return
	}
	portforward.ServePortForward(w, r, podDialer{netns: netns}, wk.key, wk.uid, opts, streamIdle, streamCreation, portforward.SupportedProtocols)
}

// podDialer connects a forwarded port to the pod: to its loopback, in its
// network namespace (the node's, for a pod in the node's network), as
// the kubelet does, so that a port bound to 127.0.0.1 answers too.
type podDialer struct{ netns string } // a path, or nodeNetwork

// PortForward copies between the stream and a connection to port.
func (d podDialer) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	conn, err := d.dial(ctx, port)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(conn, stream); conn.(*net.TCPConn).CloseWrite(); done <- struct{}{} }() // ends with the stream
	go func() { io.Copy(stream, conn); done <- struct{}{} }()                                   // ends with the connection
	<-done
	return nil
}

func (d podDialer) dial(ctx context.Context, port int32) (net.Conn, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	var dialer net.Dialer
	if d.netns == nodeNetwork {
		return dialer.DialContext(ctx, "tcp", addr)
	}
	var conn net.Conn
	err := ns.WithNetNSPath(d.netns, func(ns.NetNS) error {
		var err error
		conn, err = dialer.DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dialing port %d in the pod's network namespace %s: %w", port, d.netns, err)
	}
	return conn, nil
}
