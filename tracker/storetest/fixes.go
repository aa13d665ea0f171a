package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testCommitFixes(t *testing.T, s Store) {
	b := &tracker.Batch{}
	for i := range 5 {
		b.Fixes = append(b.Fixes, fix("d1", "v1", base.Add(time.Duration(i)*10*time.Second), 43.65, 111.97))
	}
	commit(t, s, b)
	if len(b.Duplicates) != len(b.Fixes) {
		t.Fatalf("len(Duplicates) = %d, want %d", len(b.Duplicates), len(b.Fixes))
	}
	ids := map[int64]bool{}
	for i, f := range b.Fixes {
		if b.Duplicates[i] {
			t.Errorf("fix %d marked duplicate in an empty store", i)
		}
		if f.ID <= 0 || ids[f.ID] {
			t.Errorf("fix %d ID = %d, want a new positive ID", i, f.ID)
		}
		ids[f.ID] = true
	}

	// The device resends two of them with one new fix: only the new one is stored.
	again := &tracker.Batch{Fixes: []tracker.Fix{
		fix("d1", "v1", base.Add(10*time.Second), 43.65, 111.97),
		fix("d1", "v1", base.Add(50*time.Second), 43.66, 111.98),
		fix("d1", "v1", base.Add(20*time.Second), 43.65, 111.97),
	}}
	commit(t, s, again)
	if want := []bool{true, false, true}; !slices.Equal(again.Duplicates, want) {
		t.Errorf("Duplicates = %v, want %v", again.Duplicates, want)
	}
	if id := again.Fixes[1].ID; id <= 0 || ids[id] {
		t.Errorf("new fix ID = %d, want a new positive ID", id)
	}
	// A resent fix carries its stored copy's ID: a retried batch's events must point at it.
	if again.Fixes[0].ID != b.Fixes[1].ID || again.Fixes[2].ID != b.Fixes[2].ID {
		t.Errorf("resent fixes' IDs = %d, %d, want the stored %d, %d", again.Fixes[0].ID, again.Fixes[2].ID, b.Fixes[1].ID, b.Fixes[2].ID)
	}

	// Another device at the same time is not a duplicate.
	other := &tracker.Batch{Fixes: []tracker.Fix{fix("d2", "v1", base, 43.65, 111.97)}}
	commit(t, s, other)
	if other.Duplicates[0] {
		t.Error("same time from another device marked duplicate")
	}

	got := track(t, s, "v1", base.Add(-time.Hour), base.Add(time.Hour))
	if len(got) != 7 {
		t.Fatalf("Track returned %d fixes, want 7 (each stored once): %v", len(got), fixTimes(got))
	}
	byID := map[int64]tracker.Fix{}
	for _, f := range got {
		byID[f.ID] = f
	}
	for _, f := range b.Fixes {
		checkFix(t, f, byID[f.ID])
	}

	// A batch of nothing but duplicates commits fine.
	dup := &tracker.Batch{Fixes: []tracker.Fix{fix("d1", "v1", base, 43.65, 111.97)}}
	commit(t, s, dup)
	if !dup.Duplicates[0] {
		t.Error("resent fix not marked duplicate")
	}
	// An empty batch too.
	commit(t, s, &tracker.Batch{})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func testDuplicatesInBatch(t *testing.T, s Store) {
	b := &tracker.Batch{Fixes: []tracker.Fix{
		fix("d1", "v1", base, 43.65, 111.97),
		fix("d1", "v1", base.Add(time.Second), 43.65, 111.97),
		fix("d1", "v1", base, 43.65, 111.97),
	}}
	commit(t, s, b)
	if want := []bool{false, false, true}; !slices.Equal(b.Duplicates, want) {
		t.Errorf("Duplicates = %v, want %v", b.Duplicates, want)
	}
	if got := track(t, s, "v1", base, base.Add(time.Hour)); len(got) != 2 {
		t.Errorf("Track returned %d fixes, want 2", len(got))
	}
	// Duplicates from an earlier Commit are reset, not kept.
	b2 := &tracker.Batch{Fixes: []tracker.Fix{fix("d1", "v1", base.Add(2*time.Second), 43.65, 111.97)}, Duplicates: []bool{true, true, true}}
	commit(t, s, b2)
	if !slices.Equal(b2.Duplicates, []bool{false}) {
		t.Errorf("Duplicates = %v, want [false]", b2.Duplicates)
	}
}

func testFixRoundTrip(t *testing.T, s Store) {
	gmt8 := time.FixedZone("GMT+8", 8*3600)
	a := fix("13912344329", "truck-1", base.Add(123*time.Microsecond), 43.652896123456789, 111.977631987654321)
	a.Flags = []string{tracker.FlagBlindArea, "sos"}
	a.Attrs = map[string]any{"mileage_km": 12345.6, "acc": true, "satellites": 11.0, "driver": "Bat-Erdene", "io": map[string]any{"in1": false}}
	a.Late = true
	a.Protocol = tracker.ProtocolJT808
	b := fix("868120145233604", "car-2", time.Date(2026, 3, 14, 17, 0, 0, 1_000_000, gmt8), -33.8688197, -151.2092955)
	b.Protocol = tracker.ProtocolGT06
	b.Valid = false
	b.SpeedKmh, b.Heading, b.AltitudeM = 0, 0, -12.5
	b.ReceivedAt = time.Date(2026, 3, 14, 9, 0, 2, 999_000_000, time.UTC)
	c := fix("phone-7", "patrol-3", time.Date(2025, 1, 15, 23, 59, 59, 999_000_000, time.UTC), 0, 0) // backfilled, long ago
	c.Protocol = tracker.ProtocolOsmAnd
	c.Flags = []string{}
	batch := &tracker.Batch{Fixes: []tracker.Fix{a, b, c}}
	commit(t, s, batch)
	for i, want := range batch.Fixes {
		got := track(t, s, want.VehicleID, want.Time, want.Time.Add(time.Millisecond))
		if len(got) != 1 {
			t.Errorf("fix %d: Track returned %d fixes, want 1", i, len(got))
			continue
		}
		checkFix(t, want, got[0])
	}
}

func testTrack(t *testing.T, s Store) {
	// Commit out of order, as a blind-area upload does: live fixes first, the backfill after.
	var live, backfill []tracker.Fix
	for i := range 20 {
		f := fix("d1", "v1", base.Add(time.Duration(i)*time.Minute), 43.6+float64(i)/1000, 111.9)
		if i >= 5 && i < 12 {
			f.Flags = []string{tracker.FlagBlindArea}
			f.Late = true
			backfill = append(backfill, f)
		} else {
			live = append(live, f)
		}
	}
	slices.Reverse(backfill)
	commit(t, s, &tracker.Batch{Fixes: live})
	commit(t, s, &tracker.Batch{Fixes: backfill})
	commit(t, s, &tracker.Batch{Fixes: []tracker.Fix{fix("d2", "v2", base.Add(3*time.Minute), 43.6, 111.9)}})

	got := track(t, s, "v1", base, base.Add(20*time.Minute))
	if len(got) != 20 {
		t.Fatalf("Track returned %d fixes, want 20", len(got))
	}
	for i, f := range got {
		if want := base.Add(time.Duration(i) * time.Minute); !f.Time.Equal(want) {
			t.Fatalf("fix %d at %v, want %v (device-time order)", i, f.Time, want)
		}
		if f.VehicleID != "v1" {
			t.Fatalf("fix %d of vehicle %q in v1's track", i, f.VehicleID)
		}
	}

	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"from inclusive, to exclusive", base.Add(5 * time.Minute), base.Add(10 * time.Minute), 5},
		{"single instant", base.Add(7 * time.Minute), base.Add(7*time.Minute + time.Millisecond), 1},
		{"to at first fix", base.Add(-time.Hour), base, 0},
		{"after the last", base.Add(20 * time.Minute), base.Add(time.Hour), 0},
		{"everything", base.Add(-24 * time.Hour), base.Add(24 * time.Hour), 20},
		{"empty range", base.Add(5 * time.Minute), base.Add(5 * time.Minute), 0},
	}
	for _, tt := range tests {
		got := track(t, s, "v1", tt.from, tt.to)
		if len(got) != tt.want {
			t.Errorf("%s: Track returned %d fixes, want %d", tt.name, len(got), tt.want)
		}
		for _, f := range got {
			if f.Time.Before(tt.from) || !f.Time.Before(tt.to) {
				t.Errorf("%s: fix at %v outside [%v, %v)", tt.name, f.Time, tt.from, tt.to)
			}
		}
	}
	if got := track(t, s, "nobody", base.Add(-time.Hour), base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("Track of an unknown vehicle returned %d fixes", len(got))
	}
}

