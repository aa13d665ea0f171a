package rules_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// blindUpload plays a terminal that lost its network for fixes[from:to]: the live fixes before,
// the first three after the silence, then the buffer in one upload (oldest first, flagged
// blind-area), then the rest. It returns the buffered fixes.
func (e *env) blindUpload(fixes []tracker.Fix, from, to int) []tracker.Fix {
	e.t.Helper()
	if from < 1 || to <= from || to+3 > len(fixes) {
		e.t.Fatalf("gap [%d, %d) of %d fixes", from, to, len(fixes))
	}
	buffered := slices.Clone(fixes[from:to])
	for i := range buffered {
		buffered[i].Flags = []string{tracker.FlagBlindArea}
	}
	e.submit(fixes[:from]...)
	e.submit(fixes[to : to+3]...)
	e.backfill(buffered)
	e.submit(fixes[to+3:]...)
	return buffered
}

// mark is the number of fixes so far: where the next leg of the track begins.
func (tr *track) mark(i *int) *track {
	*i = len(tr.fixes)
	return tr
}

func TestLateDetourInBlindArea(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ld1")}, []tracker.Declaration{inbound("d-ld1", "ld1", "port-a")})
	var off, back int
	tr := newTrack("ld1", t0, 42.05, 110.0, 31).to(42.005, 110.0, 40).to(41.9, 110.0, 60).mark(&off).
		to(41.9, 110.04, 60).to(41.87, 110.04, 60).to(41.87, 110.0, 60).mark(&back).to(41.80, 110.0, 60).wait(5 * time.Minute)
	from, to := off-6, back+6 // dark from a minute before it leaves the corridor until a minute after it is back
	e.submit(tr.fixes[:from]...)
	e.submit(tr.fixes[to : to+3]...)
	e.expect("ld1") // live, the silence is a straight line down the corridor
	buffered := slices.Clone(tr.fixes[from:to])
	e.backfill(buffered)
	a := e.expect("ld1", tracker.AlertDetour)[0]
	if !a.Late || a.Active || a.DeclarationID == nil || *a.DeclarationID != "d-ld1" {
		t.Errorf("detour %+v: want late, closed, on d-ld1", a)
	}
	if a.Time.Before(buffered[0].Time) || a.Time.After(tr.fixes[off+3].Time) {
		t.Errorf("detour from %s, want as it left the corridor after %s", a.Time, tr.fixes[off].Time)
	}
	m := evidenceOf(t, a)
	if m["max_off_m"].(float64) < 2500 || len(m["late_fixes"].([]any)) < 40 {
		t.Errorf("detour evidence %v: want about 2800 m off, shown by the blind-area fixes", m)
	}
	// The terminal uploads its buffer again (its acknowledgement was lost): still one detour.
	e.backfill(buffered)
	e.submit(tr.fixes[to+3:]...)
	e.check(tr.t.Add(time.Minute))
	e.expect("ld1", tracker.AlertDetour)
}

func TestLateUnauthorizedStopInBlindArea(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ls1")}, []tracker.Declaration{inbound("d-ls1", "ls1", "port-a")})
	var from, stop, to int
	tr := newTrack("ls1", t0, 42.05, 110.0, 32).to(42.005, 110.0, 40).to(41.92, 110.0, 60).mark(&from).
		to(41.9, 110.0, 60).mark(&stop).wait(16*time.Minute).to(41.88, 110.0, 60).mark(&to).to(41.80, 110.0, 60).wait(5 * time.Minute)
	buffered := e.blindUpload(tr.fixes, from, to)
	e.check(tr.t.Add(time.Minute))
	as := e.expect("ls1", tracker.AlertSignalLost, tracker.AlertUnauthorizedStop)
	lost, a := as[0], as[1]
	if !a.Late || a.Active || math.Abs(a.Time.Sub(tr.fixes[stop].Time).Seconds()) > 30 {
		t.Errorf("unauthorized_stop %+v: want late, closed, from %s", a, tr.fixes[stop].Time)
	}
	if m := evidenceOf(t, a); m["duration_s"].(float64) < 15*60 || len(m["late_fixes"].([]any)) < 90 {
		t.Errorf("unauthorized_stop evidence %v: want 16 min shown by the blind-area fixes", m)
	}
	// The silence's alert says how far the truck went while dark: 4.4 km, there and on.
	if m := evidenceOf(t, lost); m["driven_m"] == nil || m["driven_m"].(float64) < 4000 || len(m["late_fixes"].([]any)) != len(buffered) {
		t.Errorf("signal_lost evidence %v: want the distance driven along the %d blind-area fixes", m, len(buffered))
	}
	starts, ends := e.events("ls1", tracker.EventStopStart), e.events("ls1", tracker.EventStopEnd)
	var late []tracker.Event
	for _, ev := range slices.Concat(starts, ends) {
		if ev.Late {
			late = append(late, ev)
		}
	}
	if len(late) != 2 || late[0].Time.Sub(tr.fixes[stop].Time).Abs() > 30*time.Second ||
		late[1].Time.Sub(tr.fixes[stop].Time.Add(16*time.Minute)).Abs() > 30*time.Second {
		t.Errorf("late stop events %+v: want the stop's start and end at their times", late)
	}
}

