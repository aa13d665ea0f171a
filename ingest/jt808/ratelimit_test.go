package jt808

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

// limitedServer serves two plain devices under limits on a stopped clock: no bucket refills
// during the test, so what is admitted depends only on what was sent.
func limitedServer(t *testing.T, cfg ratelimit.Config) *testServer {
	t.Helper()
	cfg.Clock = func() time.Duration { return time.Hour }
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, Config{Limits: l, Admission: &tracker.Admission{Devices: devices{
		"12345678901": {ID: "12345678901", Protocol: tracker.ProtocolJT808, VehicleID: "car-1"},
		"12345678902": {ID: "12345678902", Protocol: tracker.ProtocolJT808, VehicleID: "car-2"},
	}}})
}

// repliesUntilClosed reads the replies left on tm's connection until the server closes it.
func (tm *terminal) repliesUntilClosed() int {
	tm.t.Helper()
	n := 0
	for {
		_, err := tm.sc.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) { // reset: closed with our frames unread
			return n
		}
		if err != nil {
			tm.t.Fatalf("waiting for the server to close: %v", err)
		}
		n++
	}
}

// TestServerFloodingTerminalIsRefusedThenClosed: a terminal sending more frames than its
// connection may is not acknowledged past its burst and is disconnected after a second burst's
// worth, while a terminal on another connection is acknowledged throughout.
func TestServerFloodingTerminalIsRefusedThenClosed(t *testing.T) {
	const burst = 20
	ts := limitedServer(t, ratelimit.Config{ConnFrames: ratelimit.Limit{Rate: 1, Burst: burst}})
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.6, Lon: 111.9, Time: utc("2026-05-01T09:00:00Z")})
	good := dial(t, ts.addr, "12345678902", false)
	var goodSerial uint16
	ack := func() {
		t.Helper()
		s := good.serial
		good.write(good.frame(MsgLocation, loc))
		good.expect(good.platform(MsgPlatformResponse, goodSerial, general(s, MsgLocation, ResultOK)))
		goodSerial++
	}
	ack()

	flood := dial(t, ts.addr, "12345678901", false)
	for i := range burst {
		flood.write(flood.frame(MsgLocation, loc))
		flood.expect(flood.platform(MsgPlatformResponse, uint16(i), general(uint16(i), MsgLocation, ResultOK)))
	}
	ack()
	// The next burst's worth is refused unanswered, the frame after it closes the connection;
	// whatever else the terminal sends is never read.
	for range 3 * burst {
		if _, err := flood.c.Write(flood.frame(MsgLocation, loc)); err != nil {
			break // closed already
		}
	}
	if n := flood.repliesUntilClosed(); n != 0 {
		t.Errorf("%d frames over the limit acknowledged", n)
	}
	for range burst - 3 {
		ack()
	}
	if got := ts.rejected(ratelimit.ReasonRateLimited); got != burst+1 {
		t.Errorf("rate_limited rejections: %v, want %d", got, burst+1)
	}
	fixes := 0
	for _, b := range ts.sink.take() {
		fixes += len(b)
	}
	if fixes != burst+burst-1 {
		t.Errorf("%d fixes stored, want %d", fixes, burst+burst-1)
	}
}

// blindAreaBatch sends a 0x0704 of n fixes as sub-packages of at most 900 bytes, as terminals
// must (a frame's body holds 1023 bytes at most), and returns the serial of the last.
func (tm *terminal) blindAreaBatch(n int) uint16 {
	tm.t.Helper()
	items := make([][]byte, n)
	for i := range items {
		items[i] = AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.6, Lon: 111.9,
			Time: utc("2026-05-01T09:00:00Z").Add(time.Duration(i) * 30 * time.Second)})
	}
	body := AppendBatch(nil, BatchBlindArea, items...)
	var parts [][]byte
	for len(body) > 900 {
		parts, body = append(parts, body[:900]), body[900:]
	}
	parts = append(parts, body)
	for i, part := range parts {
		h := Header{MsgID: MsgBatch, Phone: tm.phone, Serial: tm.serial, Fragmented: true, Total: uint16(len(parts)), Index: uint16(i + 1)}
		tm.serial++
		b, err := AppendFrame(nil, &h, part)
		if err != nil {
			tm.t.Fatal(err)
		}
		tm.write(b)
	}
	return tm.serial - 1
}