func testLatestFixes(t *testing.T, s Store) {
	got, err := s.LatestFixes(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("LatestFixes of an empty store = %d fixes, %v", len(got), err)
	}
	commit(t, s, &tracker.Batch{Fixes: []tracker.Fix{
		fix("d-b", "vb", base.Add(time.Minute), 43.1, 111.1),
		fix("d-a", "va", base, 43.0, 111.0),
		fix("d-b", "vb", base.Add(2*time.Minute), 43.2, 111.2),
		fix("d-c", "vc", base.Add(-time.Hour), 42.0, 110.0),
	}})
	// A backfill older than va's newest fix does not replace it, nor does a fix from ahead of
	// the server clock (evidence); vc's newer fix does, whichever device it came from.
	ahead := fix("d-a", "va", base.Add(9*time.Minute), 44.0, 112.0)
	ahead.Flags = []string{tracker.FlagClockAhead}
	commit(t, s, &tracker.Batch{Fixes: []tracker.Fix{
		fix("d-a", "va", base.Add(-time.Minute), 42.9, 110.9),
		fix("d-c2", "vc", base.Add(time.Hour), 42.5, 110.5),
		ahead,
	}})
	got, err = s.LatestFixes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		veh, dev string
		at       time.Time
		lat      float64
	}{
		{"va", "d-a", base, 43.0},
		{"vb", "d-b", base.Add(2 * time.Minute), 43.2},
		{"vc", "d-c2", base.Add(time.Hour), 42.5},
	}
	if len(got) != len(want) {
		t.Fatalf("LatestFixes returned %d fixes, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.VehicleID != w.veh || g.DeviceID != w.dev || !sameTime(w.at, g.Time) || g.Lat != w.lat || g.ID == 0 {
			t.Errorf("latest %d = %s/%s %v %v id %d, want %s/%s %v %v", i, g.VehicleID, g.DeviceID, g.Time, g.Lat, g.ID, w.veh, w.dev, w.at, w.lat)
		}
	}
}

