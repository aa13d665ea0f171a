package gt06

import (
	"bufio"
	"context"
	"errors"
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
	dto "github.com/prometheus/client_model/go"

	"github.com/borderwatch/borderwatch/tracker"
)

// devices is an in-memory tracker.DeviceLookup.
type devices map[string]tracker.Device

func (d devices) Device(_ context.Context, id string) (tracker.Device, error) {
	if dev, ok := d[id]; ok {
		return dev, nil
	}
	return tracker.Device{}, tracker.ErrNotFound
}

// recordingSink stores what it is given, or fails with err.
type recordingSink struct {
	mu    sync.Mutex
	fixes []tracker.Fix
	err   error
	got   chan struct{}
}

func newSink() *recordingSink { return &recordingSink{got: make(chan struct{}, 100)} }

func (s *recordingSink) Submit(_ context.Context, fixes []tracker.Fix) error {
	s.mu.Lock()
	err := s.err
	if err == nil || errors.As(err, new(*tracker.RefusedError)) {
		s.fixes = append(s.fixes, fixes...)
	}
	s.mu.Unlock()
	s.got <- struct{}{}
	return err
}

func (s *recordingSink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *recordingSink) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no Submit")
	}
}

func (s *recordingSink) all() []tracker.Fix {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tracker.Fix(nil), s.fixes...)
}

type testServer struct {
	addr   string
	sink   *recordingSink
	reg    *prometheus.Registry
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

// startServer serves the test registry; with changes the Config before NewServer.
func startServer(t *testing.T, acceptUnknown bool, with ...func(*Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), sink: newSink(), reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	cfg := Config{
		Sink: ts.sink,
		Admission: &tracker.Admission{
			Devices: devices{
				"860470067873061": {ID: "860470067873061", Protocol: tracker.ProtocolGT06, VehicleID: "truck-7"},
				"352887071911998": {ID: "352887071911998", Protocol: tracker.ProtocolJT808},
			},
			AcceptUnknown: acceptUnknown,
		},
		Registerer: ts.reg,
		Logger:     slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC) },
	}
	for _, f := range with {
		f(&cfg)
	}
	ts.srv, err = NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, ts.cancel = context.WithCancel(context.Background())
	go func() { ts.done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	ts.cancel()
	<-ts.done
	ts.done <- nil // later calls return at once
}

// tracker plays a GT06 device over TCP.
type device struct {
	t  *testing.T
	c  net.Conn
	r  *bufio.Reader
	sn uint16
}

func dial(t *testing.T, addr string) *device {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &device{t: t, c: c, r: bufio.NewReader(c)}
}

func (d *device) send(p Packet) {
	d.t.Helper()
	if _, err := d.c.Write(AppendFrame(nil, p)); err != nil {
		d.t.Fatal(err)
	}
}

// expectAck reads the next frame and checks that it acknowledges protocol and serial.
func (d *device) expectAck(protocol byte, serial uint16) {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := NewReader(d.r, 0).Next()
	if err != nil {
		d.t.Fatalf("waiting for ack of 0x%02X: %v", protocol, err)
	}
	if p.Protocol != protocol || p.Serial != serial || len(p.Content) != 0 {
		d.t.Fatalf("ack %+v, want protocol 0x%02X serial %04X", p, protocol, serial)
	}
}

// expectClosed reads until the server closes the connection, failing on any frame.
func (d *device) expectClosed() {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(d.r)
	if errors.Is(err, syscall.ECONNRESET) { // closed with our login unread
		err = nil
	}
	if err != nil || len(b) != 0 {
		d.t.Fatalf("expected close, got % X, %v", b, err)
	}
}

func (d *device) login(imei string) uint16 {
	d.t.Helper()
	d.sn++
	p, err := Login{IMEI: imei, TypeID: 0x3612, Zone: time.FixedZone("", 8*3600), Offset: 8 * time.Hour}.Packet(d.sn)
	if err != nil {
		d.t.Fatal(err)
	}
	d.send(p)
	return d.sn
}

