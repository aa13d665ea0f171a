package rules

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestLateFixesKeepHistoryBounded: late fixes placed into a full history (a blind-area upload
// filling it in between its live fixes) trim it as live ones do; inserting into the full array
// doubled it, and trimming kept the doubled array for as long as the vehicle existed.
func TestLateFixesKeepHistoryBounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	e := New(Config{Engine: geofence.NewEmbedded(geofence.Options{}), Now: func() time.Time { return t0 }})
	vs := e.vehicles.Get("v")
	fix := func(k int, late bool) *tracker.Fix {
		return &tracker.Fix{VehicleID: "v", DeviceID: "v", Time: t0.Add(time.Duration(k) * 10 * time.Second),
			Lat: 43 + float64(k)*1e-4, Lon: 111, Valid: true, Late: late}
	}
	evaluate := func(f *tracker.Fix) {
		var out tracker.Outcome
		vs.Lock()
		defer vs.Unlock()
		if err := vs.Evaluate(ctx, f, &out); err != nil {
			t.Fatal(err)
		}
	}
	n := e.cfg.History
	for k := 0; k < 4*n; k += 2 {
		evaluate(fix(k, false))
	}
	for k := 4*n - 3; k > 0; k -= 2 {
		evaluate(fix(k, true))
		// A late fix older than the fixes kept, a silence after it, is a gap edge kept besides.
		limit := n + int(vs.histEdges)
		if len(vs.history) > limit || cap(vs.history) > limit {
			t.Fatalf("after the late fix %d: %d fixes in an array of %d, want at most %d (edges %d)", k, len(vs.history), cap(vs.history), limit, vs.histEdges)
		}
	}
	for i := 1; i < len(vs.history); i++ {
		if vs.history[i-1].t >= vs.history[i].t {
			t.Fatalf("history out of order at %d: %v", i, vs.history)
		}
	}
	if got := vs.history[len(vs.history)-1].at(); !got.Equal(fix(4*n-2, false).Time) {
		t.Errorf("newest fix in the history %v, want the newest live fix %v", got, fix(4*n-2, false).Time)
	}
}

// TestHistoryHoldsExactlyHistory: the recent fixes kept to place late ones are the newest
// History and the edges of silences, in an array of exactly that many however many fixes
// came (512 bytes for the default 32, a size class of its own; trimming only every History/8
// fixes took 576); the edges of a silence stay once History newer fixes came, for the
// blind-area upload that may fill it hours later; and a late fix placed in the silence is kept
// with them.
func TestHistoryHoldsExactlyHistory(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	e := New(Config{Engine: geofence.NewEmbedded(geofence.Options{}), Now: func() time.Time { return t0 }})
	vs := e.vehicles.Get("v")
	fix := func(k int, late bool) *tracker.Fix {
		return &tracker.Fix{VehicleID: "v", DeviceID: "v", Time: t0.Add(time.Duration(k) * 10 * time.Second),
			Lat: 43 + float64(k)*1e-4, Lon: 111, Valid: true, Late: late}
	}
	evaluate := func(f *tracker.Fix) {
		t.Helper()
		var out tracker.Outcome
		vs.Lock()
		defer vs.Unlock()
		if err := vs.Evaluate(ctx, f, &out); err != nil {
			t.Fatal(err)
		}
	}
	times := func() []time.Time {
		var ts []time.Time
		for i := range vs.history {
			ts = append(ts, vs.history[i].at())
		}
		return ts
	}
	n := e.cfg.History
	k := 0
	for ; k < 3*n; k++ {
		evaluate(fix(k, false))
		if len(vs.history) > n || cap(vs.history) > n {
			t.Fatalf("after fix %d: %d fixes in an array of %d, want at most %d", k, len(vs.history), cap(vs.history), n)
		}
	}
	if len(vs.history) != n || cap(vs.history) != n {
		t.Fatalf("after %d fixes: %d fixes in an array of %d, want %d in %d", k, len(vs.history), cap(vs.history), n, n)
	}
	for i, at := range times() {
		if want := fix(k-n+i, false).Time; !at.Equal(want) {
			t.Fatalf("history[%d] is the fix of %v, want the newest %d fixes (%v)", i, at, n, want)
		}
	}

	// Ten minutes of silence, then History and more fixes: the fixes on both sides of it stay.
	before := k - 1
	k += 60
	after := k
	for end := k + n + n/2; k < end; k++ {
		evaluate(fix(k, false))
	}
	ts := times()
	if len(ts) != n+int(vs.histEdges) || cap(vs.history) != len(ts) || !ts[0].Equal(fix(before, false).Time) || !ts[1].Equal(fix(after, false).Time) {
		t.Fatalf("after a silence: %d edges, %d fixes in an array of %d, the oldest %v; want the 2 fixes around the silence (%v, %v) and %d more, in an array of as many",
			vs.histEdges, len(ts), cap(vs.history), ts[:2], fix(before, false).Time, fix(after, false).Time, n)
	}

	// A blind-area fix from the silence is placed between its edges, the oldest other fix going.
	evaluate(fix(before+30, true))
	ts = times()
	if !slices.ContainsFunc(ts, func(at time.Time) bool { return at.Equal(fix(before+30, false).Time) }) {
		t.Fatalf("the late fix from the silence is not in the history %v", ts)
	}
	if !slices.IsSortedFunc(ts, time.Time.Compare) || len(ts) > n+int(vs.histEdges) || cap(vs.history) != len(ts) {
		t.Fatalf("after the late fix: %d fixes (sorted %v) in an array of %d, %d edges", len(ts), slices.IsSortedFunc(ts, time.Time.Compare), cap(vs.history), vs.histEdges)
	}
	if !ts[len(ts)-1].Equal(fix(k-1, false).Time) || !ts[len(ts)-n+1].Equal(fix(k-n+1, false).Time) {
		t.Fatalf("after the late fix the newest %d live fixes are not all kept: %v", n-1, ts)
	}
}

