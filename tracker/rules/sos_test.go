package rules_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// alarmEvent is a device's alarm without a position, as the GT06 gateway makes it.
func alarmEvent(vehicle string, at time.Time, flags ...string) tracker.Event {
	return tracker.Event{Type: tracker.EventDeviceAlarm, Time: at, VehicleID: vehicle,
		Attrs: map[string]any{"flags": flags, "alarm_code": 1, "device_id": "dev-" + vehicle, "mcc": 460, "lac": 0x287d, "cell_id": 0x1f71}}
}

func withFlags(f tracker.Fix, flags ...string) tracker.Fix {
	f.Flags = flags
	return f
}

// An SOS without a position is a critical alert at the vehicle's last known position and
// time, saying the report had none; the device sending it again and again, and a fix with the
// SOS flag during the incident, add no alert, the fix only the position the alert lacked. An SOS
// after half an hour of quiet is a new incident. The control truck reports the same track and
// a power-cut alarm without position: stored as an event, no alert.
func TestSOSWithoutPosition(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s1"), truck("s2")}, []tracker.Declaration{inbound("d-s1", "s1", "port-a")})
	tr1 := newTrack("s1", t0, 41.95, 110.0, 91).to(41.90, 110.0, 60)
	tr2 := newTrack("s2", t0, 41.95, 110.0, 92).to(41.90, 110.0, 60)
	e.submit(tr1.fixes...)
	e.submit(tr2.fixes...)
	last := tr1.last()
	at := last.Time.Add(2 * time.Minute)
	e.report(alarmEvent("s1", at, "acc_on", tracker.FlagSOS))
	e.report(alarmEvent("s1", at.Add(20*time.Second), "acc_on", tracker.FlagSOS)) // resent
	e.report(alarmEvent("s2", at, "power_cut"))

	a := e.expect("s1", tracker.AlertSOS)[0]
	m := evidenceOf(t, a)
	place, _ := m["place"].(map[string]any)
	if a.Severity != tracker.SeverityCritical || !a.Time.Equal(at) || a.Lat != last.Lat || a.Lon != last.Lon ||
		a.DeclarationID == nil || *a.DeclarationID != "d-s1" || a.Message == "" {
		t.Errorf("alert %+v, want critical at the last fix, on d-s1", a)
	}
	if m["position"] != "unknown in the report" || place["source"] != "last_valid_fix" || place["time"] != last.Time.Format(time.RFC3339) ||
		m["device_id"] != "dev-s1" || m["cell_id"] != float64(0x1f71) {
		t.Errorf("evidence %v", m)
	}

	// A fix of the incident with the flag gives the position.
	fix := withFlags(newTrack("s1", at.Add(time.Minute), 41.899, 110.0, 93).fixes[0], tracker.FlagSOS)
	e.submit(fix)
	a = e.expect("s1", tracker.AlertSOS)[0]
	if a.Lat != fix.Lat || !a.Time.Equal(at) || evidenceOf(t, a)["position"] != nil {
		t.Errorf("alert after the located report %+v, want at the fix, from the first report", a)
	}
	e.report(alarmEvent("s1", at.Add(2*time.Minute), tracker.FlagSOS)) // again without position: no change
	if b := e.expect("s1", tracker.AlertSOS)[0]; b.Lat != fix.Lat {
		t.Errorf("alert moved back to the last fix: %+v", b)
	}

	// Half an hour of quiet: a new incident.
	e.report(alarmEvent("s1", at.Add(40*time.Minute), tracker.FlagSOS))
	e.expect("s1", tracker.AlertSOS, tracker.AlertSOS)

	e.check(at.Add(time.Minute))
	e.expect("s2")
	if evs := e.events("s2", tracker.EventDeviceAlarm); len(evs) != 1 {
		t.Errorf("s2's alarm events: %d, want 1", len(evs))
	}
	if evs := e.events("s1", tracker.EventDeviceAlarm); len(evs) != 4 {
		t.Errorf("s1's alarm events: %d, want all 4 stored", len(evs))
	}
}

// A JT/T 808 terminal keeps its emergency bit set in every report until the platform confirms
// it: an hour of flagged fixes every 10 s is one alert, at the first, and after a restart the
// next flagged fix adds nothing either. A vehicle that never reported a position gets the alert
// with no place. The control truck's fixes carry other alarms and raise nothing.
func TestSOSOnFixes(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s3"), truck("s4"), truck("s5")}, nil)
	tr := newTrack("s3", t0, 41.95, 110.0, 94).to(41.90, 110.0, 60).wait(time.Hour)
	for i := range tr.fixes {
		tr.fixes[i].Flags = []string{"acc_on", tracker.FlagSOS}
	}
	e.submit(tr.fixes...)
	ctl := newTrack("s4", t0, 41.95, 110.0, 95).to(41.90, 110.0, 60)
	for i := range ctl.fixes {
		ctl.fixes[i].Flags = []string{"acc_on", "overspeed", "power_cut"}
	}
	e.submit(ctl.fixes...)
	e.report(alarmEvent("s5", t0, tracker.FlagSOS))

	a := e.expect("s3", tracker.AlertSOS)[0]
	if !a.Time.Equal(t0) || a.Lat != tr.fixes[0].Lat || evidenceOf(t, a)["position"] != nil {
		t.Errorf("alert %+v, want at the first flagged fix", a)
	}
	e.expect("s4")
	if m := evidenceOf(t, e.expect("s5", tracker.AlertSOS)[0]); m["place"].(map[string]any)["source"] != "unknown" {
		t.Errorf("s5's evidence %v, want no place known", m)
	}

	e.restart()
	next := tr.last()
	next.Time = next.Time.Add(10 * time.Second)
	e.submit(next)
	e.report(alarmEvent("s5", t0.Add(10*time.Minute), tracker.FlagSOS))
	e.expect("s3", tracker.AlertSOS)
	e.expect("s5", tracker.AlertSOS)
}