func (d *device) location(proto byte, l Location) uint16 {
	d.t.Helper()
	d.sn++
	p, err := l.Packet(proto, d.sn, time.FixedZone("", 8*3600))
	if err != nil {
		d.t.Fatal(err)
	}
	d.send(p)
	return d.sn
}

var fixTime = time.Date(2026, 3, 1, 2, 59, 30, 0, time.UTC)

func TestServerSession(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)

	// GPS before login is dropped.
	d.location(ProtoGPSLBS, Location{Time: fixTime, Lat: 43.65, Lon: 111.98, Positioned: true})

	d.expectAck(ProtoLogin, d.login("860470067873061"))

	// A plain GPS packet: stored, not acknowledged. South and west survive.
	d.location(ProtoGPSLBS, Location{
		Time: fixTime, Satellites: 9, Lat: -43.65, Lon: -111.98, SpeedKmh: 57, Course: 271,
		Positioned: true, ACCValid: true, ACC: true, LBS: LBS{MCC: 460, MNC: 0, LAC: 10365, CellID: 8049},
	})
	ts.sink.wait(t)

	// An alarm: stored, then acknowledged.
	sn := d.location(ProtoAlarm, Location{
		Time: fixTime.Add(10 * time.Second), Lat: 43.65, Lon: 111.98, Positioned: true,
		Status: Status{TerminalInfo: 0x04, Voltage: 4, GSMSignal: 3, Alarm: AlarmSOS, Language: 2},
	})
	ts.sink.wait(t)
	d.expectAck(ProtoAlarm, sn)

	// A heartbeat is acknowledged.
	d.sn++
	d.send(Status{TerminalInfo: 0x46, Voltage: 4, GSMSignal: 4, Language: 2}.Packet(d.sn))
	d.expectAck(ProtoStatus, d.sn)

	// A bad CRC and an unsupported packet are skipped; the connection goes on. (The unknown
	// packet is extended: those get no generic acknowledgement.)
	bad := AppendFrame(nil, Status{}.Packet(99))
	bad[len(bad)-3] ^= 0xFF
	d.c.Write(bad)
	d.send(Packet{Extended: true, Protocol: 0x7F, Serial: 100})
	d.sn++
	d.send(Status{Language: 2}.Packet(d.sn))
	d.expectAck(ProtoStatus, d.sn)

	fixes := ts.sink.all()
	if len(fixes) != 2 {
		t.Fatalf("%d fixes stored, want 2", len(fixes))
	}
	f := fixes[0]
	if f.DeviceID != "860470067873061" || f.VehicleID != "truck-7" || f.Protocol != tracker.ProtocolGT06 ||
		!f.Time.Equal(fixTime) || f.Lat > -43.6499 || f.Lon > -111.9799 || f.SpeedKmh != 57 || f.Heading != 271 ||
		!f.Valid || !f.HasFlag("acc_on") || f.Attrs["cell_id"] != 8049 || f.Attrs["mcc"] != 460 ||
		!f.ReceivedAt.Equal(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("GPS fix %+v", f)
	}
	if f := fixes[1]; !f.HasFlag("sos") || !f.HasFlag("charging") || f.HasFlag("acc_on") {
		t.Errorf("alarm fix flags %v", f.Flags)
	}

	for _, c := range []struct {
		reason string
		want   float64
	}{{"not_logged_in", 1}, {"crc", 1}, {"unsupported", 1}} {
		if got := value(ts.srv.m.rejected.WithLabelValues(c.reason)); got != c.want {
			t.Errorf("rejected{%s} = %v, want %v", c.reason, got, c.want)
		}
	}
	if got := value(ts.srv.m.frames.WithLabelValues("0x12")); got != 2 {
		t.Errorf("frames{gps} = %v, want 2", got)
	}
	// The connections' series are the gateway server's.
	if err := testutil.GatherAndCompare(ts.reg, strings.NewReader(`
# HELP bw_connections Open device connections.
# TYPE bw_connections gauge
bw_connections{protocol="gt06"} 1
`), "bw_connections"); err != nil {
		t.Error(err)
	}
	mfs, err := ts.reg.Gather()
	if err != nil || len(mfs) != 5 { // with bw_gt06_unknown_messages_total
		t.Errorf("gathered %d metric families: %v", len(mfs), err)
	}
}