// histVehicle is one vehicle of an engine without zones, fed fix by fix as the pipeline does.
type histVehicle struct {
	t  *testing.T
	e  *Engine
	vs *vstate
}

func newHistVehicle(t *testing.T, t0 time.Time) *histVehicle {
	e := New(Config{Engine: geofence.NewEmbedded(geofence.Options{}), Now: func() time.Time { return t0 }})
	return &histVehicle{t: t, e: e, vs: e.vehicles.Get("v")}
}

func (v *histVehicle) evaluate(at time.Time, lat float64, late bool) {
	v.t.Helper()
	var out tracker.Outcome
	v.vs.Lock()
	defer v.vs.Unlock()
	f := &tracker.Fix{VehicleID: "v", DeviceID: "v", Time: at, Lat: lat, Lon: 111, Valid: true, Late: late}
	if err := v.vs.Evaluate(context.Background(), f, &out); err != nil {
		v.t.Fatal(err)
	}
}

// drive sends fixes from at for d, every 10 to 30 s (seeded), and returns the time of the last.
func (v *histVehicle) drive(at time.Time, d time.Duration, seed uint64) time.Time {
	v.t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 2))
	end := at.Add(d)
	for {
		v.evaluate(at, 43+float64(at.Sub(t0hist))/float64(time.Hour)*0.5, false)
		next := at.Add(time.Duration(10+rnd.IntN(21)) * time.Second)
		if next.After(end) {
			return at
		}
		at = next
	}
}

var t0hist = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// edgeTimes are the times of the gap edges at the start of the history.
// expectEdges fails the test unless the kept gap edges are exactly first and last.
func (v *histVehicle) expectEdges(when string, first, last time.Time) {
	v.t.Helper()
	if got := v.edgeTimes(); len(got) != 2 || !got[0].Equal(first) || !got[1].Equal(last) {
		v.t.Fatalf("%s: edges %v, want exactly (%v, %v)", when, got, first, last)
	}
}

func (v *histVehicle) edgeTimes() []time.Time {
	var ts []time.Time
	for i := range v.vs.histEdges {
		ts = append(ts, v.vs.history[i].at())
	}
	return ts
}

// TestHistoryKeepsOnlyTheSilencesEdges: after a silence, an hour of driving (a fix every 10 to
// 30 s) keeps exactly the two fixes around the silence as gap edges. Measured against the edge
// kept before it, the oldest fix still kept after minutes of dropped ones looked like the end
// of a silence: a false edge every 2 to 3 minutes, and after History/2 of them the silence's
// own edges went.
func TestHistoryKeepsOnlyTheSilencesEdges(t *testing.T) {
	v := newHistVehicle(t, t0hist)
	before := v.drive(t0hist, 10*time.Minute, 1)
	after := before.Add(40 * time.Minute)
	last := v.drive(after, 65*time.Minute, 2)
	v.expectEdges("after the silence and 65 min of driving", before, after)
	// Another hour: still those two.
	v.drive(last.Add(20*time.Second), time.Hour, 3)
	v.expectEdges("after two hours of driving", before, after)
}

