package rules_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
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

// expectLiveCrossing asserts that the crossing outside a port was raised live, at the line,
// and, if the device's clock was ahead, that this was told once, before it.
func expectLiveCrossing(t *testing.T, e *env, clockAhead bool) {
	t.Helper()
	types := []string{tracker.AlertBorderCrossingOutsidePort}
	if clockAhead {
		types = append([]string{tracker.AlertDeviceClockAhead}, types...)
	}
	as := e.expect("ca1", types...)
	if a := as[len(as)-1]; a.Late || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want raised live (not late) at the line", a)
	}
}

// One frame dated 9 minutes ahead must not turn the real fixes after it late: the crossing
// they show minutes later is raised live. The frame is stored at the time it was received,
// flagged, its device's time kept, and the officer told (device_clock_ahead).
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
	expectLiveCrossing(t, e, true)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ahead []tracker.Fix
	for _, f := range fixes {
		if f.Late {
			t.Errorf("real fix at %s stored late", f.Time.Format(time.TimeOnly))
		}
		if f.Attrs[tracker.AttrDeviceTime] == bad.Time.Format(time.RFC3339Nano) {
			ahead = append(ahead, f)
		}
	}
	if len(ahead) != 1 || !slices.Contains(ahead[0].Flags, tracker.FlagRetimed) || !ahead[0].Time.Equal(tr.fixes[19].Time) {
		t.Errorf("stored reports of the forged time: %+v, want one flagged %q at its receipt", ahead, tracker.FlagRetimed)
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
	expectLiveCrossing(t, e, true)
	for _, ev := range e.events("ca1", tracker.EventBorderCross) {
		if ev.Late {
			t.Errorf("border_cross %+v late", ev)
		}
	}
}

