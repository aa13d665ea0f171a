package jt808

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// A 2013 location with mileage and a vendor item, as terminals commonly send (Traccar's test frame).
const benchFrame = "7E020000480123456789010013000000800000000301597BC506CBFF6600EB00000155210726203531010400000000EB24000C00B28986047701207027150200060089FFFFEFFF0004002D0E10000600C5FFFFFFEF697E"

// BenchmarkDecodeLocation: frame (unescape, checksum, header) and 0x0200 body, as the gateway
// does per frame before building the fix.
func BenchmarkDecodeLocation(b *testing.B) {
	wire := unhex(b, benchFrame)
	buf := make([]byte, len(wire))
	var l Location
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, wire)
		f, _, err := DecodeFrame(buf[1 : len(buf)-1])
		if err != nil {
			b.Fatal(err)
		}
		if err := DecodeLocation(f.Body, &l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocationFix adds what the gateway does after decoding: flags and attributes of a fix.
func BenchmarkLocationFix(b *testing.B) {
	wire := unhex(b, benchFrame)
	f, _, err := DecodeFrame(wire[1 : len(wire)-1])
	if err != nil {
		b.Fatal(err)
	}
	c := &conn{dev: tracker.Device{ID: "12345678901", VehicleID: "car-1"}}
	var l Location
	c.now = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeLocation(f.Body, &l); err != nil {
			b.Fatal(err)
		}
		fix := c.fix(&l, false)
		if len(fix.Flags) != 3 {
			b.Fatal(fix.Flags)
		}
	}
}

// BenchmarkScanner splits a stream of coalesced frames read in 4 KiB chunks.
func BenchmarkScanner(b *testing.B) {
	stream := bytes.Repeat(unhex(b, benchFrame), 1000)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		sc := NewScanner(bytes.NewReader(stream), 4096)
		n := 0
		for {
			_, err := sc.Next()
			if err == io.EOF {
				break
			}
			n++
		}
		if n != 1000 {
			b.Fatal(n)
		}
	}
}

func BenchmarkEncodeLocationFrame(b *testing.B) {
	h := Header{MsgID: MsgLocation, Phone: mustPhone("12345678901", false)}
	l := Location{Status: StatusPositioned | StatusACC, Lat: 43.65, Lon: 111.97, SpeedKmh: 62.5, Heading: 270,
		Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Items: AppendItem(nil, 0x01, []byte{0, 1, 2, 3})}
	var body, out []byte
	b.ReportAllocs()
	for b.Loop() {
		body = AppendLocation(body[:0], &l)
		var err error
		if out, err = AppendFrame(out[:0], &h, body); err != nil {
			b.Fatal(err)
		}
		h.Serial++
	}
}

