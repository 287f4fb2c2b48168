package node

import (
	"fmt"
	"os"
	"sync"
)

// LogCommand is the subcommand of the berth binary that containerd's shim
// runs as a container's logging binary: `berth log-to PATH`.
const LogCommand = "log-to"

// RunShimLogger is the logging binary's body. The shim hands it the
// container's stdout and stderr as file descriptors 3 and 4, and waits
// for descriptor 5 to close before it starts the container. It writes
// both streams to path in the CRI log format until the container ends.
// Because the shim owns it, logging goes on while the agent restarts.
func RunShimLogger(path string) error {
	stdout, stderr, ready := os.NewFile(3, "stdout"), os.NewFile(4, "stderr"), os.NewFile(5, "ready")
	w, err := NewLogWriter(path, DefaultLogMaxBytes, DefaultLogMaxFiles)
	ready.Close()
	if err != nil {
		return fmt.Errorf("log-to %s: %w", path, err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []struct {
		name string
		f    *os.File
	}{{"stdout", stdout}, {"stderr", stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Copy(s.name, s.f)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
