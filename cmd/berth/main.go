// Command berth is berth's one binary: the master, the node agent, both in
// one process (berth up), and the client commands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		var code exitCode
		if asExit(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}
