package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestForgedReportRacesTheRealOne is hole 2 of issue 16 over real TCP: a second client sends a
// JT/T 808 0x0200 for a registered terminal with the device time of the terminal's next report
// and another position, before the terminal does. The real report is not taken for a
// retransmission: it is stored, flagged as the conflict, and a critical device_conflict alert
// with both positions reaches the officer. The terminal's next report is its track again.
func TestForgedReportRacesTheRealOne(t *testing.T) {
	a := startApp(t, nil)
	const phone = "13912344329"
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "truck-1", "plate": "蒙K54321", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": phone, "protocol": "jt808", "vehicle_id": "truck-1"}, nil, 201)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	report := func(tm *jtTerminal, at time.Time, lat, lon float64) {
		t.Helper()
		body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: lat, Lon: lon, Time: at, SpeedKmh: 38})
		serial, err := tm.write(jt808.MsgLocation, body)
		if err != nil {
			t.Fatal(err)
		}
		tm.acked(jt808.MsgLocation, serial)
	}
	truck := dialJT808(t, a, phone)
	report(truck, at.Add(-30*time.Second), 43.6500, 111.9700)

	forger := dialJT808(t, a, phone)
	report(forger, at, 44.1000, 112.4000) // first: taken as the track, as nothing tells it apart yet
	report(truck, at, 43.6520, 111.9730)  // the real one, same device time
	report(truck, at.Add(30*time.Second), 43.6540, 111.9760)

	fixes := a.track("truck-1", at.Add(-time.Hour).Format(time.RFC3339))
	var real, forged *apiFix
	for i := range fixes {
		f := &fixes[i]
		if f.Time.Equal(at) && f.Lat == 43.652 {
			real = f
		}
		if f.Time.Equal(at) && f.Lat == 44.1 {
			forged = f
		}
	}
	if len(fixes) != 4 || real == nil || forged == nil {
		t.Fatalf("track %s: want 4 fixes, the real and the forged report of %v among them", fmtJSON(fixes), at)
	}
	if !contains(real.Flags, tracker.FlagConflict) || contains(forged.Flags, tracker.FlagConflict) {
		t.Errorf("flags: real %v, forged %v; want the later of the two flagged", real.Flags, forged.Flags)
	}

	var out struct{ Alerts []tracker.Alert }
	a.mustCall("GET", "/api/v1/alerts?type="+tracker.AlertDeviceConflict, nil, &out, 200)
	if len(out.Alerts) != 1 {
		t.Fatalf("device_conflict alerts: %s, want one", fmtJSON(out.Alerts))
	}
	al := out.Alerts[0]
	var ev struct {
		DeviceID      string `json:"device_id"`
		First, Second struct{ Lat, Lon float64 }
	}
	if err := json.Unmarshal(al.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if al.Severity != tracker.SeverityCritical || al.VehicleID != "truck-1" || ev.DeviceID != phone ||
		ev.First.Lat != 44.1 || ev.Second.Lat != 43.652 {
		t.Errorf("alert %s, want critical on truck-1 with both positions", fmtJSON(al))
	}

	// The live map shows the truck where its newest report puts it, never at a conflict.
	var pos struct{ Positions []apiFix }
	a.mustCall("GET", "/api/v1/positions", nil, &pos, 200)
	if len(pos.Positions) != 1 || pos.Positions[0].Lat != 43.654 {
		t.Errorf("positions %s, want truck-1 at its newest report", fmtJSON(pos))
	}
}