// TestBlindUploadPartlyFillsSilence: a blind-area upload covering the first half of a silence
// is placed after the fix before it, and what remains of the silence (from the newest uploaded
// fix to the fix after the silence) is kept as the only gap.
func TestBlindUploadPartlyFillsSilence(t *testing.T) {
	v := newHistVehicle(t, t0hist)
	before := v.drive(t0hist, 10*time.Minute, 4)
	after := before.Add(40 * time.Minute)
	v.drive(after, 65*time.Minute, 5)
	newest := before
	for at := before.Add(10 * time.Second); at.Before(before.Add(20 * time.Minute)); at = at.Add(10 * time.Second) {
		i, _ := slices.BinarySearchFunc(v.vs.history, at, histAt)
		if i == 0 {
			t.Fatalf("the blind-area fix of %v goes before all kept (the oldest %v), want after %v", at, v.vs.history[0].at(), newest)
		}
		if prev := v.vs.history[i-1].at(); !prev.Equal(newest) {
			t.Fatalf("the blind-area fix of %v goes after %v, want after %v", at, prev, newest)
		}
		v.evaluate(at, 43.1, true)
		newest = at
	}
	v.drive(v.vs.last.Time.Add(10*time.Second), 10*time.Minute, 6)
	v.expectEdges("after the upload", newest, after)
}

// TestHistoryPausesShortOfSilence: a terminal that pauses just short of gapEdge between short
// bursts of fixes, for an hour and a half after a silence, keeps no edge but the silence's: measured in the
// trimmed history, every pause looked like a silence and pushed the real one out.
func TestHistoryPausesShortOfSilence(t *testing.T) {
	v := newHistVehicle(t, t0hist)
	before := v.drive(t0hist, 10*time.Minute, 7)
	after := before.Add(40 * time.Minute)
	at := after
	for range 30 {
		at = v.drive(at, time.Minute, 8).Add(gapEdge - 10*time.Second)
	}
	v.expectEdges("after an hour and a half of pauses", before, after)
}

// TestHistoryKeepsTheLongestSilences: a terminal that goes dark again and again, for a little
// more than gapEdge each time, does not push out the edges of the long silence before: the
// shortest silences go first when there are more edges than History/2.
func TestHistoryKeepsTheLongestSilences(t *testing.T) {
	v := newHistVehicle(t, t0hist)
	before := v.drive(t0hist, 10*time.Minute, 9)
	after := before.Add(40 * time.Minute)
	real := map[time.Time]bool{before: true, after: true}
	at := after
	for k := range 20 {
		last := v.drive(at, time.Minute, uint64(10+k))
		at = last.Add(gapEdge + 30*time.Second)
		real[last], real[at] = true, true
	}
	v.drive(at, time.Minute, 30)
	got := v.edgeTimes()
	if n := v.e.cfg.History / 2; len(got) != n || !got[0].Equal(before) || !got[1].Equal(after) {
		t.Fatalf("after 20 short silences: edges %v, want %d, the first the long silence's (%v, %v)", got, n, before, after)
	}
	for _, at := range got {
		if !real[at] {
			t.Errorf("edge %v is no edge of a silence", at)
		}
	}
}

// TestHistoryFakeUploadTimes: a blind-area upload carrying device times from the far past, from
// the hour of driving after a silence (whose fixes the history dropped), and a fix minutes in the
// future (the pipeline places such a fix at its receipt now; the rules hold regardless) does not
// push the silence's edges out: none of them is an edge of a silence the vehicle had.
func TestHistoryFakeUploadTimes(t *testing.T) {
	v := newHistVehicle(t, t0hist)
	before := v.drive(t0hist, 10*time.Minute, 31)
	after := before.Add(40 * time.Minute)
	last := v.drive(after, 65*time.Minute, 32)
	for k := range 40 {
		v.evaluate(t0hist.Add(-time.Duration(40-k)*24*time.Hour), 10, true)                        // days before
		v.evaluate(after.Add(2*time.Minute+time.Duration(k)*77*time.Second+time.Second), 44, true) // the hour driven
	}
	v.expectEdges("after fixes from the past", before, after)
	future := last.Add(8 * time.Minute)
	v.evaluate(future, 43.5, false)
	for at := last.Add(15 * time.Second); at.Before(future); at = at.Add(15 * time.Second) {
		v.evaluate(at, 43.5, true) // the live fixes, now before the newest
	}
	v.drive(future.Add(15*time.Second), 10*time.Minute, 33)
	v.expectEdges("after a fix from the future", before, after)
}