// A stop that begins while dark and goes on once the signal is back is one stop: long enough
// together, not apart.
func TestLateStopRunsOnPastBlindArea(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ls2")}, []tracker.Declaration{inbound("d-ls2", "ls2", "port-a")})
	var from, stop, to int
	tr := newTrack("ls2", t0, 42.05, 110.0, 35).to(42.005, 110.0, 40).to(41.92, 110.0, 60).mark(&from).
		to(41.9, 110.0, 60).mark(&stop).wait(6*time.Minute).mark(&to).wait(8*time.Minute).to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.blindUpload(tr.fixes, from, to)
	e.check(tr.t.Add(time.Minute))
	a := e.expect("ls2", tracker.AlertUnauthorizedStop)[0]
	if !a.Late || a.Active || a.Time.Sub(tr.fixes[stop].Time).Abs() > 30*time.Second {
		t.Errorf("unauthorized_stop %+v: want late, closed, from %s", a, tr.fixes[stop].Time)
	}
	// One start for the roadside stop, reported late, and one for the yard.
	if starts := e.events("ls2", tracker.EventStopStart); len(starts) != 2 || !starts[0].Late || starts[1].Late {
		t.Errorf("stop_start events %+v: want the roadside one late, the yard one live", starts)
	}
}

// A truck visits the yard while dark and comes back out the way it went in: the visit is
// recorded at its times, late, and raises nothing.
func TestLateYardVisitInBlindArea(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ly1")}, nil)
	var from, to int
	tr := newTrack("ly1", t0, 41.80, 110.10, 33).to(41.80, 110.05, 60).mark(&from).
		to(41.80, 110.0, 40).wait(8*time.Minute).to(41.80, 110.05, 40).mark(&to).to(41.80, 110.10, 60)
	buffered := e.blindUpload(tr.fixes, from, to)
	e.check(tr.t.Add(time.Minute))
	e.expect("ly1")
	inYard := func(f tracker.Fix) bool { return f.Lat > 41.79 && f.Lat < 41.81 && f.Lon > 109.99 && f.Lon < 110.01 }
	in := slices.IndexFunc(buffered, inYard)
	out := in + slices.IndexFunc(buffered[in:], func(f tracker.Fix) bool { return !inYard(f) })
	enters, exits := e.events("ly1", tracker.EventZoneEnter), e.events("ly1", tracker.EventZoneExit)
	if len(enters) != 1 || len(exits) != 1 {
		t.Fatalf("zone events %+v %+v, want one enter and one exit", enters, exits)
	}
	if ev := enters[0]; ev.ZoneID != "yard-a" || !ev.Late || !ev.Time.Equal(buffered[in].Time) {
		t.Errorf("enter %+v: want late, yard-a, at %s", ev, buffered[in].Time)
	}
	if ev := exits[0]; ev.ZoneID != "yard-a" || !ev.Late || !ev.Time.Equal(buffered[out].Time) {
		t.Errorf("exit %+v: want late, yard-a, at %s", ev, buffered[out].Time)
	}
	if starts := e.events("ly1", tracker.EventStopStart); len(starts) != 1 || !starts[0].Late || starts[0].Attrs["stop_allowed"] != true {
		t.Errorf("stop_start events %+v: want one, late, where stopping is allowed", starts)
	}
}

