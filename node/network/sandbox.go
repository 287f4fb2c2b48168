package network

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// The namespaces a pod's containers share besides the network, as they
// share the pause container's in Kubernetes: the hostname (UTS) and
// System V IPC. Each is bound to a file beside the pod's network
// namespace, so that it outlives the agent.
const (
	utsFile = "uts"
	ipcFile = "ipc"
)

// newSandbox makes the pod's UTS namespace, named hostname, and its IPC
// namespace, under dir.
func newSandbox(dir, hostname string) (uts, ipc string, err error) {
	uts, ipc = filepath.Join(dir, utsFile), filepath.Join(dir, ipcFile)
	if err := bindNew(uts, unix.CLONE_NEWUTS, "uts", func() error { return unix.Sethostname([]byte(hostname)) }); err != nil {
		return "", "", fmt.Errorf("the pod's UTS namespace: %w", err)
	}
	if err := bindNew(ipc, unix.CLONE_NEWIPC, "ipc", nil); err != nil {
		unbind(uts)
		return "", "", fmt.Errorf("the pod's IPC namespace: %w", err)
	}
	return uts, ipc, nil
}

// bindNew makes a namespace of one kind on a thread of its own (which
// ends with it: the goroutine never unlocks it), runs setup inside, and
// binds the namespace to path so that it lasts.
func bindNew(path string, flag int, kind string, setup func() error) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		if err := unix.Unshare(flag); err != nil {
			errc <- err
			return
		}
		if setup != nil {
			if err := setup(); err != nil {
				errc <- err
				return
			}
		}
		errc <- unix.Mount(fmt.Sprintf("/proc/self/task/%d/ns/%s", unix.Gettid(), kind), path, "none", unix.MS_BIND, "")
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// unbind releases a namespace bound to a file, and removes the file.
func unbind(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && err != unix.EINVAL && !os.IsNotExist(err) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