func testSearchArea(t *testing.T, s Store) {
	// A 5x5 grid of vehicles 0.1 degrees apart, each reporting every minute for an hour.
	var fixes []tracker.Fix
	for m := range 60 {
		for i := range 25 {
			lat := 43.0 + float64(i/5)/10
			lon := 111.0 + float64(i%5)/10
			fixes = append(fixes, fix(fmt.Sprint("d", i), fmt.Sprint("v", i), base.Add(time.Duration(m)*time.Minute), lat, lon))
		}
	}
	commit(t, s, &tracker.Batch{Fixes: fixes})
	box := tracker.Box{MinLat: 43.1, MinLon: 111.1, MaxLat: 43.2, MaxLon: 111.2} // edges included: 4 vehicles
	search := func(box tracker.Box, from, to time.Time, limit int) []tracker.Fix {
		t.Helper()
		got, err := s.SearchArea(t.Context(), box, from, to, limit)
		if err != nil {
			t.Fatalf("SearchArea: %v", err)
		}
		return got
	}
	got := search(box, base.Add(10*time.Minute), base.Add(20*time.Minute), 0)
	if len(got) != 40 {
		t.Fatalf("SearchArea returned %d fixes, want 40", len(got))
	}
	for i, f := range got {
		if f.Lat < box.MinLat || f.Lat > box.MaxLat || f.Lon < box.MinLon || f.Lon > box.MaxLon {
			t.Errorf("fix at %v,%v outside the box", f.Lat, f.Lon)
		}
		if f.Time.Before(base.Add(10*time.Minute)) || !f.Time.Before(base.Add(20*time.Minute)) {
			t.Errorf("fix at %v outside the period", f.Time)
		}
		if i > 0 && f.Time.Before(got[i-1].Time) {
			t.Errorf("fix %d at %v before fix %d at %v: want time order", i, f.Time, i-1, got[i-1].Time)
		}
	}
	checkFix(t, fixes[10*25+6], got[0]) // the first minute's first vehicle in the box: index 6 (lat 43.1, lon 111.1)

	limited := search(box, base, base.Add(time.Hour), 10)
	if len(limited) != 10 {
		t.Fatalf("SearchArea with limit 10 returned %d fixes", len(limited))
	}
	if last := limited[9].Time; !last.Before(base.Add(3 * time.Minute)) {
		t.Errorf("limited search reached %v: want the earliest fixes", last)
	}
	if got := search(tracker.Box{MinLat: 50, MinLon: 120, MaxLat: 51, MaxLon: 121}, base, base.Add(time.Hour), 0); len(got) != 0 {
		t.Errorf("empty box returned %d fixes", len(got))
	}
	if got := search(box, base.Add(2*time.Hour), base.Add(3*time.Hour), 0); len(got) != 0 {
		t.Errorf("empty period returned %d fixes", len(got))
	}
}

