package dns

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// freebind lets a socket bind an address the node does not have yet.
func freebind(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1) }); err != nil {
		return err
	}
	return serr
}
