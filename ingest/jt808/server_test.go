package jt808

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/borderwatch/borderwatch/tracker"
)

// devices is an in-memory registry.
type devices map[string]tracker.Device

func (d devices) Device(_ context.Context, id string) (tracker.Device, error) {
	if dev, ok := d[id]; ok {
		return dev, nil
	}
	return tracker.Device{}, tracker.ErrNotFound
}

// recordingSink keeps what it is given; fail makes the next Submits fail that way.
type recordingSink struct {
	mu      sync.Mutex
	batches [][]tracker.Fix
	fail    error
	block   chan struct{} // when set, Submit waits for it to close
	entered chan struct{}
}

func (s *recordingSink) Submit(ctx context.Context, fixes []tracker.Fix) error {
	s.mu.Lock()
	block, entered, fail := s.block, s.entered, s.fail
	s.mu.Unlock()
	if block != nil {
		entered <- struct{}{}
		<-block
	}
	if fail != nil {
		if _, ok := fail.(*tracker.RefusedError); !ok {
			return fail
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, slices.Clone(fixes)) // the gateway reuses the slice after Submit
	return fail
}

func (s *recordingSink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *recordingSink) take() [][]tracker.Fix {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.batches
	s.batches = nil
	return b
}

type testServer struct {
	srv  *Server
	addr string
	sink *recordingSink
	reg  *prometheus.Registry
	stop context.CancelFunc
	done chan error
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	sink := &recordingSink{}
	reg := prometheus.NewRegistry()
	cfg.Sink = sink
	cfg.Registerer = reg
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.Admission == nil {
		cfg.Admission = &tracker.Admission{Devices: devices{
			"12345678901": {ID: "12345678901", Protocol: tracker.ProtocolJT808, VehicleID: "car-1"},
			"13912344329": {ID: "13912344329", Protocol: tracker.ProtocolJT808, VehicleID: "truck-1", AuthCode: "c0de"},
			"13511221122": {ID: "13511221122", Protocol: tracker.ProtocolGT06},
		}}
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, addr: ln.Addr().String(), sink: sink, reg: reg, stop: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// terminal is a test client speaking the codec.
type terminal struct {
	t      *testing.T
	c      net.Conn
	sc     *Scanner
	phone  Phone
	v2019  bool
	serial uint16
}

func dial(t *testing.T, addr, phone string, v2019 bool) *terminal {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A failsafe against a hung test, not a timing assertion.
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &terminal{t: t, c: c, sc: NewScanner(c, 4096), phone: mustPhone(phone, v2019), v2019: v2019}
}

// frame encodes a message from this terminal with the next serial.
func (tm *terminal) frame(id uint16, body []byte) []byte {
	tm.t.Helper()
	h := Header{MsgID: id, V2019: tm.v2019, Phone: tm.phone, Serial: tm.serial}
	if tm.v2019 {
		h.ProtoVersion = 1
	}
	tm.serial++
	b, err := AppendFrame(nil, &h, body)
	if err != nil {
		tm.t.Fatal(err)
	}
	return b
}

func (tm *terminal) write(b []byte) {
	tm.t.Helper()
	if _, err := tm.c.Write(b); err != nil {
		tm.t.Fatal(err)
	}
}

// reply reads the next frame from the server and returns it in wire form.
func (tm *terminal) reply() []byte {
	tm.t.Helper()
	fr, err := tm.sc.Next()
	if err != nil {
		tm.t.Fatalf("reading reply: %v", err)
	}
	return append([]byte{0x7e}, append(append([]byte{}, fr...), 0x7e)...)
}

// expect reads the next reply and compares it byte for byte.
func (tm *terminal) expect(want []byte) {
	tm.t.Helper()
	if got := tm.reply(); string(got) != string(want) {
		tm.t.Fatalf("reply\n got %X\nwant %X", got, want)
	}
}

// platform encodes what the server should send: serial is the server's own counter.
func (tm *terminal) platform(id, serial uint16, body []byte) []byte {
	tm.t.Helper()
	h := Header{MsgID: id, V2019: tm.v2019, Phone: tm.phone, Serial: serial}
	if tm.v2019 {
		h.ProtoVersion = 1
	}
	b, err := AppendFrame(nil, &h, body)
	if err != nil {
		tm.t.Fatal(err)
	}
	return b
}

func general(replySerial, replyID uint16, result byte) []byte {
	return AppendGeneralResponse(nil, GeneralResponse{ReplySerial: replySerial, ReplyID: replyID, Result: result})
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func (ts *testServer) rejected(reason string) float64 {
	return value(ts.srv.m.rejected.WithLabelValues(reason))
}

func TestServerLocation2013(t *testing.T) {
	ts := startServer(t, Config{})
	tm := dial(t, ts.addr, "012345678901", false)
	// Traccar's frame from terminal 012345678901, serial 0x0013, under-voltage alarm.
	tm.write(unhex(t, "7E020000480123456789010013000000800000000301597BC506CBFF6600EB00000155210726203531010400000000EB24000C00B28986047701207027150200060089FFFFEFFF0004002D0E10000600C5FFFFFFEF697E"))
	// 0x8001, 2013 header, phone 012345678901, platform serial 0; body: serial 0013, id 0200, result 0.
	tm.expect(unhex(t, "7E 8001 0005 012345678901 0000 0013 0200 00 1D 7E"))
	batches := ts.sink.take()
	if len(batches) != 1 || len(batches[0]) != 1 {
		t.Fatalf("submitted %v", batches)
	}
	f := batches[0][0]
	if f.Protocol != "jt808" || f.DeviceID != "12345678901" || f.VehicleID != "car-1" ||
		!f.Time.Equal(utc("2021-07-26T12:35:31Z")) || f.Lat != 22.641605 || f.Lon != 114.032486 ||
		f.AltitudeM != 235 || f.Heading != 341 || !f.Valid || f.Late || f.ReceivedAt.IsZero() {
		t.Errorf("fix %+v", f)
	}
	if !f.HasFlag("under_voltage") || !f.HasFlag("acc_on") || len(f.Flags) != 3 || f.Attrs["mileage_km"] != 0.0 {
		t.Errorf("flags %v attrs %v", f.Flags, f.Attrs)
	}

	// Split over writes, then three frames coalesced in one write.
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T10:00:00Z")})
	fr := tm.frame(MsgLocation, loc)
	tm.write(fr[:7])
	tm.write(fr[7:])
	tm.expect(tm.platform(MsgPlatformResponse, 1, general(0, MsgLocation, ResultOK)))
	three := append(append(tm.frame(MsgHeartbeat, nil), tm.frame(MsgLocation, loc)...), tm.frame(MsgTerminalResponse, general(5, MsgPlatformResponse, 0))...)
	tm.write(three)
	tm.expect(tm.platform(MsgPlatformResponse, 2, general(1, MsgHeartbeat, ResultOK)))
	tm.expect(tm.platform(MsgPlatformResponse, 3, general(2, MsgLocation, ResultOK)))
	tm.expect(tm.platform(MsgPlatformResponse, 4, general(3, MsgTerminalResponse, ResultOK)))
	if n := len(ts.sink.take()); n != 2 {
		t.Errorf("%d submits, want 2", n)
	}

	// A sink failure: no acknowledgement; the heartbeat that follows is answered first.
	ts.sink.setFail(errors.New("disk full"))
	tm.write(tm.frame(MsgLocation, loc))
	tm.write(tm.frame(MsgHeartbeat, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 5, general(5, MsgHeartbeat, ResultOK)))

	// Refused for good: acknowledged, since resending cannot help.
	ts.sink.setFail(&tracker.RefusedError{Refused: []tracker.Refusal{{Index: 0, Reason: tracker.ReasonAncientTime}}})
	tm.write(tm.frame(MsgLocation, loc))
	tm.expect(tm.platform(MsgPlatformResponse, 6, general(6, MsgLocation, ResultOK)))
	ts.sink.setFail(nil)

	// Every write of replies is timed from the read that brought its frames.
	var m dto.Metric
	if err := ts.srv.m.ackSecs.Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.Histogram.GetSampleCount(); n < 5 {
		t.Errorf("bw_ack_seconds counted %d writes of replies, want at least 5", n)
	}

	// Bad checksum: message error; a malformed body too; the connection goes on.
	bad := tm.frame(MsgLocation, loc)
	bad[len(bad)-2] ^= 0x01
	tm.write(bad)
	tm.expect(tm.platform(MsgPlatformResponse, 7, general(7, MsgLocation, ResultMessageError)))
	tm.write(tm.frame(MsgLocation, loc[:20]))
	tm.expect(tm.platform(MsgPlatformResponse, 8, general(8, MsgLocation, ResultMessageError)))
	// Unsupported id.
	tm.write(tm.frame(0x0900, []byte{0xf1, 1, 2}))
	tm.expect(tm.platform(MsgPlatformResponse, 9, general(9, 0x0900, ResultUnsupported)))
	// Too large: dropped silently (no header read); the connection goes on.
	tm.write(append([]byte{0x7e}, make([]byte, 5000)...))
	tm.write([]byte{0x7e})
	tm.write(tm.frame(MsgHeartbeat, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 10, general(10, MsgHeartbeat, ResultOK)))

	// Logout: answered, then closed.
	tm.write(tm.frame(MsgLogout, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 11, general(11, MsgLogout, ResultOK)))
	if _, err := tm.sc.Next(); err != io.EOF {
		t.Errorf("after logout: %v, want EOF", err)
	}
	if n := len(ts.sink.take()); n != 1 {
		t.Errorf("%d submits after the failure, want 1 (the refused one)", n)
	}
	for reason, want := range map[string]float64{"checksum": 1, "malformed": 1, "unsupported": 1, "too_large": 1} {
		if got := ts.rejected(reason); got != want {
			t.Errorf("rejected %s = %v, want %v", reason, got, want)
		}
	}
}

// TestServerFlagsAndAttrsPerFix: fixes of one read get their own flags and attributes, also
// where the gateway hands the previous fix's on because they are equal; flags have no spare
// capacity, so the pipeline appending one cannot change another fix's.
func TestServerFlagsAndAttrsPerFix(t *testing.T) {
	ts := startServer(t, Config{})
	tm := dial(t, ts.addr, "12345678901", false)
	at := utc("2026-05-01T10:00:00Z")
	mileage := func(tenths uint32) []byte { return AppendItem(nil, 0x01, binary.BigEndian.AppendUint32(nil, tenths)) }
	locs := []Location{
		{Status: StatusACC | StatusPositioned, Lat: 43.65, Lon: 111.97, Time: at, Items: mileage(100)},
		{Status: StatusACC | StatusPositioned, Lat: 43.65, Lon: 111.98, Time: at.Add(time.Second), Items: mileage(100)},
		{Alarm: AlarmSOS, Status: StatusPositioned | StatusGPS, Lat: 43.65, Lon: 111.99, Time: at.Add(2 * time.Second),
			Items: AppendItem(mileage(101), 0x30, []byte{31})},
		{Lat: 43.65, Lon: 112, Time: at.Add(3 * time.Second)},
		{Status: StatusACC | StatusPositioned, Lat: 43.65, Lon: 112.01, Time: at.Add(4 * time.Second), Items: mileage(100)},
	}
	var stream []byte
	for i := range locs {
		stream = append(stream, tm.frame(MsgLocation, AppendLocation(nil, &locs[i]))...)
	}
	tm.write(stream)
	for i := range locs {
		tm.expect(tm.platform(MsgPlatformResponse, uint16(i), general(uint16(i), MsgLocation, ResultOK)))
	}
	var fixes []tracker.Fix
	for _, b := range ts.sink.take() {
		fixes = append(fixes, b...)
	}
	want := []struct {
		flags []string
		attrs map[string]any
	}{
		{[]string{"acc_on", "positioned"}, map[string]any{"mileage_km": 10.0}},
		{[]string{"acc_on", "positioned"}, map[string]any{"mileage_km": 10.0}},
		{[]string{"sos", "positioned", "gps"}, map[string]any{"mileage_km": 10.1, "signal": 31}},
		{[]string{}, nil},
		{[]string{"acc_on", "positioned"}, map[string]any{"mileage_km": 10.0}},
	}
	if len(fixes) != len(want) {
		t.Fatalf("%d fixes, want %d", len(fixes), len(want))
	}
	for i, f := range fixes {
		if !reflect.DeepEqual(f.Flags, want[i].flags) || !reflect.DeepEqual(f.Attrs, want[i].attrs) || cap(f.Flags) != len(f.Flags) ||
			f.Lon != locs[i].Lon {
			t.Errorf("fix %d: flags %q (cap %d) attrs %v lon %v, want %q %v %v", i, f.Flags, cap(f.Flags), f.Attrs, f.Lon,
				want[i].flags, want[i].attrs, locs[i].Lon)
		}
	}
}

func TestServerRegisterAuth2019(t *testing.T) {
	ts := startServer(t, Config{})
	tm := dial(t, ts.addr, "13912344329", true)
	reg, err := AppendRegister(nil, &Register{Version: V2019, Province: 15, City: 2501, Maker: "BW",
		Model: "T808", TerminalID: "T1", PlateColor: 2, Plate: "蒙H12345"})
	if err != nil {
		t.Fatal(err)
	}
	tm.write(tm.frame(MsgRegister, reg))
	// 0x8100, 2019 header (version 1, BCD[10]), platform serial 0; body: serial 0000, result 0, "c0de".
	tm.expect(unhex(t, "7E 8100 4007 01 00000000013912344329 0000 0000 00 63306465 E1 7E"))

	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T10:00:00Z")})
	tm.write(tm.frame(MsgLocation, loc)) // before authenticating
	tm.expect(tm.platform(MsgPlatformResponse, 1, general(1, MsgLocation, ResultFailure)))
	wrong, _ := AppendAuth(nil, &Auth{Code: "nope", IMEI: "860000000000001", SoftwareVersion: "1.0"}, V2019)
	tm.write(tm.frame(MsgAuth, wrong))
	tm.expect(tm.platform(MsgPlatformResponse, 2, general(2, MsgAuth, ResultFailure)))
	tm.write(tm.frame(MsgLocation, loc))
	tm.expect(tm.platform(MsgPlatformResponse, 3, general(3, MsgLocation, ResultFailure)))
	if b := ts.sink.take(); len(b) != 0 {
		t.Fatalf("stored before authentication: %v", b)
	}
	right, _ := AppendAuth(nil, &Auth{Code: "c0de", IMEI: "860000000000001", SoftwareVersion: "1.0"}, V2019)
	tm.write(tm.frame(MsgAuth, right))
	tm.expect(tm.platform(MsgPlatformResponse, 4, general(4, MsgAuth, ResultOK)))
	tm.write(tm.frame(MsgLocation, loc))
	tm.expect(tm.platform(MsgPlatformResponse, 5, general(5, MsgLocation, ResultOK)))

	// Blind-area batch: one Submit, one acknowledgement, late fixes.
	item1 := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.6, Lon: 111.9, Time: utc("2026-05-01T09:00:00Z")})
	item2 := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.61, Lon: 111.91, Time: utc("2026-05-01T09:00:30Z")})
	tm.write(tm.frame(MsgBatch, AppendBatch(nil, BatchBlindArea, item1, item2)))
	tm.expect(tm.platform(MsgPlatformResponse, 6, general(6, MsgBatch, ResultOK)))

	batches := ts.sink.take()
	if len(batches) != 2 || len(batches[0]) != 1 || len(batches[1]) != 2 {
		t.Fatalf("submits %v", batches)
	}
	if f := batches[0][0]; f.DeviceID != "13912344329" || f.VehicleID != "truck-1" || f.Late || f.HasFlag(tracker.FlagBlindArea) {
		t.Errorf("live fix %+v", f)
	}
	for _, f := range batches[1] {
		if !f.Late || !f.HasFlag(tracker.FlagBlindArea) || f.VehicleID != "truck-1" {
			t.Errorf("blind-area fix %+v", f)
		}
	}
	if !batches[1][1].Time.Equal(utc("2026-05-01T09:00:30Z")) {
		t.Errorf("second item time %v", batches[1][1].Time)
	}
	if got := ts.rejected("unauthenticated"); got != 3 {
		t.Errorf("unauthenticated = %v, want 3", got)
	}
}