func testConcurrentCommits(t *testing.T, s Store) {
	const workers, batches, perBatch = 8, 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	dups := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			for n := range batches {
				b := &tracker.Batch{}
				for i := range perBatch {
					at := base.Add(time.Duration(n*perBatch+i) * time.Second)
					b.Fixes = append(b.Fixes, fix(fmt.Sprint("d", w), fmt.Sprint("v", w), at, 43, 111))
					// Every worker also sends the same shared device's fixes: each is stored once.
					b.Fixes = append(b.Fixes, fix("shared", "vs", at, 43, 111))
				}
				if err := s.Commit(t.Context(), b); err != nil {
					errs <- err
					return
				}
				for _, d := range b.Duplicates {
					dups[w] += boolInt(d)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Commit: %v", err)
	}
	from, to := base.Add(-time.Hour), base.Add(24*time.Hour)
	for w := range workers {
		if got := track(t, s, fmt.Sprint("v", w), from, to); len(got) != batches*perBatch {
			t.Errorf("v%d has %d fixes, want %d", w, len(got), batches*perBatch)
		}
	}
	if got := track(t, s, "vs", from, to); len(got) != batches*perBatch {
		t.Errorf("shared vehicle has %d fixes, want %d", len(got), batches*perBatch)
	}
	total := 0
	for _, d := range dups {
		total += d
	}
	if want := (workers - 1) * batches * perBatch; total != want {
		t.Errorf("%d fixes marked duplicate, want %d", total, want)
	}
}

// testReportsOfOneTime: a report of a stored device time is a duplicate only if a stored one
// covers it; otherwise it is stored too, merged when it repeats a position, flagged as a
// conflict when it does not, and a conflict never becomes the vehicle's latest fix.
func testReportsOfOneTime(t *testing.T, s Store) {
	first := fix("d1", "v1", base, 43.65, 111.97)
	first.Flags = []string{"acc_on"}
	first.Attrs = map[string]any{"mileage_km": 1200.5}
	alarm := first // the same position re-sent with an alarm, the time unchanged
	alarm.Flags = []string{"sos"}
	alarm.Attrs = map[string]any{"alarm": 1}
	alarm.ReceivedAt = first.ReceivedAt.Add(time.Second)
	other := fix("d1", "v1", base, 43.70, 112.05) // another position for the same time
	other.Flags = []string{tracker.FlagConflict}
	other.ReceivedAt = first.ReceivedAt.Add(2 * time.Second)

	one := func(f tracker.Fix) tracker.Fix {
		t.Helper()
		b := &tracker.Batch{Fixes: []tracker.Fix{f}}
		commit(t, s, b)
		if b.Duplicates[0] {
			b.Fixes[0].ID = -b.Fixes[0].ID // a duplicate: the stored copy's ID, negated
		}
		return b.Fixes[0]
	}
	a := one(first)
	if a.ID <= 0 {
		t.Fatalf("first report: ID %d, want a new one", a.ID)
	}
	resent := first
	resent.Attrs = map[string]any{"mileage_km": 1200.5}
	if got := one(resent); got.ID != -a.ID {
		t.Errorf("the same report again: ID %d, want a duplicate of %d", got.ID, a.ID)
	}
	m := one(alarm)
	if m.ID <= 0 || m.ID == a.ID {
		t.Fatalf("alarm at the same position: ID %d, want a record of its own", m.ID)
	}
	for _, tc := range []struct {
		name string
		f    tracker.Fix
		want int64
	}{
		{"first again", first, -a.ID},
		{"alarm again, its number an int", func() tracker.Fix { f := alarm; f.Attrs = map[string]any{"alarm": int(1)}; return f }(), -m.ID},
		{"alarm without its attribute", func() tracker.Fix { f := alarm; f.Attrs = nil; return f }(), -m.ID},
	} {
		if got := one(tc.f); got.ID != tc.want {
			t.Errorf("%s: ID %d, want %d (negative: a duplicate)", tc.name, got.ID, tc.want)
		}
	}
	c := one(other)
	if c.ID <= 0 {
		t.Fatalf("another position for the same time: ID %d, want a record of its own", c.ID)
	}
	if got := one(other); got.ID != -c.ID {
		t.Errorf("the conflicting report again: ID %d, want a duplicate of %d", got.ID, c.ID)
	}
	// Not flagged by whoever sent it: the store flags it, as after a restart.
	unflagged := fix("d1", "v1", base, 43.80, 112.10)
	u := one(unflagged)
	if u.ID <= 0 || !slices.Contains(u.Flags, tracker.FlagConflict) {
		t.Errorf("an unflagged report at a third position: ID %d flags %q, want stored flagged %q", u.ID, u.Flags, tracker.FlagConflict)
	}

	got := track(t, s, "v1", base, base.Add(time.Second))
	if len(got) != 4 {
		t.Fatalf("Track returned %d reports of one time, want 4: %+v", len(got), got)
	}
	wantMerged := alarm
	wantMerged.ID, wantMerged.Flags = m.ID, []string{"sos", "acc_on"}
	wantMerged.Attrs = map[string]any{"alarm": 1, "mileage_km": 1200.5}
	wantOther := other
	wantOther.ID = c.ID
	for i, want := range []tracker.Fix{a, wantMerged, wantOther} {
		checkFix(t, want, got[i])
	}
	if !slices.Contains(got[3].Flags, tracker.FlagConflict) {
		t.Errorf("fourth report flags %q, want %q", got[3].Flags, tracker.FlagConflict)
	}
	latest, err := s.LatestFixes(t.Context())
	if err != nil || len(latest) != 1 || latest[0].ID != m.ID {
		t.Errorf("LatestFixes = %+v, %v; want the merged report %d, never a conflict", latest, err, m.ID)
	}

	// Both reports of a new time in one batch: the second is flagged, and an event may name it.
	next := base.Add(time.Minute)
	real, forged := fix("d1", "v1", next, 43.66, 111.98), fix("d1", "v1", next, 44.10, 112.40)
	real.Seq, forged.Seq = 11, 12
	b := &tracker.Batch{Fixes: []tracker.Fix{real, forged}, Events: []tracker.Event{
		{Type: tracker.EventZoneEnter, Time: next, VehicleID: "v1", Lat: forged.Lat, Lon: forged.Lon, FixSeq: 12},
	}}
	commit(t, s, b)
	if !slices.Equal(b.Duplicates, []bool{false, false}) || b.Fixes[0].ID == b.Fixes[1].ID {
		t.Fatalf("two reports of a new time in one batch: duplicates %v, IDs %d %d", b.Duplicates, b.Fixes[0].ID, b.Fixes[1].ID)
	}
	if b.Events[0].FixID != b.Fixes[1].ID {
		t.Errorf("event of the second report: FixID %d, want %d", b.Events[0].FixID, b.Fixes[1].ID)
	}
	got = track(t, s, "v1", next, next.Add(time.Second))
	if len(got) != 2 || got[0].ID != b.Fixes[0].ID || slices.Contains(got[0].Flags, tracker.FlagConflict) ||
		!slices.Contains(got[1].Flags, tracker.FlagConflict) {
		t.Errorf("Track = %+v, want the first report, then the second flagged %q", got, tracker.FlagConflict)
	}
	latest, err = s.LatestFixes(t.Context())
	if err != nil || len(latest) != 1 || latest[0].ID != b.Fixes[0].ID {
		t.Errorf("LatestFixes = %+v, %v; want the first report %d", latest, err, b.Fixes[0].ID)
	}
}