// A terminal whose clock is always ahead goes on being ahead across a restart of the server:
// one episode, one device_clock_ahead, and the crossing still raised live. Its episode lived
// only in memory, and the restarted server raised a second alert for the same clock.
func TestClockAheadEpisodeSurvivesRestart(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	send := func(fixes []tracker.Fix) {
		for _, f := range fixes {
			e.setClock(f.Time)
			if err := e.pipe.Submit(e.ctx, []tracker.Fix{forged(f, 9*time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(tr.fixes[:15])
	e.expect("ca1", tracker.AlertDeviceClockAhead)
	e.restart()
	send(tr.fixes[15:])
	expectLiveCrossing(t, e, true)

	// Back within the tolerance for clockAheadQuiet (10 min), then ahead again after another
	// restart: a new episode, told again.
	e.restart()
	for _, f := range newTrack("ca1", tr.t.Add(time.Minute), 41.9, 110.3, 12).to(41.85, 110.3, 30).fixes {
		e.submit(f)
	}
	e.restart()
	send(newTrack("ca1", e.now().Add(time.Minute), 41.85, 110.3, 13).to(41.84, 110.3, 30).fixes)
	e.expect("ca1", tracker.AlertDeviceClockAhead, tracker.AlertBorderCrossingOutsidePort, tracker.AlertDeviceClockAhead)
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
	expectLiveCrossing(t, e, false)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixes {
		if f.Late || slices.Contains(f.Flags, tracker.FlagRetimed) {
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
	expectAlertsInAnyOrder(t, e, tracker.AlertDeviceClockAhead, tracker.AlertSOS)
	// Evaluated as of its receipt, it makes none of the real fixes after it late.
	e.submit(tr.fixes[5:]...)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixes {
		if f.Late {
			t.Errorf("fix at %s stored late", f.Time.Format(time.TimeOnly))
		}
	}
}

// expectAlertsInAnyOrder asserts ca1's alerts, of the same time or raised out of order, by type
// (types sorted), and returns them likewise sorted.
func expectAlertsInAnyOrder(t *testing.T, e *env, types ...string) []tracker.Alert {
	t.Helper()
	as := e.alerts("ca1")
	slices.SortStableFunc(as, func(a, b tracker.Alert) int { return strings.Compare(a.Type, b.Type) })
	got := make([]string, len(as))
	for i, a := range as {
		got[i] = a.Type
	}
	if !slices.Equal(got, types) {
		t.Fatalf("alerts %v, want %v", got, types)
	}
	return as
}

// aheadTrip submits the clock-ahead trip from a terminal whose clock is always ahead by lead,
// each fix as it happens (the server clock at its real time).
func aheadTrip(e *env, tr *track, lead time.Duration) {
	e.t.Helper()
	for _, f := range tr.fixes {
		e.setClock(f.Time)
		f.Time = f.Time.Add(lead)
		if err := e.pipe.Submit(e.ctx, []tracker.Fix{f}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// expectRetimedTrack asserts that every fix of tr was stored once at its real time (the time it
// was received), live, flagged, with the time its device claimed (lead ahead) as evidence, and
// that the vehicle's newest fix, on the map, is its last real one.
func expectRetimedTrack(t *testing.T, e *env, tr *track, lead time.Duration) {
	t.Helper()
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixes) != len(tr.fixes) {
		t.Fatalf("%d fixes stored, want %d", len(fixes), len(tr.fixes))
	}
	for i, f := range fixes {
		claimed := tr.fixes[i].Time.Add(lead).Format(time.RFC3339Nano)
		if f.Late || !f.Time.Equal(tr.fixes[i].Time) || !slices.Contains(f.Flags, tracker.FlagRetimed) || f.Attrs[tracker.AttrDeviceTime] != claimed {
			t.Fatalf("fix %d stored as %+v, want live at %s, flagged %q, device time %s", i, f, tr.fixes[i].Time, tracker.FlagRetimed, claimed)
		}
	}
	latest, err := e.store.LatestFixes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || !latest[0].Time.Equal(tr.last().Time) {
		t.Errorf("latest fixes %+v, want the last one at %s", latest, tr.last().Time)
	}
}

// alwaysAhead drives the clock-ahead trip from a terminal always lead ahead and asserts what
// every such terminal gets: the crossing live, the track at the real times with the claimed
// ones kept, and one device_clock_ahead telling the device, its claimed time and the lead.
func alwaysAhead(t *testing.T, lead time.Duration) tracker.Alert {
	t.Helper()
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	aheadTrip(e, tr, lead)
	expectLiveCrossing(t, e, true)
	expectRetimedTrack(t, e, tr, lead)
	a := e.alerts("ca1")[0]
	var ev struct {
		DeviceID   string    `json:"device_id"`
		DeviceTime time.Time `json:"device_time"`
		AheadS     int64     `json:"ahead_s"`
	}
	if err := json.Unmarshal(a.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if a.Severity != tracker.SeverityWarning || ev.AheadS != int64(lead/time.Second) || ev.DeviceID != tr.fixes[0].DeviceID || !ev.DeviceTime.Equal(t0.Add(lead)) {
		t.Errorf("device_clock_ahead %+v evidence %s: want a warning, %s ahead, the device and its time", a, a.Evidence, lead)
	}
	return a
}

// A terminal whose clock is always 2 minutes ahead was never evaluated (every fix evidence
// only): it crossed the border outside a port unseen, shown only as signal_lost. Its fixes now
// count as of their receipt: the crossing is raised live, and its clock told once.
func TestClockAlwaysAheadCrossingRaised(t *testing.T) {
	alwaysAhead(t, 2*time.Minute)
}

// A terminal 20 minutes ahead was refused outright (future_time): the vehicle vanished. It is
// now evaluated like one a little ahead, and its officer told how far.
func TestClockFarAheadNotLost(t *testing.T) {
	if a := alwaysAhead(t, 20*time.Minute); !strings.Contains(a.Message, "20m0s ahead") {
		t.Errorf("device_clock_ahead message %q: want how far ahead", a.Message)
	}
}

// Resends of a fix from ahead are known by the time the device claimed, whenever they come:
// while in flight, after it was acknowledged, minutes later (the server clock nearer its
// time), and after a restart. Placed at their own receipt they would each be a new fix.
func TestClockAheadResendsAreDuplicates(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	aheadTrip(e, tr, 2*time.Minute)
	last := tr.last()
	last.Time = last.Time.Add(2 * time.Minute)
	resend := func() {
		t.Helper()
		if err := e.pipe.Submit(e.ctx, []tracker.Fix{last}); err != nil {
			t.Fatal(err)
		}
	}
	resend()
	e.setClock(tr.last().Time.Add(90 * time.Second)) // the claimed time now within the tolerance
	resend()
	e.restart()
	latest, err := e.store.LatestFixes(e.ctx) // as the server seeds its pipeline
	if err != nil {
		t.Fatal(err)
	}
	e.pipe.Seed(latest)
	resend()
	e.setClock(tr.last().Time.Add(5 * time.Minute)) // now in the past
	resend()
	expectRetimedTrack(t, e, tr, 2*time.Minute)
	e.expect("ca1", tracker.AlertDeviceClockAhead, tracker.AlertBorderCrossingOutsidePort)
}

// One episode, one alert: the terminal's clock set right for longer than the quiet period ends
// it, and a lead after that is told again.
func TestClockAheadOneAlertPerEpisode(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := newTrack("ca1", t0, 42.3, 110.3, 12).to(42.2, 110.3, 40).to(42.1, 110.3, 40)
	n := len(tr.fixes)
	aheadTrip(e, &track{fixes: tr.fixes[:n/3]}, time.Minute)
	e.submit(tr.fixes[n/3 : 2*n/3]...) // right again, longer than the quiet period
	if d := tr.fixes[2*n/3-1].Time.Sub(tr.fixes[n/3].Time); d < 11*time.Minute {
		t.Fatalf("the clock right for %s only", d)
	}
	aheadTrip(e, &track{fixes: tr.fixes[2*n/3:]}, time.Minute)
	e.expect("ca1", tracker.AlertDeviceClockAhead, tracker.AlertDeviceClockAhead)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fixes {
		if f.Late || !f.Time.Equal(tr.fixes[i].Time) {
			t.Errorf("fix %d at %s late=%v, want live at %s", i, f.Time, f.Late, tr.fixes[i].Time)
		}
	}
}

// An SOS re-sent by a terminal ahead with the time of a fix it had sent (the same position,
// an alarm added), after a restart and once the server clock has passed that time, is merged
// with that fix's record and evaluated: the SOS is raised, and the merged record is placed at
// its receipt with the claimed time, flagged once (its flag and time agree).
func TestClockAheadAlarmResentWithSameTime(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	aheadTrip(e, &track{fixes: tr.fixes[:10]}, 2*time.Minute)
	sos := tr.fixes[9]
	sos.Time = sos.Time.Add(2 * time.Minute)
	sos.Flags = []string{tracker.FlagSOS}
	// After a restart, its claimed time in the past by now: the stored record is the one known.
	e.restart()
	latest, err := e.store.LatestFixes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.pipe.Seed(latest)
	e.setClock(tr.fixes[9].Time.Add(3 * time.Minute))
	if err := e.pipe.Submit(e.ctx, []tracker.Fix{sos}); err != nil {
		t.Fatal(err)
	}
	e.expect("ca1", tracker.AlertDeviceClockAhead, tracker.AlertSOS)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := fixes[len(fixes)-1]
	var retimed int
	for _, fl := range got.Flags {
		if fl == tracker.FlagRetimed {
			retimed++
		}
	}
	if len(fixes) != 11 || !slices.Contains(got.Flags, tracker.FlagSOS) || retimed != 1 || got.Late ||
		!got.Time.Equal(tr.fixes[9].Time.Add(3*time.Minute)) || got.Attrs[tracker.AttrDeviceTime] != sos.Time.Format(time.RFC3339Nano) {
		t.Errorf("%d fixes, the last %+v: want the SOS merged, placed at its receipt with its claimed time", len(fixes), got)
	}
}

// A terminal 2 minutes ahead uploads its blind-area buffer (one submission, device-time order)
// after 5 minutes dark: every fix is stored, those dated ahead of the server clock placed back
// from the upload's receipt with their spacing kept (all at the receipt, they would be jumps of
// kilometres in no time), none late, and the clock told once.
func TestClockAheadBlindAreaUpload(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	aheadTrip(e, &track{fixes: tr.fixes[:6]}, 2*time.Minute)
	buffered := slices.Clone(tr.fixes[6:36]) // 5 minutes dark, 10 s apart
	for i := range buffered {
		buffered[i].Time = buffered[i].Time.Add(2 * time.Minute)
		buffered[i].Flags = []string{tracker.FlagBlindArea}
	}
	e.setClock(tr.fixes[35].Time.Add(time.Second))
	e.backfill(buffered)
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixes) != 36 {
		t.Fatalf("%d fixes stored, want 36", len(fixes))
	}
	var retimed []tracker.Fix
	for _, f := range fixes {
		if f.Late || slices.Contains(f.Flags, tracker.FlagJump) {
			t.Errorf("fix %+v: want live, no jump", f)
		}
		if slices.Contains(f.Flags, tracker.FlagRetimed) && slices.Contains(f.Flags, tracker.FlagBlindArea) {
			retimed = append(retimed, f)
		}
	}
	if len(retimed) < 2 {
		t.Fatalf("%d buffered fixes placed at the receipt, want those dated ahead of it", len(retimed))
	}
	for i := 1; i < len(retimed); i++ {
		if d := retimed[i].Time.Sub(retimed[i-1].Time); d != 10*time.Second {
			t.Errorf("retimed buffered fixes %d, %d %s apart, want 10 s", i-1, i, d)
		}
	}
	if last := retimed[len(retimed)-1]; !last.Time.Equal(tr.fixes[35].Time.Add(time.Second)) {
		t.Errorf("newest buffered fix at %s, want at the upload's receipt", last.Time)
	}
	as := e.alerts("ca1")
	if len(as) != 1 || as[0].Type != tracker.AlertDeviceClockAhead {
		t.Errorf("alerts %+v, want one device_clock_ahead", as)
	}
}

// A frame dated millennia ahead (a glitch, or a forgery) in one upload with real fixes from a
// clock that is right moves none of them: only it is placed at the receipt. Moved back by its
// lead, the real fixes would fall out of the live rules; the crossing they show is raised live.
func TestClockFarFutureFrameAmongRealFixes(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ca1")}, nil)
	tr := clockAheadTrip()
	e.submit(tr.fixes[:20]...)
	upload := slices.Clone(tr.fixes[20:60])
	glitch := forged(upload[len(upload)-1], 0)
	glitch.Time = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	upload = append(upload, glitch)
	e.setClock(tr.fixes[59].Time)
	e.backfill(upload)
	e.submit(tr.fixes[60:]...)
	as := expectAlertsInAnyOrder(t, e, tracker.AlertBorderCrossingOutsidePort, tracker.AlertDeviceClockAhead)
	if a := as[0]; a.Late || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want raised live (not late) at the line", a)
	}
	fixes, err := e.store.Track(e.ctx, "ca1", t0, tr.t.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixes) != len(tr.fixes)+1 {
		t.Fatalf("%d fixes stored, want %d", len(fixes), len(tr.fixes)+1)
	}
	var retimed int
	for _, f := range fixes {
		if f.Late {
			t.Errorf("fix at %s stored late", f.Time.Format(time.TimeOnly))
		}
		if slices.Contains(f.Flags, tracker.FlagRetimed) {
			retimed++
			if f.Attrs[tracker.AttrDeviceTime] != glitch.Time.Format(time.RFC3339Nano) || !f.Time.Equal(tr.fixes[59].Time) {
				t.Errorf("retimed %+v, want only the glitch, at the upload's receipt", f)
			}
		}
	}
	if retimed != 1 {
		t.Errorf("%d fixes retimed, want the glitch alone", retimed)
	}
}