func TestServerSubPackages(t *testing.T) {
	ts := startServer(t, Config{})
	tm := dial(t, ts.addr, "12345678901", false)
	item := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.6, Lon: 111.9, Time: utc("2026-05-01T09:00:00Z")})
	body := AppendBatch(nil, BatchNormal, item, item, item)
	half := len(body) / 2
	for i, part := range [][]byte{body[:half], body[half:]} {
		h := Header{MsgID: MsgBatch, Phone: tm.phone, Serial: uint16(40 + i), Fragmented: true, Total: 2, Index: uint16(i + 1)}
		b, err := AppendFrame(nil, &h, part)
		if err != nil {
			t.Fatal(err)
		}
		tm.write(b)
	}
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(40, MsgBatch, ResultOK))) // package 1 received
	tm.expect(tm.platform(MsgPlatformResponse, 1, general(41, MsgBatch, ResultOK))) // whole batch stored
	if b := ts.sink.take(); len(b) != 1 || len(b[0]) != 3 {
		t.Fatalf("submits %v", b)
	}
}

func TestServerUnknownDevice(t *testing.T) {
	ts := startServer(t, Config{})
	// Unregistered 2013 terminal.
	tm := dial(t, ts.addr, "19999999999", false)
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T10:00:00Z")})
	tm.write(tm.frame(MsgLocation, loc))
	// 0x8001, phone 019999999999, platform serial 0; body: serial 0000, id 0200, result 1.
	tm.expect(unhex(t, "7E 8001 0005 019999999999 0000 0000 0200 01 1F 7E"))
	reg, _ := AppendRegister(nil, &Register{Maker: "BW", Model: "T808", TerminalID: "T1", PlateColor: 1, Plate: "蒙A00001"})
	tm.write(tm.frame(MsgRegister, reg))
	// 0x8100 result 4 (no such terminal), no auth code.
	tm.expect(tm.platform(MsgRegisterResponse, 1, []byte{0, 1, RegisterNoSuchTerminal}))
	tm.write(tm.frame(MsgHeartbeat, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 2, general(2, MsgHeartbeat, ResultFailure)))

	// The phone number changes on the same connection: admitted anew.
	tm.phone = mustPhone("012345678901", false)
	tm.write(tm.frame(MsgLocation, loc))
	tm.expect(tm.platform(MsgPlatformResponse, 3, general(3, MsgLocation, ResultOK)))
	if b := ts.sink.take(); len(b) != 1 || b[0][0].DeviceID != "12345678901" {
		t.Fatalf("after the phone changed: %v", b)
	}

	// Registered for another protocol: refused the same way.
	gt := dial(t, ts.addr, "13511221122", false)
	gt.write(gt.frame(MsgLocation, loc))
	gt.expect(gt.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultFailure)))

	if b := ts.sink.take(); len(b) != 0 {
		t.Fatalf("stored fixes of unknown devices: %v", b)
	}
	if got := ts.rejected("unknown_device"); got != 4 {
		t.Errorf("unknown_device = %v, want 4", got)
	}

	// With unknown devices accepted, the same terminal reports as its own vehicle.
	open := startServer(t, Config{Admission: &tracker.Admission{Devices: devices{}, AcceptUnknown: true}})
	tm = dial(t, open.addr, "19999999999", false)
	tm.write(tm.frame(MsgLocation, loc))
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultOK)))
	if b := open.sink.take(); len(b) != 1 || b[0][0].VehicleID != "19999999999" {
		t.Errorf("accepted unknown: %v", b)
	}
}

