package pgstore

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestTakenDeviceTimeFallsBack: a batch of new fixes goes the one-round-trip way; a batch with
// a resent fix and another report of a stored time among new ones fails that way and is made
// again the sorting way, whole: the resent fix is a duplicate with its stored ID, the other
// report a variant, the events point at their fixes, nothing of the failed attempt stays; the
// next slowAfterTaken commits sort at once, then the fast way is taken again.
func TestTakenDeviceTimeFallsBack(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	first := &tracker.Batch{}
	for v := range 10 {
		first.Fixes = append(first.Fixes, sharedFix(v, 0, at))
	}
	if err := s.Commit(ctx, first); err != nil {
		t.Fatal(err)
	}
	if n := s.slow.Load(); n != 0 {
		t.Fatalf("a batch of new fixes sorted them (%d slow commits left), want the fast way", n)
	}
	b := &tracker.Batch{}
	for v := range 10 {
		b.Fixes = append(b.Fixes, sharedFix(v, 1, at))
		if v == 4 {
			b.Fixes = append(b.Fixes, first.Fixes[5]) // resent as it was
			moved := first.Fixes[3]                   // the same time, elsewhere: a variant
			moved.Lat += 0.5
			moved.Seq = 9999
			b.Fixes = append(b.Fixes, moved)
		}
	}
	for i := range b.Fixes {
		b.Fixes[i].ID = 0
		f := b.Fixes[i]
		b.Events = append(b.Events, tracker.Event{Type: tracker.EventWaybill, Time: f.Time, VehicleID: f.VehicleID, ZoneID: "z", FixSeq: f.Seq})
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := s.slow.Load(); n != slowAfterTaken {
		t.Fatalf("%d slow commits left after a taken device time, want %d", n, slowAfterTaken)
	}
	for i, f := range b.Fixes {
		resent := f.Seq == first.Fixes[5].Seq
		if b.Duplicates[i] != resent || f.ID == 0 || resent && f.ID != first.Fixes[5].ID {
			t.Fatalf("fix %d (seq %d): duplicate %v, ID %d (first copy's %d)", i, f.Seq, b.Duplicates[i], f.ID, first.Fixes[5].ID)
		}
		if e := b.Events[i]; resent && e.ID != 0 || !resent && (e.ID == 0 || e.FixID != f.ID) {
			t.Fatalf("event of fix %d (seq %d): ID %d, fix ID %d, want fix %d", i, f.Seq, e.ID, e.FixID, f.ID)
		}
	}
	var fixes, events int
	if err := s.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM fixes), (SELECT count(*) FROM events)").Scan(&fixes, &events); err != nil {
		t.Fatal(err)
	}
	if fixes != 21 || events != 11 {
		t.Fatalf("%d fixes and %d events stored, want 10+10+1 variant and 11", fixes, events)
	}
	checkLatest(t, s, at.Add(10*time.Second), 10)
	for n := range slowAfterTaken {
		next := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(20, n, at)}}
		if err := s.Commit(ctx, next); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.slow.Load(); n != 0 {
		t.Fatalf("%d slow commits left after %d commits, want 0", n, slowAfterTaken)
	}
}

// checkLatest checks that latest_fixes holds vehicles veh-0 … veh-(n-1), each at time at.
func checkLatest(t *testing.T, s *Store, at time.Time, n int) {
	t.Helper()
	latest, err := s.LatestFixes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range latest {
		if !f.Time.Equal(at) {
			t.Fatalf("latest fix of %s at %v, want %v", f.VehicleID, f.Time, at)
		}
	}
	if len(latest) != n {
		t.Fatalf("%d latest fixes, want %d", len(latest), n)
	}
}

// TestLatestOfBatch: latest_fixes takes each vehicle's newest report of a batch, not a late
// one after it in the batch, not a conflicting report, and not one older than what is stored.
func TestLatestOfBatch(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b := &tracker.Batch{}
	for v := range 3 {
		b.Fixes = append(b.Fixes, sharedFix(v, 2, at), sharedFix(v, 1, at)) // the newest first
	}
	forged := sharedFix(1, 5, at)
	forged.Flags = []string{tracker.FlagConflict}
	b.Fixes = append(b.Fixes, forged)
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	checkLatest(t, s, at.Add(20*time.Second), 3)
	older := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 0, at), sharedFix(2, 0, at)}}
	if err := s.Commit(ctx, older); err != nil {
		t.Fatal(err)
	}
	checkLatest(t, s, at.Add(20*time.Second), 3)
}

// TestIDsFollowCommits: fix IDs, reserved ahead in blocks, follow the order of the fixes over
// commits that use up several blocks, across a commit that sorted its fixes.
func TestIDsFollowCommits(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Hour)
	var last int64
	n := 0
	for c := range 6 {
		b := &tracker.Batch{}
		for range 4096 {
			b.Fixes = append(b.Fixes, sharedFix(n%500, n/500, at))
			n++
		}
		if c == 3 { // a resent fix: this commit sorts
			b.Fixes = append(b.Fixes, sharedFix(0, 0, at))
		}
		if err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
		for i, f := range b.Fixes {
			if b.Duplicates[i] {
				continue
			}
			if f.ID <= last {
				t.Fatalf("commit %d, fix %d: ID %d after %d", c, i, f.ID, last)
			}
			last = f.ID
		}
	}
	if n <= idBlock {
		t.Fatalf("%d fixes do not use up a block of %d IDs", n, idBlock)
	}
}