// TestServerBlindAreaBackfillAdmitted: a full 0x0704 backfill of 255 fixes passes the device
// limit whole; a second one at once, even from another connection of the device, is not
// acknowledged, and a third closes that connection.
func TestServerBlindAreaBackfillAdmitted(t *testing.T) {
	ts := limitedServer(t, ratelimit.Config{
		ConnFrames:  ratelimit.Limit{Rate: 1, Burst: 100},
		DeviceFixes: ratelimit.Limit{Rate: 1, Burst: 300},
	})
	a := dial(t, ts.addr, "12345678901", false)
	last := a.blindAreaBatch(255)
	for i := range last { // each sub-package is acknowledged as received
		a.expect(a.platform(MsgPlatformResponse, i, general(i, MsgBatch, ResultOK)))
	}
	a.expect(a.platform(MsgPlatformResponse, last, general(last, MsgBatch, ResultOK)))
	if b := ts.sink.take(); len(b) != 1 || len(b[0]) != 255 {
		t.Fatalf("backfill stored as %d submits", len(b))
	}

	b := dial(t, ts.addr, "12345678901", false)
	last = b.blindAreaBatch(255)
	for i := range last {
		b.expect(b.platform(MsgPlatformResponse, i, general(i, MsgBatch, ResultOK)))
	}
	// The heartbeat's answer comes next: the batch itself was not acknowledged.
	hb := b.serial
	b.write(b.frame(MsgHeartbeat, nil))
	b.expect(b.platform(MsgPlatformResponse, last, general(hb, MsgHeartbeat, ResultOK)))
	b.blindAreaBatch(255)
	if n := b.repliesUntilClosed(); n != int(last) {
		t.Errorf("%d replies before the abusive connection was closed, want the %d sub-packages'", n, last)
	}
	if got := ts.sink.take(); len(got) != 0 {
		t.Errorf("%d batches over the device's limit stored", len(got))
	}
	if got := ts.rejected(ratelimit.ReasonRateLimited); got != 2 {
		t.Errorf("rate_limited rejections: %v, want 2", got)
	}
}

// TestConnLocationsWithLimitsDoNotAllocate is BenchmarkConnLocations' path with both limits on.
func TestConnLocationsWithLimitsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under the race detector")
	}
	l, err := ratelimit.New(ratelimit.Config{ConnFrames: ratelimit.Limit{Rate: 1e9, Burst: 1 << 30},
		DeviceFixes: ratelimit.Limit{Rate: 1e9, Burst: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{Limits: l, Sink: discardSink{}, Logger: slog.New(slog.DiscardHandler),
		Admission: &tracker.Admission{Devices: devices{"12345678901": {ID: "12345678901", VehicleID: "car-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	h := Header{MsgID: MsgLocation, Phone: mustPhone("12345678901", false)}
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T09:00:00Z")})
	frame, err := AppendFrame(nil, &h, loc)
	if err != nil {
		t.Fatal(err)
	}
	nc := &addrConn{chunkConn: chunkConn{chunks: [][]byte{frame}}}
	c := newConn(srv, nc)
	c.ctx = context.Background()
	c.sc = newPooledScanner(c, srv.cfg.MaxFrameBytes, &srv.readBufs)
	defer c.sc.release()
	next := func() {
		raw, err := c.sc.Next()
		if err != nil {
			t.Fatal(err)
		}
		c.handle(c.ctx, raw)
	}
	for range 100 { // admission, pools and caches warm
		next()
	}
	if c.device == nil {
		t.Fatal("the device is not limited")
	}
	if n := testing.AllocsPerRun(1000, next); n != 0 {
		t.Errorf("%v allocations per location frame with limits", n)
	}
}

// addrConn is a chunkConn with an address, as the limits name the connection.
type addrConn struct{ chunkConn }

var testAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}

func (*addrConn) RemoteAddr() net.Addr { return testAddr }
