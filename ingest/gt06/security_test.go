package gt06

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/tracker"
)

// alerts records what the gateway raises.
type alerts struct {
	mu   sync.Mutex
	list []tracker.Alert
}

func (a *alerts) Emit(_ context.Context, _ []tracker.Event, as []tracker.Alert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, as...)
	return nil
}

// dialFrom connects from the loopback address local (Linux routes all of 127/8 to lo).
func dialFrom(t *testing.T, addr, local string) *device {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &device{t: t, c: c, r: bufio.NewReader(c)}
}

// Hole 3 of issue 16: a second login with a live tracker's IMEI from another address ran beside
// the first and reported as the truck. The first is kept; the second gets no acknowledgement
// and is closed, counted, and raises device_conflict once per device and hour.
func TestIMEITakeover(t *testing.T) {
	al := &alerts{}
	ts := startServer(t, false, func(c *Config) { c.Alerts = al })
	const imei = "860470067873061"

	truck := dialFrom(t, ts.addr, "127.0.0.1")
	truck.expectAck(ProtoLogin, truck.login(imei))

	for range 2 {
		thief := dialFrom(t, ts.addr, "127.0.0.2")
		thief.login(imei)
		thief.expectClosed()
	}
	duplicateSessions(t, ts.reg, "gt06", 2, 0)
	al.mu.Lock()
	as := al.list
	al.mu.Unlock()
	if len(as) != 1 {
		t.Fatalf("%d alerts, want 1 (one per device and hour)", len(as))
	}
	var ev struct {
		DeviceID      string `json:"device_id"`
		Protocol      string
		First, Second struct {
			Remote    string
			Since, At time.Time
		}
	}
	if err := json.Unmarshal(as[0].Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if as[0].Type != tracker.AlertDeviceConflict || as[0].VehicleID != "truck-7" || ev.DeviceID != imei || ev.Protocol != "gt06" ||
		!strings.HasPrefix(ev.First.Remote, "127.0.0.1:") || !strings.HasPrefix(ev.Second.Remote, "127.0.0.2:") ||
		ev.First.Since.IsZero() || ev.Second.At.IsZero() {
		t.Errorf("alert %+v, evidence %s", as[0], as[0].Evidence)
	}

	// The truck's session goes on.
	truck.expectAck(ProtoAlarm, truck.location(ProtoAlarm, Location{Time: fixTime, Lat: 43.65, Lon: 111.98, Positioned: true,
		Status: Status{Alarm: AlarmSOS, Language: 2}}))
	if n := len(ts.sink.all()); n != 1 {
		t.Fatalf("%d fixes stored, want the truck's 1", n)
	}

	// The tracker reconnects from its address while the old connection is half dead: the new
	// one replaces it.
	again := dialFrom(t, ts.addr, "127.0.0.1")
	again.expectAck(ProtoLogin, again.login(imei))
	truck.expectClosed()
	duplicateSessions(t, ts.reg, "gt06", 2, 1)
	again.expectAck(ProtoAlarm, again.location(ProtoAlarm, Location{Time: fixTime.Add(time.Minute), Lat: 43.65, Lon: 111.98,
		Positioned: true, Status: Status{Alarm: AlarmSOS, Language: 2}}))

	// Once it is gone, the IMEI may log in from elsewhere.
	again.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		moved := dialFrom(t, ts.addr, "127.0.0.3")
		sn := moved.login(imei)
		moved.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if p, err := NewReader(moved.r, 0).Next(); err == nil && p.Protocol == ProtoLogin && p.Serial == sn {
			break
		}
		if time.Now().After(deadline) { // the server notices the close a moment after the client
			t.Fatal("login from a new address refused after the session ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// duplicateSessions checks bw_gateway_duplicate_sessions_total.
func duplicateSessions(t *testing.T, reg prometheus.Gatherer, protocol string, refused, replaced int) {
	t.Helper()
	want := "# HELP bw_gateway_duplicate_sessions_total Second live connections of one device, by what was done: refused (another address) or replaced (the same).\n" +
		"# TYPE bw_gateway_duplicate_sessions_total counter\n"
	for _, c := range []struct {
		action string
		n      int
	}{{gateway.ActionRefused, refused}, {gateway.ActionReplaced, replaced}} {
		if c.n > 0 {
			want += fmt.Sprintf("bw_gateway_duplicate_sessions_total{action=%q,protocol=%q} %d\n", c.action, protocol, c.n)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bw_gateway_duplicate_sessions_total"); err != nil {
		t.Error(err)
	}
}
