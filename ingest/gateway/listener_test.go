package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// dialFrom connects to ln from the loopback address local.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestListenerCaps connects from two loopback addresses: the one that holds its quota is
// refused further connections, the other is served, and a closed connection frees its slot.
func TestListenerCaps(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	reg := prometheus.NewRegistry()
	ln, err := NewListener(inner, ListenerConfig{MaxConns: 8, MaxConnsPerAddr: 3, Protocol: "gt06",
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server side echoes one byte then holds the connection until the client closes.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte{1})
				io.Copy(io.Discard, c)
			}()
		}
	}()
	served := func(c net.Conn) bool {
		b := make([]byte, 1)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := c.Read(b)
		return n == 1
	}
	addr := inner.Addr().String()
	var flood []net.Conn
	for range 50 {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
	}
	n := 0
	for _, c := range flood {
		if served(c) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("one address got %d connections, want 3", n)
	}
	var others []net.Conn
	for range 5 {
		c := dialFrom(t, "127.0.0.1", addr)
		others = append(others, c)
	}
	for i, c := range others {
		if !served(c) && i < 3 {
			t.Errorf("connection %d of another address refused", i)
		}
	}
	// 6 open now; 127.0.0.3 gets two more, then the total cap of 8 refuses.
	third := []net.Conn{dialFrom(t, "127.0.0.3", addr), dialFrom(t, "127.0.0.3", addr), dialFrom(t, "127.0.0.3", addr)}
	if !served(third[0]) || !served(third[1]) || served(third[2]) {
		t.Error("the total cap did not hold at 8")
	}
	// Closing frees a slot of that address.
	for _, c := range flood {
		c.Close()
	}
	var again net.Conn
	for range 100 { // the server sees the closes asynchronously
		again = dialFrom(t, "127.0.0.2", addr)
		if served(again) {
			break
		}
		again.Close()
		again = nil
		time.Sleep(20 * time.Millisecond)
	}
	if again == nil {
		t.Error("a closed connection never freed its address's slot")
	}
	if v := testutil.ToFloat64(ln.(*Listener).refusedPerAddr); v < 47 {
		t.Errorf("refused per address: %v, want ≥ 47", v)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "per-address connection limit 3 reached; refusing 127.0.0.2:") ||
		!strings.Contains(out, "connection limit 8 reached; refusing 127.0.0.3:") {
		t.Errorf("log:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 6 {
		t.Errorf("%d log lines for ~50 refusals", n)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestListenerForwardsSyscallConn: the jt808 gateway reads the socket directly only when the
// accepted connection is a syscall.Conn.
func TestListenerForwardsSyscallConn(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := NewListener(inner, ListenerConfig{MaxConnsPerAddr: 1, Protocol: "jt808"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client := dialFrom(t, "127.0.0.1", inner.Addr().String())
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("the accepted connection is not a syscall.Conn")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := raw.Control(func(f uintptr) { fd = f }); err != nil || fd == 0 {
		t.Errorf("control: fd %d, %v", fd, err)
	}
}
