// Command berth-logger is the logging binary containerd's shim starts for
// each container berth runs: `berth-logger log-to PATH`. It writes the
// container's stdout and stderr to PATH in the CRI log format, with
// rotation. It is small on purpose (the standard library and
// node/crilog): one starts per container, and the berth binary itself
// takes about 40 ms to start, this one a few.
package main

import (
	"fmt"
	"os"

	"github.com/berth-dev/berth/node/crilog"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != crilog.LogCommand {
		fmt.Fprintf(os.Stderr, "usage: berth-logger %s PATH (started by containerd's shim, with the container's output on fds 3 and 4)\n", crilog.LogCommand)
		os.Exit(2)
	}
	if err := crilog.RunShimLogger(os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "berth-logger:", err)
		os.Exit(1)
	}
}
