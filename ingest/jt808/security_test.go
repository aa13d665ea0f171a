package jt808

import (
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

// registrar is an in-memory registry that records registrations (tracker.Registrar).
type registrar struct {
	mu       sync.Mutex
	devices  map[string]tracker.Device
	vehicles map[string]tracker.Vehicle
}

func (r *registrar) Device(_ context.Context, id string) (tracker.Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.devices[id]; ok {
		return d, nil
	}
	return tracker.Device{}, tracker.ErrNotFound
}

func (r *registrar) Vehicle(_ context.Context, id string) (tracker.Vehicle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.vehicles[id]; ok {
		return v, nil
	}
	return tracker.Vehicle{}, tracker.ErrNotFound
}

func (r *registrar) MarkRegistered(_ context.Context, id string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	switch {
	case !ok:
		return tracker.ErrNotFound
	case !d.RegisteredAt.IsZero():
		return tracker.ErrAlreadyRegistered
	}
	d.RegisteredAt = at
	r.devices[id] = d
	return nil
}

// reset is the administrator's reset-registration.
func (r *registrar) reset(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.devices[id]
	d.RegisteredAt = time.Time{}
	r.devices[id] = d
}

func newRegistrar() *registrar {
	return &registrar{
		devices: map[string]tracker.Device{
			"13912344329": {ID: "13912344329", Protocol: tracker.ProtocolJT808, VehicleID: "truck-1", AuthCode: "c0de",
				TerminalID: "T1", Maker: "BW", Model: "T808"},
			"12345678901": {ID: "12345678901", Protocol: tracker.ProtocolJT808, VehicleID: "car-1"},
		},
		vehicles: map[string]tracker.Vehicle{"truck-1": {ID: "truck-1", Plate: "蒙H·12345"}},
	}
}

// alerts records what a gateway raises.
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

func (a *alerts) take() []tracker.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.list
	a.list = nil
	return l
}

// dialFrom connects a terminal from the loopback address local (Linux routes all of 127/8 to lo).
func dialFrom(t *testing.T, addr, local, phone string, v2019 bool) *terminal {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a failsafe against a hung test
	return &terminal{t: t, c: c, sc: NewScanner(c, 4096), phone: mustPhone(phone, v2019), v2019: v2019}
}

// expectClosed reads until the server closes the connection; any frame before is an error.
func (tm *terminal) expectClosed() {
	tm.t.Helper()
	if fr, err := tm.sc.Next(); err == nil {
		tm.t.Fatalf("got %X, want the connection closed", fr)
	}
}

func (tm *terminal) registration(r Register) []byte {
	tm.t.Helper()
	if tm.v2019 {
		r.Version = V2019
	}
	body, err := AppendRegister(nil, &r)
	if err != nil {
		tm.t.Fatal(err)
	}
	return tm.frame(MsgRegister, body)
}

func (tm *terminal) auth(code string) []byte {
	tm.t.Helper()
	v := V2013
	if tm.v2019 {
		v = V2019
	}
	body, err := AppendAuth(nil, &Auth{Code: code, IMEI: "860000000000001", SoftwareVersion: "1.0"}, v)
	if err != nil {
		tm.t.Fatal(err)
	}
	return tm.frame(MsgAuth, body)
}

// Hole 1 of issue 16: anybody who knows a registered phone number sends 0x0100 and is handed
// the auth code. Registration must match the pre-registered record and happens once.
func TestRegistrationImpersonation(t *testing.T) {
	reg := newRegistrar()
	ts := startServer(t, Config{Admission: &tracker.Admission{Devices: reg, Registrations: reg}})
	right := Register{Province: 15, City: 2501, Maker: "BW", Model: "T808", TerminalID: "T1", PlateColor: 2, Plate: "蒙H 12345"}
	refused := func(serial uint16, result byte) []byte { return []byte{byte(serial >> 8), byte(serial), result} }

	// An impostor who guesses wrong: another terminal, another plate.
	imp := dialFrom(t, ts.addr, "127.0.0.2", "13912344329", true)
	other := right
	other.TerminalID = "T9"
	imp.write(imp.registration(other))
	imp.expect(imp.platform(MsgRegisterResponse, 0, refused(0, RegisterNoSuchTerminal)))
	other = right
	other.Plate = "蒙H54321"
	imp.write(imp.registration(other))
	imp.expect(imp.platform(MsgRegisterResponse, 1, refused(1, RegisterNoSuchVehicle)))

	// The truck registers and gets its code.
	truck := dialFrom(t, ts.addr, "127.0.0.1", "13912344329", true)
	truck.write(truck.registration(right))
	truck.expect(truck.platform(MsgRegisterResponse, 0, append(refused(0, RegisterOK), "c0de"...)))

	// An impostor who knows everything printed on the truck: "terminal registered", no code,
	// on a new connection and on the one it had; and the truck itself cannot register twice.
	imp2 := dialFrom(t, ts.addr, "127.0.0.2", "13912344329", false)
	imp2.write(imp2.registration(right))
	imp2.expect(imp2.platform(MsgRegisterResponse, 0, refused(0, RegisterTerminalTaken)))
	imp.write(imp.registration(right))
	imp.expect(imp.platform(MsgRegisterResponse, 2, refused(2, RegisterTerminalTaken)))
	truck.write(truck.registration(right))
	truck.expect(truck.platform(MsgRegisterResponse, 1, refused(1, RegisterTerminalTaken)))
	// Without the code it cannot report.
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T10:00:00Z")})
	imp2.write(imp2.frame(MsgLocation, loc))
	imp2.expect(imp2.platform(MsgPlatformResponse, 1, general(1, MsgLocation, ResultFailure)))
	if b := ts.sink.take(); len(b) != 0 {
		t.Fatalf("stored the impostor's fixes: %v", b)
	}
	if got := ts.rejected(reasonRegistration); got != 5 {
		t.Errorf("registration_refused = %v, want 5", got)
	}

	// The administrator resets the registration (a replaced terminal): it registers again.
	reg.reset("13912344329")
	again := dialFrom(t, ts.addr, "127.0.0.1", "13912344329", true)
	again.write(again.registration(right))
	again.expect(again.platform(MsgRegisterResponse, 0, append(refused(0, RegisterOK), "c0de"...)))
}

