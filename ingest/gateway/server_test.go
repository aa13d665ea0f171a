package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testServer serves on a loopback listener until the test ends.
type testServer struct {
	*Server
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, cfg Config, h HandlerFunc) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, cfg, h, ln)
}

func serve(t *testing.T, cfg Config, h HandlerFunc, ln net.Listener) *testServer {
	t.Helper()
	ts := &testServer{addr: ln.Addr().String(), done: make(chan error, 1)}
	cfg.Protocol, cfg.Registerer = "test", prometheus.NewRegistry()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var err error
	if ts.Server, err = NewServer(cfg, h); err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, ts.cancel = context.WithCancel(context.Background())
	go func() { ts.done <- ts.Serve(ctx, ln) }()
	t.Cleanup(func() {
		ts.cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		ts.done <- nil // later calls return at once
	})
	return ts
}

// greet writes one byte, then reads until the connection fails.
func greet(_ context.Context, c net.Conn) {
	c.Write([]byte{1})
	io.Copy(io.Discard, c)
}

// served reports whether the server greeted c rather than closing it.
func served(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	n, err := c.Read(b)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the greeting: %v", err)
	}
	return n == 1
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	return dialFrom(t, "127.0.0.1", addr)
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestMaxConnsPerAddr: the N+1th connection from one address is refused while another
// address is served, and a closed connection frees its address's slot.
func TestMaxConnsPerAddr(t *testing.T) {
	ts := startServer(t, Config{MaxConnsPerAddr: 2}, greet)
	a1, a2, a3 := dialFrom(t, "127.0.0.2", ts.addr), dialFrom(t, "127.0.0.2", ts.addr), dialFrom(t, "127.0.0.2", ts.addr)
	if !served(t, a1) || !served(t, a2) {
		t.Fatal("the first two connections of an address were refused")
	}
	if served(t, a3) {
		t.Error("the third connection of an address was served")
	}
	if !served(t, dialFrom(t, "127.0.0.3", ts.addr)) {
		t.Error("another address was refused")
	}
	if n := testutil.ToFloat64(ts.m.refused.WithLabelValues(ReasonMaxConnsPerAddr)); n != 1 {
		t.Errorf("refused per address: %v, want 1", n)
	}
	if n := testutil.ToFloat64(ts.m.conns); n != 3 {
		t.Errorf("bw_connections = %v, want 3", n)
	}
	a1.Close()
	waitFor(t, "the closed connection's slot", func() bool { return testutil.ToFloat64(ts.m.conns) == 2 })
	if !served(t, dialFrom(t, "127.0.0.2", ts.addr)) {
		t.Error("a closed connection did not free its address's slot")
	}
}

// TestMaxConns: a full server refuses with a counted, logged refusal.
func TestMaxConns(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	ts := startServer(t, Config{MaxConns: 1, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))}, greet)
	if !served(t, dial(t, ts.addr)) {
		t.Fatal("the first connection was refused")
	}
	if served(t, dial(t, ts.addr)) {
		t.Error("a connection over MaxConns was served")
	}
	if n := testutil.ToFloat64(ts.m.refused.WithLabelValues(ReasonMaxConns)); n != 1 {
		t.Errorf("refused: %v, want 1", n)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), `msg="connection refused: too many connections" protocol=test remote=127.0.0.1:`) ||
		!strings.Contains(logs.String(), "max_conns=1 refused_since_last_line=0") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestIdleTimeout: a silent connection is closed after the idle timeout, whether its handler
// reads through the conn or the socket directly; one that keeps talking stays open.
func TestIdleTimeout(t *testing.T) {
	// Long against the pauses between the talking connection's writes (a tenth of it): at the
	// suite's load a 50 ms sleep overran 200 ms and the server rightly closed that connection.
	const idle = 2 * time.Second
	handlers := map[string]func(net.Conn) error{
		"Read": func(c net.Conn) error {
			_, err := io.Copy(io.Discard, c)
			return err
		},
		"SyscallConn": func(c net.Conn) error {
			raw, err := c.(syscall.Conn).SyscallConn()
			if err != nil {
				return err
			}
			buf := make([]byte, 64)
			for {
				var n int
				var rerr error
				if err := raw.Read(func(fd uintptr) bool {
					n, rerr = syscall.Read(int(fd), buf)
					return rerr != syscall.EAGAIN
				}); err != nil {
					return err
				}
				if rerr != nil || n == 0 {
					return rerr
				}
			}
		},
	}
	for name, read := range handlers {
		t.Run(name, func(t *testing.T) {
			errc := make(chan error, 2)
			ts := startServer(t, Config{IdleTimeout: idle}, func(_ context.Context, c net.Conn) { errc <- read(c) })

			chatty := dial(t, ts.addr)
			silent := dial(t, ts.addr)
			start := time.Now()
			for range 15 { // 1.5 idle timeouts, a write every tenth of one
				time.Sleep(idle / 10)
				if _, err := chatty.Write([]byte{1}); err != nil {
					t.Fatalf("a talking connection was closed: %v", err)
				}
			}
			silent.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("silent connection: %v, want EOF", err)
			}
			if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("handler's read: %v, want os.ErrDeadlineExceeded", err)
			}
			if d := time.Since(start); d < idle*15/16 {
				t.Errorf("silent connection closed after %v, before the idle timeout %v", d, idle)
			}
			chatty.SetReadDeadline(time.Now().Add(idle / 2))
			if _, err := chatty.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("talking connection: %v, want it open", err)
			}
		})
	}
}