func TestServerUnknownDevice(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.login("123456789012345")
	d.expectClosed()

	// Registered for another protocol: refused the same way.
	d = dial(t, ts.addr)
	d.login("352887071911998")
	d.expectClosed()
	if got := value(ts.srv.m.rejected.WithLabelValues("unknown_device")); got != 2 {
		t.Errorf("rejected{unknown_device} = %v, want 2", got)
	}
}

func TestServerAcceptUnknown(t *testing.T) {
	ts := startServer(t, true)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("123456789012345"))
	d.location(ProtoGPS, Location{Time: fixTime, Lat: 41.5, Lon: 109.1, Positioned: true})
	ts.sink.wait(t)
	if f := ts.sink.all()[0]; f.VehicleID != "123456789012345" || f.DeviceID != "123456789012345" {
		t.Errorf("fix of unknown device: vehicle %q device %q", f.VehicleID, f.DeviceID)
	}
}

func TestServerAckOnlyWhenStored(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))

	ts.sink.setErr(errors.New("disk full"))
	d.location(ProtoAlarm2, Location{Time: fixTime, Lat: 43.6, Lon: 111.9, Status: Status{Alarm: AlarmPowerCut}})
	ts.sink.wait(t)

	// Refused for good: acknowledged (resending cannot help).
	ts.sink.setErr(&tracker.RefusedError{Refused: []tracker.Refusal{{Index: 0, Reason: tracker.ReasonAncientTime}}})
	sn := d.location(ProtoAlarm2, Location{Time: fixTime, Lat: 43.6, Lon: 111.9, Status: Status{Alarm: AlarmPowerCut}})
	ts.sink.wait(t)
	// The first ack to arrive must be this one: the failed alarm got none.
	d.expectAck(ProtoAlarm2, sn)
}

func TestServerGracefulStop(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))
	ts.stop()
	d.expectClosed()
	if err := testutil.GatherAndCompare(ts.reg, strings.NewReader(`
# HELP bw_connections Open device connections.
# TYPE bw_connections gauge
bw_connections{protocol="gt06"} 0
`), "bw_connections"); err != nil {
		t.Errorf("after stop: %v", err)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("listener still accepting after stop")
	}
}

func TestServerMaxConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv, err := NewServer(Config{
		Sink:       newSink(),
		Admission:  &tracker.Admission{Devices: devices{}, AcceptUnknown: true},
		MaxConns:   1,
		Logger:     slog.New(slog.DiscardHandler),
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	first := dial(t, ln.Addr().String())
	first.expectAck(ProtoLogin, first.login("123456789012345"))
	second := dial(t, ln.Addr().String())
	second.login("123456789012346")
	second.expectClosed()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP bw_connections_refused_total Device connections refused, by reason.
# TYPE bw_connections_refused_total counter
bw_connections_refused_total{protocol="gt06",reason="max_conns"} 1
`), "bw_connections_refused_total"); err != nil {
		t.Error(err)
	}
}

func TestNewServerNeedsSinkAndAdmission(t *testing.T) {
	if _, err := NewServer(Config{}); err == nil {
		t.Error("NewServer without Sink and Admission succeeded")
	}
}

func TestTwoServersShareRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{Sink: newSink(), Admission: &tracker.Admission{Devices: devices{}}, Registerer: reg}
	a, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.m.frames != b.m.frames {
		t.Error("second server does not share the registered counters")
	}
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
