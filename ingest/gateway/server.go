// Package gateway is the TCP server the device gateways share (ingest/jt808, ingest/gt06): it
// owns the listeners, caps the open connections in all and per remote address, closes silent
// connections, counts and logs refusals, recovers a handler's panic, and stops gracefully. A
// protocol brings its codec and sessions as a Handler.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Handler serves one device connection: it reads and frames, answers and authenticates, and
// returns when the connection is done. The server closes the connection then.
//
// The server owns the connection's deadlines: a read waits at most the idle timeout, a write
// at most the write timeout. Once the server stops, reads fail with ErrServerClosed (a read
// waiting already returns at once, with os.ErrDeadlineExceeded), so that the handler finishes
// the frame it is handling and returns. Reads and writes through the connection's SyscallConn
// are bound alike.
type Handler interface {
	ServeConn(ctx context.Context, c net.Conn)
}

// HandlerFunc is a function serving a connection, as a Handler.
type HandlerFunc func(ctx context.Context, c net.Conn)

// ServeConn calls f(ctx, c).
func (f HandlerFunc) ServeConn(ctx context.Context, c net.Conn) { f(ctx, c) }

// ErrServerClosed is the error of a connection's reads once the server stops.
var ErrServerClosed = errors.New("gateway: server closed")

// Config configures a Server.
type Config struct {
	Protocol   string                // the protocol label of the metrics and log lines; required
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are kept but not exported

	MaxConns int // open connections at most; 0: 10,000
	// MaxConnsPerAddr bounds the open connections of one remote IP address, so that one host
	// opening thousands cannot take every slot; 0: no cap. Terminals behind one carrier NAT or
	// private APN gateway share an address: set it only above their number.
	MaxConnsPerAddr int
	IdleTimeout     time.Duration // a connection silent this long is closed; 0: 5 minutes
	WriteTimeout    time.Duration // one write at most; 0: 10 seconds
}

// Server serves device connections with a Handler.
type Server struct {
	cfg Config
	h   Handler
	log *slog.Logger
	m   *metrics
	// fullLog samples the refusals of a full server: a flood would otherwise flood the log.
	fullLog Sampler
	// A connection moves its deadlines at most this often: moving a timer per read costs more
	// than the deadlines' precision is worth.
	readRearm, writeRearm time.Duration

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	handlers  sync.WaitGroup
}

// NewServer checks cfg, fills in defaults and registers the metrics.
func NewServer(cfg Config, h Handler) (*Server, error) {
	if cfg.Protocol == "" || h == nil {
		return nil, errors.New("gateway: NewServer needs a Protocol and a Handler")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 10_000
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	m, err := newMetrics(cfg.Protocol, cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics: %w", cfg.Protocol, err)
	}
	return &Server{
		cfg:        cfg,
		h:          h,
		log:        cfg.Logger.With("protocol", cfg.Protocol),
		m:          m,
		readRearm:  min(time.Second, cfg.IdleTimeout/16),
		writeRearm: min(time.Second, cfg.WriteTimeout/16),
		listeners:  make(map[net.Listener]struct{}),
		conns:      make(map[*conn]struct{}),
	}, nil
}

// ListenAndServe listens on the TCP address addr and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", s.cfg.Protocol, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln and serves each with the handler, passing it ctx, until
// ctx is cancelled or Shutdown is called. Cancelling ctx stops the server as Shutdown
// does, waiting for the handlers however long they take. Serve returns nil once the server
// has stopped and every handler has returned; it closes ln.
//
// Temporary accept errors (out of file descriptors) are retried after a pause, from 5 ms
// doubling to 1 s, as net/http does. Any other (ln closed) stops the server, and Serve
// returns it once the handlers have returned. A stopped Server does not serve again.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.MaxConnsPerAddr > 0 {
		ln = newListener(ln, ListenerConfig{MaxConnsPerAddr: s.cfg.MaxConnsPerAddr}, s.log, s.m.refused)
	}
	if !s.addListener(ln) {
		ln.Close()
		return nil
	}
	stop := context.AfterFunc(ctx, func() { s.Shutdown(context.Background()) })
	defer stop()
	s.log.Info("listening", "addr", ln.Addr().String())
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			var te interface{ Temporary() bool }
			switch {
			case s.stopping():
				s.handlers.Wait()
				return nil
			case errors.As(err, &te) && te.Temporary():
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			s.Shutdown(context.Background())
			s.handlers.Wait()
			return fmt.Errorf("%s: accept: %w", s.cfg.Protocol, err)
		}
		backoff = 0
		if c := s.track(nc); c != nil {
			go s.serve(ctx, c)
		}
	}
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// track adds nc to the open connections, or closes it when the server is full or stopping.
func (s *Server) track(nc net.Conn) *conn {
	s.mu.Lock()
	if s.closing || len(s.conns) >= s.cfg.MaxConns {
		closing := s.closing
		s.mu.Unlock()
		// Counted before the close, so whoever sees the connection closed sees it counted.
		if !closing {
			s.m.refused.WithLabelValues(ReasonMaxConns).Inc()
			if ok, suppressed := s.fullLog.Allow(); ok {
				s.log.Warn("connection refused: too many connections", "remote", nc.RemoteAddr().String(),
					"max_conns", s.cfg.MaxConns, "refused_since_last_line", suppressed)
			}
		}
		nc.Close()
		return nil
	}
	c := &conn{Conn: nc, s: s}
	s.conns[c] = struct{}{}
	s.handlers.Add(1)
	s.mu.Unlock()
	s.m.conns.Inc()
	return c
}

func (s *Server) serve(ctx context.Context, c *conn) {
	defer s.handlers.Done()
	defer s.untrack(c)
	defer c.Close()
	defer func() {
		// A decoder bug must cost one connection, not the process.
		if v := recover(); v != nil {
			s.m.panics.Inc()
			s.log.Error("connection panic", "remote", c.RemoteAddr().String(), "panic", v, "stack", string(debug.Stack()))
		}
	}()
	s.h.ServeConn(ctx, c)
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.m.conns.Dec()
}

// Shutdown stops the server gracefully: it closes the listeners and makes every connection's
// next read fail (a read waiting for a silent device returns at once), so that each handler
// finishes the frame it is handling and returns. It waits for the handlers until ctx ends,
// then closes the connections still open and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.stop()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	return ctx.Err()
}
