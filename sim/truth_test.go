package sim

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func TestScorePending(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 1, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	truth := &Truth{Until: at(240), Injections: []Injection{
		{Type: AnomalyDetour, VehicleID: "a", From: at(0), To: at(30), Also: []string{AnomalyStop}},
		{Type: AnomalyMeeting, VehicleID: "b", With: "c", From: at(60), To: at(90)},
		{Type: AnomalySignalLost, VehicleID: "d", From: at(100), To: at(120)},
		// Still going on, and ended too lately to have been judged: pending, not missed.
		{Type: AnomalyOverstay, VehicleID: "e", From: at(200)},
		{Type: AnomalyStop, VehicleID: "f", From: at(210), To: at(230)},
		{Type: AnomalyJitter, VehicleID: "g", From: at(0), To: at(60)},
	}}
	alerts := []tracker.Alert{
		{Type: tracker.AlertDetour, VehicleID: "a", Time: at(5)},
		{Type: tracker.AlertUnauthorizedStop, VehicleID: "a", Time: at(20)}, // a side effect
		{Type: tracker.AlertMeeting, VehicleID: "c", Time: at(70)},          // raised on the partner
		{Type: tracker.AlertOverstay, VehicleID: "e", Time: at(200)},
		{Type: tracker.AlertSignalLost, VehicleID: "d", Time: at(200)}, // long after its window
		{Type: tracker.AlertDetour, VehicleID: "g", Time: at(10)},      // jitter must raise nothing
	}
	want := map[string]ScoreRow{
		AnomalyDetour:     {Injected: 1, Detected: 1, Alerts: 2, Correct: 1},
		AnomalyStop:       {Injected: 0, Detected: 0, Alerts: 1, Correct: 1},
		AnomalyMeeting:    {Injected: 1, Detected: 1, Alerts: 1, Correct: 1},
		AnomalySignalLost: {Injected: 1, Detected: 0, Alerts: 1, Correct: 0},
		AnomalyOverstay:   {Injected: 0, Detected: 0, Alerts: 1, Correct: 1},
	}
	rows := Score(truth, alerts)
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for _, r := range rows {
		w := want[r.Type]
		if r.Injected != w.Injected || r.Detected != w.Detected || r.Alerts != w.Alerts || r.Correct != w.Correct {
			t.Errorf("%s: got injected %d detected %d alerts %d correct %d, want %d %d %d %d", r.Type,
				r.Injected, r.Detected, r.Alerts, r.Correct, w.Injected, w.Detected, w.Alerts, w.Correct)
		}
	}
}
