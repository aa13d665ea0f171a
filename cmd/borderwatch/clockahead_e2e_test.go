package main

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestJT808ClockAhead: a JT/T 808 terminal whose clock is 3 minutes ahead, over TCP. Each report
// is acknowledged and, through the API, stored at its receipt (not 3 minutes on: the vehicle
// stays in the live rules) with the time the terminal claimed as its device_time attribute; a
// report sent again is stored once; the truck gets one device_clock_ahead warning. Before, every
// report was evidence only, never evaluated, and the truck showed as signal_lost.
func TestJT808ClockAhead(t *testing.T) {
	a := startApp(t, nil)
	const phone = "13912344310"
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "truck-clk", "plate": "蒙K44310", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": phone, "protocol": "jt808", "vehicle_id": "truck-clk"}, nil, 201)
	tm := dialJT808(t, a, phone)
	start := time.Now()
	ahead := start.UTC().Add(3 * time.Minute).Truncate(time.Second)
	claimed := []time.Time{ahead, ahead.Add(10 * time.Second), ahead.Add(20 * time.Second)}
	report := func(i int) {
		t.Helper()
		body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: 43.65 + float64(i)*0.001, Lon: 111.97, Time: claimed[i], SpeedKmh: 38})
		serial, err := tm.write(jt808.MsgLocation, body)
		if err != nil {
			t.Fatal(err)
		}
		tm.acked(jt808.MsgLocation, serial)
	}
	for i := range claimed {
		report(i)
	}
	report(len(claimed) - 1) // the terminal missed the acknowledgement
	end := time.Now()

	fixes := a.track("truck-clk", start.UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339))
	if len(fixes) != len(claimed) {
		t.Fatalf("fixes %s, want %d", fmtJSON(fixes), len(claimed))
	}
	for i, f := range fixes {
		received := !f.Time.Before(start.Add(-time.Second)) && !f.Time.After(end.Add(time.Second))
		if !received || f.Late || !contains(f.Flags, tracker.FlagRetimed) || f.Attrs[tracker.AttrDeviceTime] != claimed[i].Format(time.RFC3339Nano) {
			t.Errorf("fix %d %s: want at its receipt, live, flagged %s, device time %s", i, fmtJSON(f), tracker.FlagRetimed, claimed[i].Format(time.RFC3339Nano))
		}
	}
	var out struct{ Alerts []tracker.Alert }
	a.mustCall("GET", "/api/v1/alerts?type="+tracker.AlertDeviceClockAhead, nil, &out, 200)
	if len(out.Alerts) != 1 || out.Alerts[0].VehicleID != "truck-clk" || out.Alerts[0].Severity != tracker.SeverityWarning {
		t.Errorf("device_clock_ahead alerts %s, want one warning on truck-clk", fmtJSON(out.Alerts))
	}
}