// Blind-area uploads of vehicles doing nothing of interest: standing in the port's queue with
// GPS noise of 20 m, and standing on a declaration-free truck's roadside.
func TestLateNoiseOnlyBackfill(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ln1"), truck("ln2")}, []tracker.Declaration{inbound("d-ln1", "ln1", "port-a")})
	var q int
	queue := newTrack("ln1", t0, 42.05, 110.0, 34).to(42.005, 110.0, 40).mark(&q)
	queue.sigma = 20
	queue.wait(25*time.Minute).to(41.985, 110.0, 20).to(41.80, 110.0, 60).wait(10 * time.Minute)
	road := newTrack("ln2", t0, 41.6, 110.3, 36)
	road.sigma = 20
	road.wait(30 * time.Minute)
	e.blindUpload(queue.fixes, q+10, q+82)
	e.blindUpload(road.fixes, 30, 102)
	e.check(queue.t.Add(time.Minute))
	e.expect("ln1")
	e.expect("ln2")
	for _, id := range []string{"ln1", "ln2"} {
		evs, err := e.store.Events(e.ctx, tracker.EventQuery{VehicleID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Late {
				t.Errorf("%s: late event %+v from noise", id, ev)
			}
		}
	}
}

// An inbound trip whose port queue and arrival in the yard both fall in blind areas raises
// nothing, and its stops are reported once each.
func TestLateNormalTripWithBackfill(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("lq1")}, []tracker.Declaration{inbound("d-lq1", "lq1", "port-a")})
	var a, b, c, d int
	tr := newTrack("lq1", t0, 42.05, 110.0, 37).to(42.01, 110.0, 40).mark(&a).to(42.005, 110.0, 40).wait(6*time.Minute).
		to(41.99, 110.0, 20).mark(&b).to(41.83, 110.0, 60).mark(&c).to(41.80, 110.0, 40).wait(6 * time.Minute).mark(&d).wait(20 * time.Minute)
	e.submit(tr.fixes[:a]...)
	e.submit(tr.fixes[b : b+3]...)
	e.backfill(tr.fixes[a:b])
	e.submit(tr.fixes[b+3 : c]...)
	e.submit(tr.fixes[d : d+3]...)
	e.backfill(tr.fixes[c:d])
	e.submit(tr.fixes[d+3:]...)
	e.check(tr.t.Add(time.Minute))
	e.expect("lq1")
	if decl, err := e.store.Declaration(e.ctx, "d-lq1"); err != nil || decl.Status != tracker.DeclarationCompleted {
		t.Errorf("d-lq1: %s %v, want completed", decl.Status, err)
	}
	if n := len(e.events("lq1", tracker.EventStopStart)); n != 2 {
		t.Errorf("%d stop_start events, want 2 (queue and yard)", n)
	}
	if n := len(e.events("lq1", tracker.EventStopEnd)); n != 1 {
		t.Errorf("%d stop_end events, want 1 (the queue)", n)
	}
	crosses := e.events("lq1", tracker.EventBorderCross)
	if len(crosses) != 1 || crosses[0].Attrs["port_zone_id"] != "port-a" {
		t.Errorf("border crossings %+v, want one at port-a", crosses)
	}
}

// Two trucks meet in the desert while one of them is dark: the meeting is found once its
// buffer arrives, and is late.
func TestLateMeetingInBlindArea(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("lm1"), truck("lm2")}, nil)
	var from, to int
	dark := newTrack("lm1", t0, 41.6, 110.3, 38).to(41.68, 110.3, 60).mark(&from).to(41.7, 110.3, 60).
		wait(15*time.Minute).to(41.72, 110.3, 60).mark(&to).to(41.8, 110.3, 60)
	host := newTrack("lm2", t0.Add(2*time.Minute), 41.7, 110.4, 39).to(41.7005, 110.3, 60).wait(14*time.Minute).to(41.7, 110.4, 60)
	buffered := slices.Clone(dark.fixes[from:to])
	live := slices.Concat(dark.fixes[:from], dark.fixes[to:to+3], host.fixes)
	slices.SortStableFunc(live, func(x, y tracker.Fix) int { return x.Time.Compare(y.Time) })
	for _, f := range live {
		e.submit(f)
		if f.Time.Second() == 0 {
			e.check(f.Time)
		}
	}
	if as := e.alerts(""); len(as) != 0 {
		t.Fatalf("alerts %+v before the upload, want none", as)
	}
	e.backfill(buffered)
	e.submit(dark.fixes[to+3:]...)
	e.check(dark.t)
	as := e.alerts("")
	if len(as) != 1 || as[0].Type != tracker.AlertMeeting || !as[0].Late {
		t.Fatalf("alerts %+v, want one late meeting of lm1 and lm2", as)
	}
	e.check(dark.t.Add(time.Minute))
	if as := e.alerts(""); len(as) != 1 {
		t.Errorf("%d alerts after another check, want the one meeting", len(as))
	}
}