// TestRenewedIDsFollowHandOver: a vehicle's fixes move from one server to another and back, as
// its partition does between cluster trackers. Server A reserved its IDs first, so without
// RenewFixIDs its later fixes would take IDs below B's: each vehicle's fixes would not be in ID
// order, which Track and Events rely on to break ties of time.
func TestRenewedIDsFollowHandOver(t *testing.T) {
	url := newDB(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	n := 0
	commit := func(s *Store) {
		t.Helper()
		batch := &tracker.Batch{}
		for range 3 {
			batch.Fixes = append(batch.Fixes, sharedFix(0, n, at))
			n++
		}
		if err := s.Commit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	commit(a) // A reserves a block
	b.RenewFixIDs()
	commit(b) // B takes the vehicle over: its block is above A's
	a.RenewFixIDs()
	commit(a) // and A takes it back
	fixes, err := a.Track(ctx, sharedFix(0, 0, at).VehicleID, at.Add(-time.Minute), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixes) != n {
		t.Fatalf("%d fixes stored, want %d", len(fixes), n)
	}
	for i := 1; i < len(fixes); i++ {
		if fixes[i].ID <= fixes[i-1].ID {
			t.Fatalf("fix of %v has ID %d, after the fix of %v with ID %d", fixes[i].Time, fixes[i].ID, fixes[i-1].Time, fixes[i-1].ID)
		}
	}
}

// TestServersCommitSameVehicles: two servers (stores) committing batches of the same vehicles
// at once, in opposite orders, both succeed (their upserts of latest_fixes lock rows in the
// same order) and each vehicle's latest fix is its newest.
func TestServersCommitSameVehicles(t *testing.T) {
	url := newDB(t)
	stores := []*Store{open(t, url), open(t, url)}
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	const vehicles, rounds = 300, 10
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for k, s := range stores {
		wg.Go(func() {
			for r := range rounds {
				b := &tracker.Batch{}
				for v := range vehicles {
					n := 2*r + k // the servers take turns at each vehicle's times
					f := sharedFix(v, n, at)
					f.DeviceID += "-" + string(rune('a'+k))
					b.Fixes = append(b.Fixes, f)
				}
				if k == 1 {
					slices.Reverse(b.Fixes)
				}
				if err := s.Commit(ctx, b); err != nil {
					errs[k] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("server %d: %v", k, err)
		}
	}
	checkLatest(t, stores[0], at.Add(time.Duration(2*rounds-1)*10*time.Second), vehicles)
}

// TestRenewDropsRefillUnderWay: IDs a commit's refill reserved before a renewal (perhaps below
// another server's) are not stocked when it ends after it, and the next take may refill.
func TestRenewDropsRefillUnderWay(t *testing.T) {
	var st idStock
	st.add([]int64{1, 2, 3})
	st.refilling = true
	before := st.generation
	st.renew()
	st.put(reservedIDs{starts: []int64{4}, stride: 2}, before)
	if len(st.ids) != 0 || st.refilling {
		t.Fatalf("after a renewal, stock %v (refilling %v): want none, and a refill allowed", st.ids, st.refilling)
	}
}

// TestIDBlocksUnique: two servers reserving fix IDs in blocks (migration 0022) and a variant
// inserted with the column's default ID between their commits never give two fixes one ID,
// and each server's fixes keep ascending IDs.
func TestIDBlocksUnique(t *testing.T) {
	url := newDB(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	var stride int64
	if err := a.pool.QueryRow(ctx, "SELECT "+fixIDIncrement).Scan(&stride); err != nil || stride <= 1 {
		t.Fatalf("the sequence of fix IDs has increment %d (%v): blocks are not reserved", stride, err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	last := map[*Store]int64{}
	for round := range 6 {
		for k, s := range []*Store{a, b} {
			batch := &tracker.Batch{}
			for v := range 300 {
				batch.Fixes = append(batch.Fixes, sharedFix(k*1000+v, round, at))
			}
			if round%2 == 1 { // a conflicting report of a stored time: a variant, its ID the column's default
				f := sharedFix(k*1000, round-1, at)
				f.Lat += 1
				batch.Fixes = append(batch.Fixes, f)
			}
			if err := s.Commit(ctx, batch); err != nil {
				t.Fatal(err)
			}
			for i, f := range batch.Fixes[:300] {
				if batch.Duplicates[i] || f.ID <= last[s] {
					t.Fatalf("server %d round %d fix %d: ID %d after %d (duplicate %v)", k, round, i, f.ID, last[s], batch.Duplicates[i])
				}
				last[s] = f.ID
			}
		}
	}
	var n, distinct, variants int
	if err := a.pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE variant > 0) FROM fixes").Scan(&n, &distinct, &variants); err != nil {
		t.Fatal(err)
	}
	if n != 2*6*300+6 || distinct != n || variants != 6 {
		t.Fatalf("%d fixes with %d distinct IDs, %d variants: want %d, all distinct, 6", n, distinct, variants, 2*6*300+6)
	}
}
