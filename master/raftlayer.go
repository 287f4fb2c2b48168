package master

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// tlsStream is Raft's stream layer over mutual TLS: both ends show a
// master's certificate of the cluster CA (raftTLS). While plain() holds
// (a master upgraded in place, before the whole cluster runs format 3) it
// also accepts and dials plain connections to masters of the previous
// release, which speak no TLS.
type tlsStream struct {
	ln        net.Listener
	advertise net.Addr
	config    *tls.Config
	plain     func() bool
	log       *slog.Logger
	conns     chan net.Conn // handshaken connections, for Accept
	closed    chan struct{}
	closeOnce sync.Once
}

// tlsRecordHandshake is the first byte of every TLS connection; Raft's own
// first byte is an RPC type below 4.
const tlsRecordHandshake = 0x16

// handshakeTimeout bounds a TLS handshake between masters.
const handshakeTimeout = 10 * time.Second

func newTLSStream(addr string, config *tls.Config, plain func() bool, log *slog.Logger) (*tlsStream, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for raft on %s: %w", addr, err)
	}
	s := &tlsStream{ln: ln, advertise: ln.Addr(), config: config, plain: plain, log: log,
		conns: make(chan net.Conn), closed: make(chan struct{})}
	if tcp, err := net.ResolveTCPAddr("tcp", addr); err == nil && tcp.Port != 0 && !tcp.IP.IsUnspecified() && tcp.IP != nil {
		s.advertise = tcp
	}
	go s.acceptLoop()
	return s, nil
}

// acceptLoop accepts connections and completes each one's handshake in
// a goroutine of its own, so that a slow or hostile peer holds up no
// other master; it ends when the listener is closed.
func (s *tlsStream) acceptLoop() {
	defer close(s.conns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.serve(conn)
			if err != nil {
				s.log.Warn("raft connection refused", "from", conn.RemoteAddr().String(), "err", err)
				conn.Close()
				return
			}
			select {
			case s.conns <- c:
			case <-s.closed:
				c.Close()
			}
		}()
	}
}

// Accept returns the next connection from another master that completed
// its handshake.
func (s *tlsStream) Accept() (net.Conn, error) {
	select {
	case c, ok := <-s.conns:
		if ok {
			return c, nil
		}
	case <-s.closed:
	}
	return nil, net.ErrClosed
}

// serve completes the server side of a connection: TLS, or plain while
// plain() allows it.
func (s *tlsStream) serve(conn net.Conn) (net.Conn, error) {
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	defer conn.SetDeadline(time.Time{})
	br := bufio.NewReaderSize(conn, 1)
	first, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	peeked := &peekedConn{Conn: conn, r: br}
	if first[0] != tlsRecordHandshake {
		if s.plain() {
			return peeked, nil
		}
		return nil, errors.New("a plain Raft connection: masters speak TLS (every master must run v0.3.0 or newer)")
	}
	tc := tls.Server(peeked, s.config)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// Dial connects to another master over TLS; while plain() holds, a master
// that does not speak TLS is dialled again in plain.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	conn, err := tls.DialWithDialer(d, "tcp", string(address), s.config)
	if err == nil {
		return conn, nil
	}
	if !s.plain() {
		return nil, err
	}
	return d.Dial("tcp", string(address))
}

// Addr is the address other masters reach this one at.
func (s *tlsStream) Addr() net.Addr { return s.advertise }

// Close stops accepting connections.
func (s *tlsStream) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return s.ln.Close()
}

// peekedConn is a connection whose first bytes went through a reader.
type peekedConn struct {
	net.Conn
	r *bufio.Reader // nil once its buffer is read
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.r = nil
	}
	return c.Conn.Read(p)
}