// A stretch off the corridor that begins while dark and goes on after the signal is back is
// one detour: too short on either side of the silence alone, long enough together.
func TestLateDetourRunsOnPastBlindArea(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("lx1"), truck("lx2")},
		[]tracker.Declaration{inbound("d-lx1", "lx1", "port-a"), inbound("d-lx2", "lx2", "port-a")})
	var turn, south int
	trip := func(id string) *track {
		return newTrack(id, t0, 42.05, 110.0, 40).to(42.005, 110.0, 40).to(41.9, 110.0, 60).mark(&turn).
			to(41.9, 110.015, 40).mark(&south).to(41.895, 110.015, 40).to(41.895, 110.0, 40).to(41.80, 110.0, 60).wait(5 * time.Minute)
	}
	filled, unfilled := trip("lx1"), trip("lx2")
	from, to := turn-6, south+4 // dark from a minute before the turn until 40 s into the stretch south
	e.blindUpload(filled.fixes, from, to)
	// lx2's buffer never arrives: live, the silence is followed by some 80 s off the corridor.
	e.submit(unfilled.fixes[:from]...)
	e.submit(unfilled.fixes[to:]...)
	e.check(filled.t.Add(time.Minute))
	e.expect("lx2")
	a := e.expect("lx1", tracker.AlertDetour)[0]
	if !a.Late || a.Active || !a.Time.After(filled.fixes[from].Time) || !a.Time.Before(filled.fixes[to].Time) {
		t.Errorf("detour %+v: want late, closed, begun while dark (%s – %s)", a, filled.fixes[from].Time, filled.fixes[to].Time)
	}
}

// thin drops fixes so that they come every 10 to 30 s (seeded), as a terminal reporting by
// distance and time does.
func thin(fixes []tracker.Fix, seed uint64) []tracker.Fix {
	rnd := rand.New(rand.NewPCG(seed, 3))
	var out []tracker.Fix
	for i := 0; i < len(fixes); i += 1 + rnd.IntN(3) {
		out = append(out, fixes[i])
	}
	return out
}

// A smuggler shields the terminal 50 m short of the border, 30 km from any port, crosses into
// China, comes back and drives on in Mongolia for more than an hour before the terminal
// uploads its blind-area buffer. Live, the silence starts and ends in Mongolia. The upload
// places the crossing between the fix before the silence and the first buffered fix: the
// history must still hold that fix an hour on, whatever the driving since.
func TestLateCrossingAnHourAfterSilence(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("lh1")}, nil)
	var from, to int
	tr := newTrack("lh1", t0, 42.06, 110.3, 41).to(42.0005, 110.3, 40).mark(&from).
		to(41.95, 110.3, 40).wait(20*time.Minute).to(42.03, 110.3, 40).mark(&to).
		to(42.3, 110.3, 50).to(42.03, 110.32, 50)
	live := slices.Concat(tr.fixes[:from], thin(tr.fixes[to:], 41))
	buffered := slices.Clone(tr.fixes[from:to])
	if d := buffered[len(buffered)-1].Time.Sub(buffered[0].Time); d < 30*time.Minute {
		t.Fatalf("silence of %s, want over half an hour", d)
	}
	if d := live[len(live)-1].Time.Sub(tr.fixes[to].Time); d < time.Hour {
		t.Fatalf("%s of driving after the silence, want over an hour", d)
	}
	for i := range buffered {
		buffered[i].Flags = []string{tracker.FlagBlindArea}
	}
	e.submit(live...)
	if cs := e.events("lh1", tracker.EventBorderCross); len(cs) != 0 {
		t.Fatalf("live crossings %+v, want none", cs)
	}
	e.backfill(buffered)
	var in, out []tracker.Event
	for _, ev := range e.events("lh1", tracker.EventBorderCross) {
		switch {
		case !ev.Late || ev.Attrs["port_zone_id"] != nil:
			t.Errorf("crossing %+v: want late, outside a port", ev)
		case ev.Attrs["direction"] == "inbound":
			in = append(in, ev)
		default:
			out = append(out, ev)
		}
	}
	// The way back is recorded when the first fix in China is placed, on the segment from it
	// across the rest of the silence; the fixes after it refine the alert, not the event.
	if len(in) != 1 || len(out) != 1 || in[0].Time.Before(tr.fixes[from-1].Time) || in[0].Time.After(buffered[0].Time) {
		t.Fatalf("late crossings in %+v out %+v: want one into China as the silence began (%s to %s), one back",
			in, out, tr.fixes[from-1].Time, buffered[0].Time)
	}
	as := e.expect("lh1", tracker.AlertBorderCrossingOutsidePort, tracker.AlertBorderCrossingOutsidePort)
	if a := as[0]; !a.Late || a.Time.Before(tr.fixes[from-1].Time) || a.Time.After(buffered[0].Time) || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want late, at 42N as the silence began", a)
	}
}

