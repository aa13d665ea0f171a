package ratelimit

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Duration
}

func (c *clock) now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t += d
	c.mu.Unlock()
}

func newGate(t *testing.T, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Gate, *clock) {
	t.Helper()
	c := &clock{t: time.Hour}
	cfg.Clock = c.now
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := l.Gate("jt808", log, reg)
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

func verdicts(n int, f func() Verdict) map[Verdict]int {
	out := map[Verdict]int{}
	for range n {
		out[f()]++
	}
	return out
}

func TestConnectionBucket(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, clk := newGate(t, Config{ConnFrames: Limit{Rate: 10, Burst: 100}}, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var b Bucket
	// A full bucket admits the burst, refuses the next burst's worth, then says close.
	got := verdicts(100, func() Verdict { return g.Frame(&b, "addr", "dev") })
	if got[Allow] != 100 {
		t.Fatalf("first burst: %v", got)
	}
	got = verdicts(100, func() Verdict { return g.Frame(&b, "addr", "dev") })
	if got[Refuse] != 100 {
		t.Fatalf("second burst: %v", got)
	}
	if v := g.Frame(&b, "addr", "dev"); v != Close {
		t.Fatalf("after two bursts: %v, want Close", v)
	}
	// A terminal that pauses until its debt is paid is admitted again.
	var c Bucket
	verdicts(150, func() Verdict { return g.Frame(&c, "addr", "dev") })
	if w := g.FrameWait(&c); w != 5100*time.Millisecond {
		t.Errorf("wait with 50 of debt at 10/s: %v, want 5.1s", w)
	}
	clk.advance(5 * time.Second)
	if v := g.Frame(&c, "addr", "dev"); v != Refuse {
		t.Errorf("a frame before the debt is paid: %v, want Refuse", v)
	}
	clk.advance(5 * time.Second) // 101 used, 50 refilled
	got = verdicts(49, func() Verdict { return g.Frame(&c, "addr", "dev") })
	if got[Allow] != 49 {
		t.Errorf("after paying the debt: %v", got)
	}
	// b: 100 refused and 1 closed; c: 50 refused in its burst and 1 before the debt was paid.
	if n := value(g.rejected); n != 152 {
		t.Errorf("rejected: %v, want 152", n)
	}
	if n := value(g.closed); n != 1 {
		t.Errorf("closed: %v, want 1", n)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestSteadyRateWithinLimitIsNeverRefused(t *testing.T) {
	g, clk := newGate(t, Config{ConnFrames: Limit{Rate: 10, Burst: 20}}, nil, nil)
	var b Bucket
	for i := range 10000 {
		if v := g.Frame(&b, nil, ""); v != Allow {
			t.Fatalf("frame %d at the limit's rate: %v", i, v)
		}
		clk.advance(100 * time.Millisecond)
	}
}

func TestDeviceSharedAcrossConnections(t *testing.T) {
	g, clk := newGate(t, Config{DeviceFixes: Limit{Rate: 1, Burst: 300}}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a, b := g.Acquire("dev-1"), g.Acquire("dev-1")
	if a != b {
		t.Fatal("two connections of one device got two buckets")
	}
	// A blind-area batch of 255 fixes passes whole; the second cannot, from either connection.
	if v := g.Fixes(a, 255, nil); v != Allow {
		t.Fatalf("batch of 255: %v", v)
	}
	if v := g.Fixes(b, 255, nil); v != Refuse {
		t.Fatalf("second batch of 255 on the other connection: %v, want Refuse", v)
	}
	if w := g.FixWait(a, 45); w != 255*time.Second {
		t.Errorf("wait: %v, want 255s", w)
	}
	other := g.Acquire("dev-2")
	if v := g.Fixes(other, 255, nil); v != Allow {
		t.Errorf("another device: %v", v)
	}
	if v := g.Fixes(b, 255, nil); v != Close {
		t.Fatalf("third batch: %v, want Close", v)
	}
	// Reconnecting does not clear the debt: the entry outlives its connections until it
	// has refilled.
	g.Release(a)
	g.Release(b)
	c := g.Acquire("dev-1")
	if c != a {
		t.Fatal("a device in debt was forgotten when its connections closed")
	}
	g.Release(c)
	g.Release(other)
	clk.advance(time.Hour)
	// Idle devices are swept when a shard has grown to minSweep: enough of them that every
	// shard has, and few enough that the table must have been swept to stay this small.
	for i := range 20000 {
		g.Release(g.Acquire(fmt.Sprint("x", i)))
	}
	if n := g.l.devices(); n > 2*minSweep*len(g.l.shards) {
		t.Errorf("%d devices kept after 20,000 idle ones came and went", n)
	}
	if d := g.Acquire("dev-1"); d == a {
		t.Error("an idle, refilled device was never swept")
	}
}

func TestRebind(t *testing.T) {
	g, _ := newGate(t, Config{DeviceFixes: Limit{Rate: 1, Burst: 300}}, nil, nil)
	d := g.Acquire("a")
	if g.Rebind(d, "a") != d {
		t.Error("rebinding to the same device changed the bucket")
	}
	e := g.Rebind(d, "b")
	if e == d || e.id != "b" || d.refs != 0 {
		t.Errorf("rebind to b: %+v, old refs %d", e, d.refs)
	}
}

func TestNilAndDisabled(t *testing.T) {
	l, err := New(Config{})
	if err != nil || l != nil {
		t.Fatalf("New of no limits: %v, %v", l, err)
	}
	g, err := l.Gate("gt06", nil, nil)
	if err != nil || g != nil {
		t.Fatalf("Gate of a nil Limiter: %v, %v", g, err)
	}
	var b Bucket
	for range 1000 {
		if g.Frame(&b, nil, "") != Allow || g.Fixes(g.Acquire("x"), 255, nil) != Allow {
			t.Fatal("a nil gate refused")
		}
	}
	if g.Rebind(nil, "x") != nil || g.FrameWait(&b) != 0 {
		t.Error("nil gate")
	}
	if _, err := New(Config{ConnFrames: Limit{Rate: 5}}); err == nil {
		t.Error("a rate without a burst was accepted")
	}
}

func TestLogLinesAreLimited(t *testing.T) {
	var buf bytes.Buffer
	g, _ := newGate(t, Config{ConnFrames: Limit{Rate: 1, Burst: 1}}, nil, slog.New(slog.NewTextHandler(&buf, nil)))
	for i := range 1000 {
		var b Bucket
		for range 3 {
			g.Frame(&b, "10.0.0.1:4000", fmt.Sprint("dev-", i))
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// 1000 refusals and 1000 closures within a second or so: a handful of lines.
	if len(lines) > 10 {
		t.Errorf("%d log lines for 2000 events:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(buf.String(), "closing connection: frames over the rate limit, sustained") ||
		!strings.Contains(buf.String(), "device=dev-0 remote=10.0.0.1:4000") || !strings.Contains(buf.String(), "limit=\"1/s burst 1\"") {
		t.Errorf("log lack the close line naming device, address and rate:\n%s", buf.String())
	}
}

func TestFrameDoesNotAllocate(t *testing.T) {
	g, _ := newGate(t, Config{ConnFrames: Limit{Rate: 1e9, Burst: 1 << 30}, DeviceFixes: Limit{Rate: 1e9, Burst: 1 << 30}}, nil, nil)
	var b Bucket
	d := g.Acquire("dev")
	addr := net.Addr(&net.TCPAddr{})
	if n := testing.AllocsPerRun(1000, func() {
		g.Frame(&b, addr, "dev")
		g.Fixes(d, 1, addr)
	}); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkFrame(b *testing.B) {
	l, _ := New(Config{ConnFrames: Limit{Rate: 1e9, Burst: 1 << 30}, DeviceFixes: Limit{Rate: 1e9, Burst: 1 << 30}})
	g, _ := l.Gate("jt808", nil, nil)
	addr := net.Addr(&net.TCPAddr{})
	b.RunParallel(func(pb *testing.PB) {
		var bk Bucket
		d := g.Acquire(fmt.Sprint(time.Now().UnixNano()))
		for pb.Next() {
			g.Frame(&bk, addr, "dev")
			g.Fixes(d, 1, addr)
		}
	})
}

// BenchmarkDevices draws a frame and a fix for 20,000 devices in turn, each on a connection of
// its own: the time per frame, and the memory per device (its table entry and its connection's
// bucket).
func BenchmarkDevices(b *testing.B) {
	const n = 20000
	l, _ := New(Config{ConnFrames: Limit{Rate: 1e9, Burst: 1 << 30}, DeviceFixes: Limit{Rate: 1e9, Burst: 1 << 30}})
	g, _ := l.Gate("jt808", nil, nil)
	addr := net.Addr(&net.TCPAddr{})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(13900000000 + i)
	}
	conns, devs := make([]*Bucket, n), make([]*Device, n)
	before := heapInUse()
	for i, id := range ids {
		conns[i], devs[i] = new(Bucket), g.Acquire(id)
		g.Frame(conns[i], addr, id)
		g.Fixes(devs[i], 1, addr)
	}
	perDevice := float64(heapInUse()-before) / n
	i := 0
	for b.Loop() {
		g.Frame(conns[i], addr, ids[i])
		g.Fixes(devs[i], 1, addr)
		i = (i + 1) % n
	}
	b.ReportMetric(perDevice, "B/device")
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