// BenchmarkServer measures the gateway end to end over loopback TCP: 100 terminals each send
// b.N/100 location frames pipelined, with a sink that stores nothing. It reports fixes/s.
func BenchmarkServer(b *testing.B) {
	const terminals = 100
	devs := devices{}
	phones := make([]Phone, terminals)
	for i := range phones {
		id := "139" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "000000"
		phones[i] = mustPhone(id, false)
		devs[phones[i].String()] = tracker.Device{ID: phones[i].String(), Protocol: tracker.ProtocolJT808}
	}
	srv, err := NewServer(Config{Sink: discardSink{}, Admission: &tracker.Admission{Devices: devs},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	per := max(b.N/terminals, 1)
	body := AppendLocation(nil, &Location{Status: StatusPositioned | StatusACC, Lat: 43.65, Lon: 111.97,
		SpeedKmh: 62.5, Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Items: AppendItem(nil, 0x01, []byte{0, 1, 2, 3})})
	streams := make([][]byte, terminals)
	for i := range streams {
		h := Header{MsgID: MsgLocation, Phone: phones[i]}
		for j := 0; j < per; j++ {
			streams[i], _ = AppendFrame(streams[i], &h, body)
			h.Serial++
		}
	}
	conns := make([]net.Conn, terminals)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			c.Write(streams[i])
		}()
		go func() {
			defer wg.Done()
			sc := NewScanner(c, 4096)
			for j := 0; j < per; j++ {
				if _, err := sc.Next(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*terminals)/time.Since(start).Seconds(), "fixes/s")
}

// BenchmarkIdleConnections reports the heap and stack memory per connected, idle terminal
// (after one heartbeat each), client side included.
func BenchmarkIdleConnections(b *testing.B) {
	const n = 2000
	srv, err := NewServer(Config{Sink: discardSink{}, Logger: slog.New(slog.DiscardHandler),
		Admission: &tracker.Admission{Devices: devices{"12345678901": {ID: "12345678901"}}}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	hb, _ := AppendFrame(nil, &Header{MsgID: MsgHeartbeat, Phone: mustPhone("12345678901", false)}, nil)
	for b.Loop() {
		before := memInUse()
		conns := make([]net.Conn, n)
		reply := make([]byte, 64)
		for i := range conns {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = c
			c.Write(hb)
			if _, err := c.Read(reply); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(memInUse()-before)/n, "bytes/conn")
		for _, c := range conns {
			c.Close()
		}
	}
}

func memInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// chunkConn is a net.Conn whose reads return the chunks in turn, round and round, and whose
// writes are counted and dropped.
type chunkConn struct {
	net.Conn
	chunks  [][]byte
	next    int
	written int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	n := copy(p, c.chunks[c.next])
	c.next = (c.next + 1) % len(c.chunks)
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error)      { c.written += len(p); return len(p), nil }
func (c *chunkConn) SetReadDeadline(time.Time) error  { return nil }
func (c *chunkConn) SetWriteDeadline(time.Time) error { return nil }

// RemoteAddr is a terminal's: admission and the session claim name it.
func (c *chunkConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}

// BenchmarkConnLocations is the gateway's work per location frame, without the socket and the
// store: scanning, decoding, the fix, the batch handed to the sink, the reply and its share of
// the read's write. Terminals send perRead frames at a time; the frames carry mileage, signal
// and satellites as terminals commonly do, the mileage changing every tenth frame.
func BenchmarkConnLocations(b *testing.B) {
	for _, perRead := range []int{1, 16} {
		b.Run(fmt.Sprintf("frames_per_read=%d", perRead), func(b *testing.B) {
			srv, err := NewServer(Config{Sink: discardSink{}, Logger: slog.New(slog.DiscardHandler),
				Admission: &tracker.Admission{Devices: devices{"12345678901": {ID: "12345678901", VehicleID: "car-1"}}}})
			if err != nil {
				b.Fatal(err)
			}
			h := Header{MsgID: MsgLocation, Phone: mustPhone("12345678901", false)}
			l := Location{Status: StatusPositioned | StatusACC | StatusGPS, Lat: 43.65, Lon: 111.97, SpeedKmh: 30,
				Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
			chunks := make([][]byte, 64)
			var body []byte
			for i := range chunks {
				for range perRead {
					h.Serial++
					l.Time = l.Time.Add(time.Second)
					l.Lon += 0.0001
					mileage := binary.BigEndian.AppendUint32(nil, 120000+uint32(h.Serial/10))
					l.Items = AppendItem(AppendItem(AppendItem(nil, 0x01, mileage), 0x30, []byte{25}), 0x31, []byte{11})
					body = AppendLocation(body[:0], &l)
					chunks[i], _ = AppendFrame(chunks[i], &h, body)
				}
			}
			nc := &chunkConn{chunks: chunks}
			c := newConn(srv, nc)
			c.ctx = context.Background()
			c.sc = newPooledScanner(c, srv.cfg.MaxFrameBytes, &srv.readBufs)
			b.ReportAllocs()
			for b.Loop() {
				raw, err := c.sc.Next()
				if err != nil {
					b.Fatal(err)
				}
				c.handle(c.ctx, raw)
			}
			if nc.written == 0 {
				b.Fatal("no replies written")
			}
		})
	}
}
