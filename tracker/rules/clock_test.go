package rules_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// forged is a frame of the vehicle's device dated ahead of the server clock (a spoofed JT/T 808
// or OsmAnd report, or a terminal with a bad clock), at the vehicle's last real position.
func forged(f tracker.Fix, ahead time.Duration) tracker.Fix {
	f.Time = f.Time.Add(ahead)
	f.Flags = nil
	return f
}

// clockAheadTrip drives ca1 from Mongolia across the border east of the ports, 50 km/h:
// it crosses the line about 6 minutes after the start.
func clockAheadTrip() *track {
	return newTrack("ca1", t0, 42.05, 110.3, 11).to(41.95, 110.3, 50).to(41.9, 110.3, 50)
}

// expectLiveCrossing asserts that the crossing outside a port was raised live, at the line.
func expectLiveCrossing(t *testing.T, e *env) {
	t.Helper()
	a := e.expect("ca1", tracker.AlertBorderCrossingOutsidePort)[0]
	if a.Late || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want raised live (not late) at the line", a)
	}
}

// One frame dated 9 minutes ahead must not turn the real fixes after it late: the crossing
// they show minutes later is raised live. The frame is stored, flagged, as evidence.
func TestClockAheadFixSuppressesNoLiveAlert(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	e.submit(tr.fixes[:20]...)
	bad := forged(tr.fixes[19], 9*time.Minute+3*time.Second)
	if err := e.pipe.Submit(e.ctx, []tracker.Fix{bad}); err != nil {
		t.Fatal(err)
	}
	// The terminal resends it (no acknowledgement came through): a retransmission, not stored again.
	if err := e.pipe.Submit(e.ctx, []tracker.Fix{bad}); err != nil {
		t.Fatal(err)
	}
	e.submit(tr.fixes[20:]...)
	expectLiveCrossing(t, e)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ahead []tracker.Fix
	for _, f := range fixes {
		if f.Late {
			t.Errorf("real fix at %s stored late", f.Time.Format(time.TimeOnly))
		}
		if f.Time.Equal(bad.Time) {
			ahead = append(ahead, f)
		}
	}
	if len(ahead) != 1 || !slices.Contains(ahead[0].Flags, tracker.FlagClockAhead) {
		t.Errorf("stored reports of the forged time: %+v, want one flagged %q", ahead, tracker.FlagClockAhead)
	}
	if len(fixes) != len(tr.fixes)+1 {
		t.Errorf("%d fixes stored, want the %d real ones and the forged one", len(fixes), len(tr.fixes))
	}
	latest, err := e.store.LatestFixes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || !latest[0].Time.Equal(tr.last().Time) {
		t.Errorf("latest fixes %+v, want the last real one", latest)
	}
}

// A forged frame every minute, each dated 9 minutes ahead, suppresses nothing.
func TestClockAheadFixesEveryMinute(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	for i, f := range tr.fixes {
		e.submit(f)
		if i%6 == 0 {
			if err := e.pipe.Submit(e.ctx, []tracker.Fix{forged(f, 9*time.Minute+3*time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	expectLiveCrossing(t, e)
	for _, ev := range e.events("ca1", tracker.EventBorderCross) {
		if ev.Late {
			t.Errorf("border_cross %+v late", ev)
		}
	}
}

// A fix a few seconds ahead (clock skew) is the vehicle's newest like any other: live, unflagged.
func TestFixSlightlyAheadIsLive(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	for _, f := range tr.fixes {
		e.setClock(f.Time.Add(-5 * time.Second))
		if err := e.pipe.Submit(e.ctx, []tracker.Fix{f}); err != nil {
			t.Fatal(err)
		}
	}
	expectLiveCrossing(t, e)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixes {
		if f.Late || slices.Contains(f.Flags, tracker.FlagClockAhead) {
			t.Errorf("fix %+v: want live and unflagged", f)
		}
	}
}

// An SOS from a terminal whose clock is ahead is still raised: a driver's alarm must not be lost
// to a clock, and a forger who dates one ahead to make the real fixes late is loud (a critical
// alert on the vehicle), not silent.
func TestClockAheadSOSRaised(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	e.submit(tr.fixes[:5]...)
	sos := forged(tr.fixes[4], 2*time.Minute)
	sos.Flags = []string{tracker.FlagSOS}
	if err := e.pipe.Submit(e.ctx, []tracker.Fix{sos}); err != nil {
		t.Fatal(err)
	}
	e.expect("ca1", tracker.AlertSOS)
}