// Many impostors registering at once: one registration wins, the others get result 3.
func TestRegistrationRace(t *testing.T) {
	reg := newRegistrar()
	ts := startServer(t, Config{Admission: &tracker.Admission{Devices: reg, Registrations: reg}})
	const n = 8
	results := make(chan byte, n)
	var wg sync.WaitGroup
	for range n {
		tm := dialFrom(t, ts.addr, "127.0.0.3", "13912344329", false)
		wg.Go(func() {
			tm.c.Write(tm.registration(Register{Maker: "BW", Model: "T808", TerminalID: "T1", PlateColor: 2, Plate: "蒙H12345"}))
			fr, err := tm.sc.Next()
			if err != nil {
				t.Error(err)
				return
			}
			f, _, err := DecodeFrame(fr)
			if err != nil {
				t.Error(err)
				return
			}
			r, _ := DecodeRegisterResponse(f.Body)
			results <- r.Result
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for r := range results {
		switch r {
		case RegisterOK:
			ok++
		case RegisterTerminalTaken:
		default:
			t.Errorf("result %d", r)
		}
	}
	if ok != 1 {
		t.Errorf("%d registrations accepted, want 1", ok)
	}
}

// Hole 3 of issue 16 for JT/T 808: a cloned terminal (it has the code) connects from another
// address while the truck's session is live. The first is kept, the second refused and closed,
// counted, and device_conflict is raised once per device and hour.
func TestDuplicateSession(t *testing.T) {
	reg := newRegistrar()
	al := &alerts{}
	ts := startServer(t, Config{Admission: &tracker.Admission{Devices: reg, Registrations: reg}, Alerts: al})
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.97, Time: utc("2026-05-01T10:00:00Z")})

	truck := dialFrom(t, ts.addr, "127.0.0.1", "13912344329", false)
	truck.write(truck.auth("c0de"))
	truck.expect(truck.platform(MsgPlatformResponse, 0, general(0, MsgAuth, ResultOK)))

	for i := range 2 {
		clone := dialFrom(t, ts.addr, "127.0.0.2", "13912344329", false)
		clone.write(clone.auth("c0de"))
		clone.expect(clone.platform(MsgPlatformResponse, 0, general(0, MsgAuth, ResultFailure)))
		clone.expectClosed()
		duplicateSessions(t, ts.reg, "jt808", i+1, 0)
	}
	as := al.take()
	if len(as) != 1 {
		t.Fatalf("%d alerts, want 1 (one per device and hour): %+v", len(as), as)
	}
	a := as[0]
	var ev struct {
		DeviceID      string `json:"device_id"`
		First, Second struct{ Remote string }
	}
	if err := json.Unmarshal(a.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if a.Type != tracker.AlertDeviceConflict || a.VehicleID != "truck-1" || ev.DeviceID != "13912344329" ||
		!strings.HasPrefix(ev.First.Remote, "127.0.0.1:") || !strings.HasPrefix(ev.Second.Remote, "127.0.0.2:") {
		t.Errorf("alert %+v evidence %s", a, a.Evidence)
	}
	if got := ts.rejected(reasonDuplicateSession); got != 2 {
		t.Errorf("duplicate_session rejections = %v, want 2", got)
	}

	// The truck goes on.
	truck.write(truck.frame(MsgLocation, loc))
	truck.expect(truck.platform(MsgPlatformResponse, 1, general(1, MsgLocation, ResultOK)))

	// The truck reconnects from its address while its old connection lingers: the new
	// connection replaces the old, which is closed.
	re := dialFrom(t, ts.addr, "127.0.0.1", "13912344329", false)
	re.write(re.auth("c0de"))
	re.expect(re.platform(MsgPlatformResponse, 0, general(0, MsgAuth, ResultOK)))
	truck.expectClosed()
	re.write(re.frame(MsgLocation, loc))
	re.expect(re.platform(MsgPlatformResponse, 1, general(1, MsgLocation, ResultOK)))
	duplicateSessions(t, ts.reg, "jt808", 2, 1)

	// Once the truck's session ends, the device may connect from elsewhere (a new address
	// after the carrier moved it).
	re.write(re.frame(MsgLogout, nil))
	re.expect(re.platform(MsgPlatformResponse, 2, general(2, MsgLogout, ResultOK)))
	re.expectClosed()
	moved := dialFrom(t, ts.addr, "127.0.0.4", "13912344329", false)
	moved.write(moved.auth("c0de"))
	moved.expect(moved.platform(MsgPlatformResponse, 0, general(0, MsgAuth, ResultOK)))

	// A device without an auth code holds its session from its first frame.
	car := dialFrom(t, ts.addr, "127.0.0.1", "12345678901", false)
	car.write(car.frame(MsgLocation, loc))
	car.expect(car.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultOK)))
	other := dialFrom(t, ts.addr, "127.0.0.2", "12345678901", false)
	other.write(other.frame(MsgLocation, loc))
	other.expect(other.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultFailure)))
	other.expectClosed()
	if b := ts.sink.take(); len(b) != 3 {
		t.Errorf("stored %d batches, want 3 (the truck's two, the car's one)", len(b))
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
