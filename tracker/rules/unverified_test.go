package rules_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// A vehicle whose fixes on either side of the line lie long apart is no evidence of where it
// crossed: a restarted device, or a day parked with the terminal off. The control vehicle
// crosses at the same place with fixes 10 s apart and raises the critical alert.
func TestCrossingUnverifiedAfterGap(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("u1"), truck("c1")}, nil)
	control := newTrack("c1", t0, 42.05, 110.3, 21).to(41.95, 110.3, 50)
	e.submit(control.fixes...)
	e.expect("c1", tracker.AlertBorderCrossingOutsidePort)

	// 45 min between the fixes, 16 km from port B: a truck could have driven through it.
	north := newTrack("u1", t0, 42.05, 110.3, 22).last()
	south := newTrack("u1", t0.Add(45*time.Minute), 41.95, 110.3, 23).last()
	e.submit(north, south)
	a := e.expect("u1", tracker.AlertBorderCrossingUnverified)[0]
	if a.Severity != tracker.SeverityWarning || a.Late || a.ZoneID == nil || *a.ZoneID != "border" {
		t.Errorf("alert %+v: want a warning on the border zone, not late", a)
	}
	m := evidenceOf(t, a)
	if m["gap_s"] != 2700.0 || m["port_zone_id"] != nil || m["nearest_port_zone_id"] != "port-b" {
		t.Errorf("evidence %v: want the 2700 s gap, no port, port-b nearest", m)
	}
	last, next := m["last_fix"].(map[string]any), m["next_fix"].(map[string]any)
	if last["lat"].(float64) < 42.04 || next["lat"].(float64) > 41.96 {
		t.Errorf("evidence %v: want both fixes", m)
	}
	crosses := e.events("u1", tracker.EventBorderCross)
	if len(crosses) != 1 || crosses[0].Attrs["port_zone_id"] != nil || crosses[0].Attrs["port_unknown"] != true {
		t.Errorf("crossings %+v: want one with its port unknown", crosses)
	}
}

// Shorter than the limit, but long enough to drive through the port 4 km away: unverified.
// As short a gap far from every port is a crossing outside them.
func TestCrossingUnverifiedNearPort(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("u2"), truck("c2")}, nil)
	e.submit(newTrack("u2", t0, 42.03, 110.05, 24).last(), newTrack("u2", t0.Add(20*time.Minute), 41.97, 110.05, 25).last())
	// In port A's control zone the silence is a signal loss as well.
	e.expect("u2", tracker.AlertSignalLost, tracker.AlertBorderCrossingUnverified)
	// Port B is 16 km away, 35 km there and on: 23 min at 90 km/h, more than the 15 min gap.
	e.submit(newTrack("c2", t0, 42.05, 110.3, 26).last(), newTrack("c2", t0.Add(15*time.Minute), 41.95, 110.3, 27).last())
	e.expect("c2", tracker.AlertBorderCrossingOutsidePort)
}

// A declared truck dark for an hour is judged by the drive through its declared port: the line
// across the gap through another port is no crossing mismatch; through the declared port it
// is no alert at all.
func TestCrossingUnverifiedDeclared(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("u3"), truck("u4")},
		[]tracker.Declaration{inbound("d-u3", "u3", "port-b"), inbound("d-u4", "u4", "port-a")})
	for _, id := range []string{"u3", "u4"} {
		e.submit(newTrack(id, t0, 42.05, 110.0, 28).last(), newTrack(id, t0.Add(time.Hour), 41.95, 110.0, 29).last())
	}
	a := e.expect("u3", tracker.AlertSignalLost, tracker.AlertBorderCrossingUnverified)[1]
	if m := evidenceOf(t, a); m["declared_port_zone_id"] != "port-b" || m["nearest_port_zone_id"] != "port-b" {
		t.Errorf("evidence %v: want the declared port-b as the way round", m)
	}
	e.expect("u4", tracker.AlertSignalLost)
}

// What a restarted demo did: its simulator began its day again, hours before the vehicles' last
// fixes, on the other side of the line. The old fixes arrive late and the straight line back
// across a day crosses the border outside every port; that is unverified, not critical.
func TestLateCrossingAcrossLongGap(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("u5"), truck("c5")}, nil)
	now := t0.Add(20 * time.Hour)
	e.submit(newTrack("u5", now, 41.95, 110.3, 30).last())
	e.backfill(newTrack("u5", t0, 42.05, 110.3, 31).wait(time.Minute).fixes)
	a := e.expect("u5", tracker.AlertBorderCrossingUnverified)[0]
	if !a.Late || a.Severity != tracker.SeverityWarning {
		t.Errorf("alert %+v: want a late warning", a)
	}
	if m := evidenceOf(t, a); m["gap_s"].(float64) < 19*3600 {
		t.Errorf("evidence %v: want the gap of almost 20 h", m)
	}
	// The control: the same late fixes, 10 s from the live one across the line.
	e.submit(newTrack("c5", now, 41.95, 110.3, 32).to(41.9, 110.3, 50).last())
	e.backfill(newTrack("c5", now.Add(-2*time.Minute), 42.05, 110.3, 33).to(41.951, 110.3, 90).fixes)
	e.expect("c5", tracker.AlertBorderCrossingOutsidePort)
}