// TestShutdownWaitsForHandlers: Shutdown stops accepting and closes idle connections at once,
// lets a busy handler finish (its reply is written; its next read fails), and returns when it has.
func TestShutdownWaitsForHandlers(t *testing.T) {
	busy, release := make(chan struct{}), make(chan struct{})
	readErr := make(chan error, 1)
	ts := startServer(t, Config{}, func(_ context.Context, c net.Conn) {
		b := make([]byte, 1)
		if _, err := c.Read(b); err != nil || b[0] != 'b' {
			return // the idle connection
		}
		close(busy)
		<-release
		c.Write([]byte("done"))
		_, err := c.Read(b)
		readErr <- err
	})
	worker := dial(t, ts.addr)
	worker.Write([]byte{'b'})
	<-busy
	idle := dial(t, ts.addr)
	waitFor(t, "the idle connection", func() bool { return testutil.ToFloat64(ts.m.conns) == 2 })

	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection at shutdown: %v, want EOF", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a handler busy", err)
	case <-time.After(100 * time.Millisecond):
	}
	if c, err := net.Dial("tcp", ts.addr); err == nil {
		c.Close()
		t.Error("still accepting after Shutdown")
	}
	close(release)
	worker.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(worker); string(got) != "done" || err != nil {
		t.Errorf("busy connection: %q, %v; want its reply, then EOF", got, err)
	}
	if err := <-readErr; !errors.Is(err, ErrServerClosed) {
		t.Errorf("read after the frame: %v, want ErrServerClosed", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	ts.done <- nil
}

// TestShutdownUpToContext: a handler that does not finish in time has its connection closed
// under it, and Shutdown returns the context's error.
func TestShutdownUpToContext(t *testing.T) {
	busy, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, Config{}, func(_ context.Context, c net.Conn) {
		c.Read(make([]byte, 1))
		close(busy)
		<-release
	})
	c := dial(t, ts.addr)
	c.Write([]byte{1})
	<-busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want context.DeadlineExceeded", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("connection after Shutdown's context ended: %v, want EOF", err)
	}
	close(release)
}

// TestPanicCostsOneConnection: a handler's panic closes its connection and is counted; the
// server serves on.
func TestPanicCostsOneConnection(t *testing.T) {
	var panicked atomic.Bool
	ts := startServer(t, Config{}, func(ctx context.Context, c net.Conn) {
		if !panicked.Swap(true) {
			panic("decoder bug")
		}
		greet(ctx, c)
	})
	if served(t, dial(t, ts.addr)) {
		t.Error("the panicking handler's connection was greeted")
	}
	if !served(t, dial(t, ts.addr)) {
		t.Error("not served after a panic")
	}
	if n := testutil.ToFloat64(ts.m.panics); n != 1 {
		t.Errorf("panics: %v, want 1", n)
	}
}

// temporaryError is what Accept returns out of file descriptors.
type temporaryError struct{}

func (temporaryError) Error() string   { return "too many open files" }
func (temporaryError) Temporary() bool { return true }
func (temporaryError) Timeout() bool   { return false }

// fakeListener fails its first Accepts with errs, then hands out conn, then waits until closed.
type fakeListener struct {
	errs    []error
	conn    net.Conn
	accepts []time.Time
	closed  chan struct{}
	once    sync.Once
}

func (l *fakeListener) Accept() (net.Conn, error) {
	l.accepts = append(l.accepts, time.Now())
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	if c := l.conn; c != nil {
		l.conn = nil
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// TestAcceptBackoff: temporary Accept errors are retried after 5 ms, 10 ms, 20 ms…; then the
// connection accepted is served.
func TestAcceptBackoff(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	ln := &fakeListener{errs: []error{temporaryError{}, temporaryError{}, temporaryError{}}, conn: server, closed: make(chan struct{})}
	ts := serve(t, Config{}, greet, ln)
	if !served(t, client) {
		t.Fatal("the connection after the errors was not served")
	}
	ts.cancel()
	if err := <-ts.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	ts.done <- nil
	if len(ln.accepts) != 5 {
		t.Fatalf("%d Accepts, want 5", len(ln.accepts))
	}
	for i, want := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		if d := ln.accepts[i+1].Sub(ln.accepts[i]); d < want {
			t.Errorf("retry %d after %v, want %v", i+1, d, want)
		}
	}
}

// TestAcceptErrorEndsServe: a closed listener or any other error that is not temporary stops
// the server, closing its connections, and Serve returns it.
func TestAcceptErrorEndsServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{Protocol: "test", Logger: slog.New(slog.DiscardHandler)}, HandlerFunc(greet))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	c := dial(t, ln.Addr().String())
	if !served(t, c) {
		t.Fatal("not served")
	}
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after its listener closed: %v, want net.ErrClosed", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("connection after Serve ended: %v, want EOF", err)
	}

	broken := errors.New("broken")
	srv, err = NewServer(Config{Protocol: "test", Logger: slog.New(slog.DiscardHandler)}, HandlerFunc(greet))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), &fakeListener{errs: []error{broken}, closed: make(chan struct{})}); !errors.Is(err, broken) {
		t.Errorf("Serve: %v, want %v", err, broken)
	}
}

func TestNewServerNeedsProtocolAndHandler(t *testing.T) {
	if _, err := NewServer(Config{}, HandlerFunc(greet)); err == nil {
		t.Error("NewServer without a Protocol succeeded")
	}
	if _, err := NewServer(Config{Protocol: "test"}, nil); err == nil {
		t.Error("NewServer without a Handler succeeded")
	}
}
