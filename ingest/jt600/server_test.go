package jt600

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
	dto "github.com/prometheus/client_model/go"

	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

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

func (s *recordingSink) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no Submit")
	}
}

func (s *recordingSink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *recordingSink) all() []tracker.Fix {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tracker.Fix(nil), s.fixes...)
}

var received = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func start(t *testing.T, limits *ratelimit.Limiter) (*Server, *recordingSink, string) {
	t.Helper()
	sink := &recordingSink{got: make(chan struct{}, 100)}
	srv, err := NewServer(Config{
		Sink: sink,
		Admission: &tracker.Admission{Devices: devices{
			"2050018634": {ID: "2050018634", Protocol: tracker.ProtocolJT600, VehicleID: "truck-7"},
			"8041300978": {ID: "8041300978", Protocol: tracker.ProtocolJT600, VehicleID: "truck-8"},
			"3460311327": {ID: "3460311327", Protocol: tracker.ProtocolJT600, VehicleID: "car-1"},
			"7012345678": {ID: "7012345678", Protocol: tracker.ProtocolGT06},
		}},
		Registerer: prometheus.NewRegistry(),
		Logger:     slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return received },
		Limits:     limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv, sink, ln.Addr().String()
}

// device plays a JT701 over TCP.
type device struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
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

func (d *device) send(frame string) {
	d.t.Helper()
	if _, err := d.c.Write(frameBytes(d.t, frame)); err != nil {
		d.t.Fatal(err)
	}
}

// expectReply reads the next answer, a text frame.
func (d *device) expectReply(want string) {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := d.r.ReadString(')')
	if err != nil || got != want {
		d.t.Fatalf("reply %q, %v; want %q", got, err, want)
	}
}

// expectClosed reads until the server closes the connection, failing on any reply.
func (d *device) expectClosed() {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(d.r)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	if err != nil || len(b) != 0 {
		d.t.Fatalf("expected close, got %q, %v", b, err)
	}
}

const (
	p45Card   = "(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)"
	jt701d    = "2480413009781914003406102107544354193631006213423b00000000006c070000000020e064f91ea0671d00020f0f0f0f0f0f0f0f0f0f07f100ea0f6e"
	heartbeat = "(3460311327,@JT)"
	u01       = "(3460311327,U01,220916,135251,T,9.552607,N,13.658292,W,0.31,0,9,0%,00001001000000,11012,10,27,0,0,33)"
)

func TestServerSession(t *testing.T) {
	srv, sink, addr := start(t, nil)
	d := dial(t, addr)

	// A lock event: stored, then answered with its index.
	d.send(p45Card)
	d.expectReply("(P69,0,0)")
	// Junk, a frame cut short, a heartbeat and a report of another device on the same
	// connection: the connection goes on.
	d.send("(2050018634,P45,051124,204046,99.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)")
	d.c.Write([]byte("\x00\x01garbage$"))
	d.send(heartbeat)
	d.send(u01)
	d.expectReply("(S39)")
	// A JT701D report asking for confirmation.
	d.send(jt701d)
	d.expectReply("(P69,0,110)")

	fixes := sink.all()
	if len(fixes) != 3 {
		t.Fatalf("%d fixes, want 3", len(fixes))
	}
	f := fixes[0]
	if f.DeviceID != "2050018634" || f.VehicleID != "truck-7" || f.Protocol != tracker.ProtocolJT600 || !f.Valid ||
		f.Time != time.Date(2024, 11, 5, 20, 40, 46, 0, time.UTC) || f.Lat != 9.861502 || f.Lon != -83.950336 ||
		f.Attrs[tracker.AttrSealEvent] != tracker.SealEventUnlocked || f.Attrs[tracker.AttrUnlockMethod] != tracker.UnlockCard ||
		f.Attrs[tracker.AttrUnlockCard] != "0012260888" || f.Attrs["report"] != KindP45 || !f.ReceivedAt.Equal(received) {
		t.Errorf("P45 fix %+v", f)
	}
	if f := fixes[1]; f.VehicleID != "car-1" || f.Attrs[tracker.AttrSealState] != nil {
		t.Errorf("U01 fix %+v", f)
	}
	if f := fixes[2]; f.VehicleID != "truck-8" || f.Attrs[tracker.AttrSealState] != tracker.SealLocked || f.Attrs["mcc"] != 234 {
		t.Errorf("JT701D fix %+v", f)
	}
	if got := value(srv.m.rejected.WithLabelValues(ReasonMalformed)); got != 1 {
		t.Errorf("malformed: %v, want 1", got)
	}
	if got := value(srv.m.frames.WithLabelValues(KindOther)); got != 1 {
		t.Errorf("other frames: %v, want 1", got)
	}
}

// A store failure gets no answer, so the device sends the report again; the answer follows
// the stored resend. A report refused for good is answered: resending cannot help.
func TestServerAnswersOnlyStored(t *testing.T) {
	_, sink, addr := start(t, nil)
	d := dial(t, addr)
	sink.setErr(errors.New("disk full"))
	d.send(p45Card)
	sink.wait(t)
	sink.setErr(&tracker.RefusedError{Refused: []tracker.Refusal{{Index: 0, Reason: tracker.ReasonAncientTime}}})
	d.send(strings.Replace(p45Card, ",0)", ",1)", 1))
	d.expectReply("(P69,0,1)")
	sink.wait(t)
	sink.setErr(nil)
	d.send(p45Card)
	d.expectReply("(P69,0,0)")
	if n := len(sink.all()); n != 2 {
		t.Errorf("%d fixes kept, want 2", n)
	}
}

func TestServerRefusesUnknownDevices(t *testing.T) {
	srv, sink, addr := start(t, nil)
	for _, frame := range []string{
		"(9999999999,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)", // nobody's
		"(7012345678,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)", // a GT06's id
	} {
		d := dial(t, addr)
		d.send(frame)
		d.expectClosed()
	}
	// A known device's connection that turns into an unknown one is closed too.
	d := dial(t, addr)
	d.send(p45Card)
	d.expectReply("(P69,0,0)")
	d.send("(9999999999,@JT)")
	d.expectClosed()
	if n := len(sink.all()); n != 1 {
		t.Errorf("%d fixes, want 1", n)
	}
	if got := value(srv.m.rejected.WithLabelValues("unknown_device")); got != 3 {
		t.Errorf("unknown_device: %v, want 3", got)
	}
}

// Oversized frames are dropped without stalling the connection.
func TestServerOversizedFrames(t *testing.T) {
	srv, _, addr := start(t, nil)
	d := dial(t, addr)
	d.c.Write([]byte("(2050018634," + strings.Repeat("A", 3*DefaultMaxSize)))
	d.send("24315011626912ffff")
	d.send(p45Card)
	d.expectReply("(P69,0,0)")
	if got := value(srv.m.rejected.WithLabelValues(ReasonTooLarge)); got < 2 {
		t.Errorf("too_large: %v, want at least 2", got)
	}
}

// Reports over the device's fix limit are stored nowhere and not answered; a burst's worth
// more closes the connection.
func TestServerDeviceOverItsLimit(t *testing.T) {
	const burst = 2
	l, err := ratelimit.New(ratelimit.Config{DeviceFixes: ratelimit.Limit{Rate: 1, Burst: burst},
		Clock: func() time.Duration { return time.Hour }})
	if err != nil {
		t.Fatal(err)
	}
	_, sink, addr := start(t, l)
	d := dial(t, addr)
	for range burst {
		d.send(p45Card)
		d.expectReply("(P69,0,0)")
	}
	d.send(p45Card)
	d.send(p45Card)
	d.send(p45Card)
	d.expectClosed()
	if n := len(sink.all()); n != burst {
		t.Errorf("%d fixes, want %d", n, burst)
	}
}

func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.Counter.GetValue()
}