// Cancelling the context stops the server; a Submit in flight finishes and is acknowledged.
func TestServerGracefulStop(t *testing.T) {
	ts := startServer(t, Config{})
	ts.sink.block = make(chan struct{})
	ts.sink.entered = make(chan struct{}, 1)
	tm := dial(t, ts.addr, "12345678901", false)
	idle := dial(t, ts.addr, "12345678901", false)
	idle.write(idle.frame(MsgHeartbeat, nil))
	idle.expect(idle.platform(MsgPlatformResponse, 0, general(0, MsgHeartbeat, ResultOK)))

	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T10:00:00Z")})
	tm.write(tm.frame(MsgLocation, loc))
	<-ts.sink.entered
	ts.stop()
	close(ts.sink.block)
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultOK)))
	if _, err := tm.sc.Next(); err != io.EOF {
		t.Errorf("busy connection after stop: %v, want EOF", err)
	}
	if _, err := idle.sc.Next(); err != io.EOF {
		t.Errorf("idle connection after stop: %v, want EOF", err)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	ts.done <- nil // for the cleanup
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("still accepting after stop")
	}
}

func TestServerMaxConns(t *testing.T) {
	ts := startServer(t, Config{MaxConns: 1})
	first := dial(t, ts.addr, "12345678901", false)
	first.write(first.frame(MsgHeartbeat, nil))
	first.expect(first.platform(MsgPlatformResponse, 0, general(0, MsgHeartbeat, ResultOK)))
	second := dial(t, ts.addr, "12345678901", false)
	if _, err := second.sc.Next(); err != io.EOF {
		t.Errorf("second connection: %v, want EOF", err)
	}
	// The connections' series are the gateway server's.
	if err := testutil.GatherAndCompare(ts.reg, strings.NewReader(`
# HELP bw_connections Open device connections.
# TYPE bw_connections gauge
bw_connections{protocol="jt808"} 1
# HELP bw_connections_refused_total Device connections refused, by reason.
# TYPE bw_connections_refused_total counter
bw_connections_refused_total{protocol="jt808",reason="max_conns"} 1
`), "bw_connections", "bw_connections_refused_total"); err != nil {
		t.Error(err)
	}
}
