package gateway

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is a served connection: its reads and writes set their own deadlines, and once the
// server stops, its reads fail. Only the handler's goroutine reads and writes.
type conn struct {
	net.Conn
	s *Server

	mu                    sync.Mutex // orders stop against a read moving its deadline
	stopped               atomic.Bool
	readArmed, writeArmed time.Time
}

func (c *conn) Read(p []byte) (int, error) {
	if err := c.armRead(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *conn) Write(p []byte) (int, error) {
	if err := c.armWrite(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// SyscallConn gives the socket's raw access, its reads and writes bound as the conn's are, so
// that a handler may read the socket directly (jt808 holds no buffer while idle).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &rawConn{RawConn: raw, c: c}, nil
}

// stop makes the current read, if any, and every later one fail.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped.Store(true)
	c.Conn.SetReadDeadline(time.Unix(1, 0))
}

// armRead moves the read deadline to the idle timeout from now, unless the server stopped.
func (c *conn) armRead() error {
	if c.stopped.Load() {
		return ErrServerClosed
	}
	now := time.Now()
	if now.Sub(c.readArmed) < c.s.readRearm {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped.Load() {
		return ErrServerClosed
	}
	c.readArmed = now
	return c.Conn.SetReadDeadline(now.Add(c.s.cfg.IdleTimeout))
}

func (c *conn) armWrite() error {
	now := time.Now()
	if now.Sub(c.writeArmed) < c.s.writeRearm {
		return nil
	}
	c.writeArmed = now
	return c.Conn.SetWriteDeadline(now.Add(c.s.cfg.WriteTimeout))
}

// rawConn is a conn's raw access: its reads and writes arm the conn's deadlines first.
type rawConn struct {
	syscall.RawConn
	c *conn
}

func (r *rawConn) Read(f func(fd uintptr) bool) error {
	if err := r.c.armRead(); err != nil {
		return err
	}
	return r.RawConn.Read(f)
}

func (r *rawConn) Write(f func(fd uintptr) bool) error {
	if err := r.c.armWrite(); err != nil {
		return err
	}
	return r.RawConn.Write(f)
}
