package main

import (
	"net"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/gt06"
	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/tracker"
)

// dialDeviceFrom connects from the loopback address local (Linux routes all of 127/8 to lo).
func dialDeviceFrom(t *testing.T, ln net.Listener, local string) *device {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &device{t, c}
}

// register sends a 2013 0x0100 of phone and returns the 0x8100's result and code.
func (d *device) register(phone string, r jt808.Register) (byte, string) {
	d.t.Helper()
	ph, err := jt808.ParsePhone(phone, false)
	if err != nil {
		d.t.Fatal(err)
	}
	body, err := jt808.AppendRegister(nil, &r)
	if err != nil {
		d.t.Fatal(err)
	}
	frame, err := jt808.AppendFrame(nil, &jt808.Header{MsgID: jt808.MsgRegister, Phone: ph, Serial: 1}, body)
	if err != nil {
		d.t.Fatal(err)
	}
	d.send(frame)
	d.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := jt808.NewScanner(d.conn, 4096).Next()
	if err != nil {
		d.t.Fatalf("reading 0x8100: %v", err)
	}
	f, _, err := jt808.DecodeFrame(raw)
	if err != nil || f.Header.MsgID != jt808.MsgRegisterResponse {
		d.t.Fatalf("reply %X: %v", raw, err)
	}
	resp, err := jt808.DecodeRegisterResponse(f.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp.Result, resp.AuthCode
}

// Hole 1 of issue 16 through the whole server: the impostor who knows the truck's phone
// number, terminal and plate is not handed the code once the truck registered; after the
// administrator's reset, a registration is accepted again.
func TestJT808RegistrationOnce(t *testing.T) {
	a := startApp(t, nil)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "truck-1", "plate": "蒙H12345", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "13912344329", "protocol": "jt808", "vehicle_id": "truck-1",
		"auth_code": "secret", "terminal_id": "T1"}, nil, 201)
	reg := jt808.Register{Province: 15, City: 2501, Maker: "BW", Model: "T808", TerminalID: "T1", PlateColor: 2, Plate: "蒙H12345"}

	wrong := reg
	wrong.TerminalID = "T2"
	if res, code := dialDeviceFrom(t, a.jt808Ln, "127.0.0.2").register("13912344329", wrong); res != jt808.RegisterNoSuchTerminal || code != "" {
		t.Errorf("another terminal: result %d code %q, want 4 and none", res, code)
	}
	if res, code := dialDevice(t, a.jt808Ln).register("13912344329", reg); res != jt808.RegisterOK || code != "secret" {
		t.Fatalf("the truck: result %d code %q, want 0 and its code", res, code)
	}
	if res, code := dialDeviceFrom(t, a.jt808Ln, "127.0.0.2").register("13912344329", reg); res != jt808.RegisterTerminalTaken || code != "" {
		t.Errorf("the impostor: result %d code %q, want 3 and none", res, code)
	}
	var d tracker.Device
	a.mustCall("GET", "/api/v1/devices/13912344329", nil, &d, 200)
	if d.RegisteredAt.IsZero() {
		t.Errorf("device %s, want registered_at", fmtJSON(d))
	}
	a.mustCall("POST", "/api/v1/devices/13912344329/reset-registration", nil, &d, 200)
	if res, code := dialDevice(t, a.jt808Ln).register("13912344329", reg); res != jt808.RegisterOK || code != "secret" {
		t.Errorf("after the reset: result %d code %q, want 0 and the code", res, code)
	}
}

// Hole 3 of issue 16 through the whole server: a second login of a live IMEI from another
// address is closed unanswered and raises one device_conflict alert on the vehicle.
func TestGT06TakeoverAlert(t *testing.T) {
	a := startApp(t, nil)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "res-1", "kind": "resident_car"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "860470067873061", "protocol": "gt06", "vehicle_id": "res-1"}, nil, 201)
	login := unhex(t, "78780d01086047006787306105d4e2970d0a") // IMEI 860470067873061, serial 0x05D4

	truck := dialDevice(t, a.gt06Ln)
	truck.send(login)
	truck.expect(unhex(t, "7878050105d426440d0a"))
	thief := dialDeviceFrom(t, a.gt06Ln, "127.0.0.2")
	thief.send(login)
	thief.expectSilence(time.Second)

	var out struct{ Alerts []tracker.Alert }
	a.mustCall("GET", "/api/v1/alerts?type="+tracker.AlertDeviceConflict, nil, &out, 200)
	if len(out.Alerts) != 1 || out.Alerts[0].VehicleID != "res-1" || out.Alerts[0].Severity != tracker.SeverityCritical {
		t.Fatalf("device_conflict alerts: %s, want one on res-1", fmtJSON(out.Alerts))
	}
	// The truck's session is alive: its heartbeat is acknowledged.
	truck.send(gt06.AppendFrame(nil, gt06.Status{Language: 2}.Packet(7)))
	truck.expect(gt06.AppendAck(nil, gt06.ProtoStatus, 7))
}