// The smuggler's terminal then goes dark again and again, a little more than two minutes each
// time, to push the long silence out of what the rules keep before uploading its buffer: the
// crossing into China is still placed at the start of the long silence.
func TestLateCrossingAfterManyShortSilences(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("lh2")}, nil)
	var from, to int
	tr := newTrack("lh2", t0, 42.06, 110.3, 42).to(42.0005, 110.3, 40).mark(&from).
		to(41.95, 110.3, 40).wait(20*time.Minute).to(42.03, 110.3, 40).mark(&to).
		to(42.3, 110.3, 50).to(42.03, 110.32, 50).to(42.3, 110.34, 50)
	buffered := slices.Clone(tr.fixes[from:to])
	for i := range buffered {
		buffered[i].Flags = []string{tracker.FlagBlindArea}
	}
	// After the silence: a minute of fixes, then 150 s dark, 24 times over and more.
	live := slices.Clone(tr.fixes[:from])
	for i := to; i < len(tr.fixes); i++ {
		if d := tr.fixes[i].Time.Sub(tr.fixes[to].Time) % (210 * time.Second); d < time.Minute {
			live = append(live, tr.fixes[i])
		}
	}
	if n := len(live) - from; n < 24*6 {
		t.Fatalf("%d fixes after the silence, want 24 bursts of 6", n)
	}
	e.submit(live...)
	e.backfill(buffered)
	var in []tracker.Event
	for _, ev := range e.events("lh2", tracker.EventBorderCross) {
		if ev.Late && ev.Attrs["direction"] == "inbound" && ev.Attrs["port_zone_id"] == nil {
			in = append(in, ev)
		}
	}
	if len(in) != 1 || in[0].Time.Before(tr.fixes[from-1].Time) || in[0].Time.After(buffered[0].Time) {
		t.Fatalf("late crossings into China %+v: want one as the silence began (%s to %s)", in, tr.fixes[from-1].Time, buffered[0].Time)
	}
	as := e.expect("lh2", tracker.AlertBorderCrossingOutsidePort, tracker.AlertBorderCrossingOutsidePort)
	if a := as[0]; !a.Late || a.Time.Before(tr.fixes[from-1].Time) || a.Time.After(buffered[0].Time) || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want late, at 42N as the silence began", a)
	}
}

// A truck on its corridor goes dark for 20 minutes and stops on the roadside, then its terminal
// goes dark for 150 s at a time, again and again, in the yard before uploading its buffer: the
// stop is still replayed from the long silence and raised late.
func TestLateStopAfterManyShortSilences(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("ls3")}, []tracker.Declaration{inbound("d-ls3", "ls3", "port-a")})
	var from, stop, to int
	tr := newTrack("ls3", t0, 42.05, 110.0, 43).to(42.005, 110.0, 40).to(41.92, 110.0, 60).mark(&from).
		to(41.9, 110.0, 60).mark(&stop).wait(16*time.Minute).to(41.88, 110.0, 60).mark(&to).to(41.80, 110.0, 60).wait(50 * time.Minute)
	buffered := slices.Clone(tr.fixes[from:to])
	for i := range buffered {
		buffered[i].Flags = []string{tracker.FlagBlindArea}
	}
	live := slices.Clone(tr.fixes[:from])
	for i := to; i < len(tr.fixes); i++ {
		if d := tr.fixes[i].Time.Sub(tr.fixes[to].Time) % (210 * time.Second); d < time.Minute {
			live = append(live, tr.fixes[i])
		}
	}
	e.submit(live...)
	e.backfill(buffered)
	e.check(tr.t.Add(time.Minute))
	as := e.expect("ls3", tracker.AlertSignalLost, tracker.AlertUnauthorizedStop)
	if a := as[1]; !a.Late || a.Active || a.Time.Sub(tr.fixes[stop].Time).Abs() > 30*time.Second {
		t.Errorf("unauthorized_stop %+v: want late, closed, from %s", a, tr.fixes[stop].Time)
	}
}
