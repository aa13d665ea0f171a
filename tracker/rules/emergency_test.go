package rules_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func emergency(d tracker.Declaration) tracker.Declaration {
	d.Type = tracker.DeclarationEmergency
	return d
}

// offCorridorWithStop leaves the corridor, stops 15 min off it, and arrives in the yard.
func offCorridorWithStop(tr *track) *track {
	return tr.to(42.005, 110.0, 40).to(41.9, 110.0, 60).to(41.9, 110.04, 40).wait(15*time.Minute).
		to(41.85, 110.04, 40).to(41.85, 110.0, 40).to(41.80, 110.0, 60).wait(5 * time.Minute)
}

// An emergency truck that leaves its corridor and stops raises nothing while its window lasts;
// arriving in the yard ends it, and the next check raises one emergency_review listing both.
// The control, on an ordinary declaration, drives the same way and gets both alerts.
func TestEmergencySuspendsCorridorAndStops(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("e1"), truck("e2")},
		[]tracker.Declaration{emergency(inbound("d-e1", "e1", "port-a")), inbound("d-e2", "e2", "port-a")})
	tr1 := offCorridorWithStop(newTrack("e1", t0, 42.05, 110.0, 50))
	e.submit(tr1.fixes...)
	e.expect("e1")
	e.check(tr1.t.Add(time.Minute))
	as := e.expect("e1", tracker.AlertEmergencyReview)
	ev := evidenceOf(t, as[0])
	held, _ := ev["would_have_alerted"].([]any)
	var types []string
	for _, h := range held {
		types = append(types, h.(map[string]any)["type"].(string))
	}
	if len(types) != 2 || types[0] != tracker.AlertDetour || types[1] != tracker.AlertUnauthorizedStop {
		t.Errorf("held back %v, want detour then unauthorized_stop", types)
	}
	if as[0].DeclarationID == nil || *as[0].DeclarationID != "d-e1" || as[0].Severity != tracker.SeverityWarning {
		t.Errorf("review %+v", as[0])
	}
	// Once: later checks do not raise it again.
	e.check(tr1.t.Add(time.Hour))
	e.expect("e1", tracker.AlertEmergencyReview)

	tr2 := offCorridorWithStop(newTrack("e2", t0, 42.05, 110.0, 51))
	e.submit(tr2.fixes...)
	e.check(tr2.t.Add(time.Minute))
	e.expect("e2", tracker.AlertDetour, tracker.AlertUnauthorizedStop)
}

// An emergency window ends at valid_to; what the vehicle did after it is judged by the ordinary
// rules of the declaration it is on then. Crossing at a port other than the declared one is
// not suspended.
func TestEmergencyWindowEndsAtValidTo(t *testing.T) {
	em := emergency(inbound("d-e3", "e3", "port-b"))
	em.YardZoneID, em.CorridorZoneID = "", ""
	em.ValidFrom, em.ValidTo = t0.Add(-10*time.Minute), t0.Add(30*time.Minute)
	next := inbound("d-e3-next", "e3", "port-a")
	next.ValidFrom = t0.Add(30 * time.Minute)
	e := newEnv(t, []tracker.Vehicle{truck("e3")}, []tracker.Declaration{em, next})
	// Through port A (declared B): crossing_mismatch; then a 15 min stop inside the window.
	tr := newTrack("e3", t0, 42.05, 110.0, 52).to(42.005, 110.0, 40).to(41.9, 110.0, 60).to(41.9, 110.04, 40).wait(15 * time.Minute)
	e.submit(tr.fixes...)
	e.expect("e3", tracker.AlertCrossingMismatch)
	// The window is over: the review; then a stop under the ordinary declaration alerts.
	tr.wait(10 * time.Minute)
	e.submit(tr.fixes[len(tr.fixes)-60:]...)
	e.check(t0.Add(31 * time.Minute))
	tr.fixes = tr.fixes[:0]
	tr.to(41.88, 110.04, 30).wait(15 * time.Minute)
	e.submit(tr.fixes...)
	// The stop that began in the window and went on past it stays the review's.
	as := e.expect("e3", tracker.AlertCrossingMismatch, tracker.AlertEmergencyReview, tracker.AlertUnauthorizedStop)
	if !as[2].Time.After(t0.Add(30 * time.Minute)) {
		t.Errorf("unauthorized_stop at %v, want after the window", as[2].Time)
	}
}

// A restart in the middle of an emergency window: the detour held back before it is still in
// the review at the window's end, beside the stop held after it; a restart after the review
// does not raise it again.
func TestEmergencyWindowSurvivesRestart(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("e5")}, []tracker.Declaration{emergency(inbound("d-e5", "e5", "port-a"))})
	tr := newTrack("e5", t0, 42.05, 110.0, 53).to(42.005, 110.0, 40).to(41.9, 110.0, 60).to(41.9, 110.04, 40)
	e.submit(tr.fixes...)
	e.expect("e5")
	restartAt := tr.t
	e.restart()
	tr.fixes = tr.fixes[:0]
	tr.wait(15*time.Minute).to(41.85, 110.04, 40).to(41.85, 110.0, 40).to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.submit(tr.fixes...)
	e.expect("e5")
	e.check(tr.t.Add(time.Minute))
	as := e.expect("e5", tracker.AlertEmergencyReview)
	held, _ := evidenceOf(t, as[0])["would_have_alerted"].([]any)
	var before, stop bool
	for _, h := range held {
		m := h.(map[string]any)
		at, _ := time.Parse(time.RFC3339Nano, m["time"].(string))
		before = before || m["type"] == tracker.AlertDetour && at.Before(restartAt)
		stop = stop || m["type"] == tracker.AlertUnauthorizedStop
	}
	if !before || !stop {
		t.Errorf("review lists %v: want the detour held before the restart (at %v) and the stop after it", held, restartAt)
	}
	e.restart()
	e.check(tr.t.Add(2 * time.Minute))
	e.expect("e5", tracker.AlertEmergencyReview)
}

// A cluster take-over forgets what the rules followed of a vehicle, its emergency windows with
// it; RestoreEmergencies gives them back from the store: the detour held before the take-over
// is in the review, and the stop after it is held, not alerted.
func TestEmergencyWindowRestoredAfterForget(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("e6")}, []tracker.Declaration{emergency(inbound("d-e6", "e6", "port-a"))})
	tr := newTrack("e6", t0, 42.05, 110.0, 54).to(42.005, 110.0, 40).to(41.9, 110.0, 60).to(41.9, 110.04, 40)
	e.submit(tr.fixes...)
	forgotAt := tr.t
	all := func(string) bool { return true }
	e.rules.Forget(all)
	if err := e.rules.RestoreEmergencies(e.ctx, all); err != nil {
		t.Fatal(err)
	}
	tr.fixes = tr.fixes[:0]
	tr.wait(15*time.Minute).to(41.85, 110.04, 40).to(41.85, 110.0, 40).to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.submit(tr.fixes...)
	e.check(tr.t.Add(time.Minute))
	as := e.expect("e6", tracker.AlertEmergencyReview)
	held, _ := evidenceOf(t, as[0])["would_have_alerted"].([]any)
	var before bool
	for _, h := range held {
		m := h.(map[string]any)
		at, _ := time.Parse(time.RFC3339Nano, m["time"].(string))
		before = before || m["type"] == tracker.AlertDetour && at.Before(forgotAt)
	}
	if !before {
		t.Errorf("review lists %v: want the detour held before the take-over", held)
	}
}
