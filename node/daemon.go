package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// DefaultContainerdSocket is where a system containerd listens.
const DefaultContainerdSocket = "/run/containerd/containerd.sock"

// Daemon is a containerd that berth started as its child, with its root
// and state under berth's data directory (as k3s does).
type Daemon struct {
	Socket string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Answers reports whether something accepts connections on the socket.
func Answers(socket string) bool {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// StartContainerd starts containerd under dir and waits for its socket.
func StartContainerd(ctx context.Context, dir string) (*Daemon, error) {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, fmt.Errorf("containerd not found in PATH: %s", InstallHint)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return nil, fmt.Errorf("runc not found in PATH: %s", InstallHint)
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("creating containerd folder %s: %w", dir, err)
	}
	d := &Daemon{Socket: filepath.Join(dir, "containerd.sock"), exited: make(chan struct{})}
	logf, err := os.OpenFile(filepath.Join(dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening containerd log: %w", err)
	}
	d.cmd = exec.Command(bin, "--root", filepath.Join(dir, "root"), "--state", filepath.Join(dir, "state"), "--address", d.Socket)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.start(logf); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for !Answers(d.Socket) {
		select {
		case <-d.exited:
			return nil, fmt.Errorf("containerd exited at start-up: see %s", filepath.Join(dir, "containerd.log"))
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, errors.New("containerd did not open its socket within 30s")
		}
	}
	return d, nil
}

// start starts containerd from an OS thread that the goroutine waiting
// for it keeps locked until it exits. The kernel sends Pdeathsig when the
// thread that forked the child ends, not the process: Go ends a thread
// whose goroutine exits while locked to it (as the code that makes a pod's
// network namespace does), and a pool thread that had started containerd
// would take it down with it.
func (d *Daemon) start(logf *os.File) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := d.cmd.Start(); err != nil {
			logf.Close()
			started <- fmt.Errorf("starting containerd: %w", err)
			return
		}
		started <- nil
		d.cmd.Wait()
		logf.Close()
		close(d.exited)
	}()
	return <-started
}

// Stop ends containerd (SIGTERM, then SIGKILL after 10 s). Running
// containers keep running under their shims.
func (d *Daemon) Stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
}
