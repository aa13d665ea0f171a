package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/gt06"
	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestGT06SOSWithoutPosition: a GT06 that sends an SOS alarm with a cell and no position (Traccar's
// 0x19 frame) over TCP raises one critical sos alert on its car at the car's last known position
// and time, saying the report had none; the tracker sending it again adds nothing. The control
// car's tracker sends a tamper alarm without position (Traccar's JM-LL301 0xA5): an event, no
// alert. Both are acknowledged once stored.
func TestGT06SOSWithoutPosition(t *testing.T) {
	a := startApp(t, nil)
	for _, v := range []struct{ vehicle, plate, imei string }{{"res-sos", "蒙K10001", "860470067873061"}, {"res-ctl", "蒙K10002", "860470067873062"}} {
		a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": v.vehicle, "plate": v.plate, "kind": "resident_car"}, nil, 201)
		a.mustCall("POST", "/api/v1/devices", map[string]any{"id": v.imei, "protocol": "gt06", "vehicle_id": v.vehicle}, nil, 201)
	}
	login := func(imei string) *device {
		d := dialDevice(t, a.gt06Ln)
		content := unhex(t, "0"+imei)
		d.send(gt06.AppendFrame(nil, gt06.Packet{Protocol: gt06.ProtoLogin, Content: content, Serial: 1}))
		d.expect(gt06.AppendAck(nil, gt06.ProtoLogin, 1))
		return d
	}
	d := login("860470067873061")
	// Traccar's 0x22 GPS+LBS frame, 2015-12-29 02:51:05 UTC: the last known position.
	d.send(unhex(t, "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A"))
	waitFor(t, func() bool { return len(a.track("res-sos", "2015-12-28T00:00:00Z")) == 1 })
	last := a.track("res-sos", "2015-12-28T00:00:00Z")[0]
	sos := unhex(t, "78781219028f0a29e10036f12003040102000875dc0d0a") // Traccar's GT06 0x19 SOS, serial 0x0008
	d.send(sos)
	d.expect(gt06.AppendAck(nil, gt06.ProtoLBSAlarm, 0x0008))
	d.send(sos)
	d.expect(gt06.AppendAck(nil, gt06.ProtoLBSAlarm, 0x0008))

	ctl := login("860470067873062")
	ctl.send(unhex(t, "787819a5012ed0000075df000000000098661502050413000019a12b0d0a"))
	ctl.expect(gt06.AppendAck(nil, gt06.ProtoLBSAlarm4G, 0x0019))

	var out struct{ Alerts []tracker.Alert }
	a.mustCall("GET", "/api/v1/alerts", nil, &out, 200)
	if len(out.Alerts) != 1 || out.Alerts[0].Type != tracker.AlertSOS || out.Alerts[0].VehicleID != "res-sos" {
		t.Fatalf("alerts %s, want res-sos's sos alone", fmtJSON(out.Alerts))
	}
	al := out.Alerts[0]
	var ev struct {
		Position string
		Place    struct {
			Lat, Lon float64
			Time     time.Time
			Source   string
		}
		DeviceID string `json:"device_id"`
		CellID   int    `json:"cell_id"`
	}
	if err := json.Unmarshal(al.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if al.Severity != tracker.SeverityCritical || al.Lat != last.Lat || al.Lon != last.Lon || time.Since(al.Time) > time.Hour ||
		ev.Position != "unknown in the report" || ev.Place.Source != "last_valid_fix" || !ev.Place.Time.Equal(last.Time) ||
		ev.DeviceID != "860470067873061" || ev.CellID != 0x36f1 {
		t.Errorf("alert %s, want critical, now, at the last fix %s", fmtJSON(al), fmtJSON(last))
	}

	var evs struct{ Events []tracker.Event }
	a.mustCall("GET", "/api/v1/events?vehicle_id=res-ctl&type="+tracker.EventDeviceAlarm, nil, &evs, 200)
	if len(evs.Events) != 1 {
		t.Errorf("control car's alarm events %s, want the tamper alarm", fmtJSON(evs.Events))
	}
}

// TestJT808EmergencyAlarm: a JT/T 808 terminal whose reports carry alarm bit 0 (emergency) over
// TCP raises one critical sos alert at the first flagged report's position; the next reports,
// still flagged until the platform confirms the alarm, add nothing. The control truck's reports
// carry the overspeed bit and raise no sos.
func TestJT808EmergencyAlarm(t *testing.T) {
	a := startApp(t, nil)
	for _, v := range []struct{ vehicle, phone string }{{"truck-sos", "13912344331"}, {"truck-ctl", "13912344332"}} {
		a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": v.vehicle, "plate": "蒙K" + v.phone[7:], "kind": "truck"}, nil, 201)
		a.mustCall("POST", "/api/v1/devices", map[string]any{"id": v.phone, "protocol": "jt808", "vehicle_id": v.vehicle}, nil, 201)
	}
	at := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	report := func(tm *jtTerminal, alarm uint32, i int) {
		t.Helper()
		body := jt808.AppendLocation(nil, &jt808.Location{Alarm: alarm, Status: jt808.StatusPositioned,
			Lat: 43.65 + float64(i)*0.001, Lon: 111.97, Time: at.Add(time.Duration(i) * 30 * time.Second), SpeedKmh: 38})
		serial, err := tm.write(jt808.MsgLocation, body)
		if err != nil {
			t.Fatal(err)
		}
		tm.acked(jt808.MsgLocation, serial)
	}
	truck, ctl := dialJT808(t, a, "13912344331"), dialJT808(t, a, "13912344332")
	report(truck, 0, 0)
	for i := 1; i <= 4; i++ {
		report(truck, jt808.AlarmSOS, i)
		report(ctl, jt808.AlarmOverspeed, i)
	}

	var out struct{ Alerts []tracker.Alert }
	a.mustCall("GET", "/api/v1/alerts?type="+tracker.AlertSOS, nil, &out, 200)
	if len(out.Alerts) != 1 {
		t.Fatalf("sos alerts %s, want truck-sos's one", fmtJSON(out.Alerts))
	}
	al := out.Alerts[0]
	if al.VehicleID != "truck-sos" || al.Severity != tracker.SeverityCritical || !al.Time.Equal(at.Add(30*time.Second)) || al.Lat != 43.651 {
		t.Errorf("alert %s, want critical at the first flagged report", fmtJSON(al))
	}
}
