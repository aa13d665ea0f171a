package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)

func testFix(veh string, n int) tracker.Fix {
	at := t0.Add(time.Duration(n) * 10 * time.Second)
	return tracker.Fix{
		VehicleID: veh, DeviceID: "dev-" + veh, Protocol: tracker.ProtocolJT808,
		Time: at, ReceivedAt: at.Add(700 * time.Millisecond),
		Lat: 43 + float64(n)/1e4, Lon: 111 + float64(n)/1e4, SpeedKmh: float64(n % 80), Valid: true,
		Attrs: map[string]any{"mileage_km": float64(n), "acc": n%2 == 0, "driver": "Bat"},
	}
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Flushes happen when the test says, so that it knows what is in chunks and what in the log.
	s.chunkFixes, s.headAge, s.maxHeadBytes = 1<<30, time.Hour, 1<<40
	return s
}

// crash ends s as a killed process would: no final flush, nothing closed in order.
func crash(t *testing.T, s *Store) {
	t.Helper()
	s.commitMu.Lock()
	s.closed = true
	s.commitMu.Unlock()
	close(s.stop)
	<-s.stopped
	<-s.flusherDone
	if s.log.f != nil {
		s.log.f.Close()
	}
	s.r.Close()
	s.w.Close()
	s.lock.Close() // the kernel releases a dead process's lock
}

func mustCommit(t *testing.T, s *Store, b *tracker.Batch) {
	t.Helper()
	if err := s.Commit(t.Context(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// ids maps each fix's time to its ID as Track returns them, and checks each is there once.
func trackIDs(t *testing.T, s *Store, veh string) map[time.Time]int64 {
	t.Helper()
	got, err := s.Track(t.Context(), veh, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out := map[time.Time]int64{}
	for i, f := range got {
		if _, ok := out[f.Time]; ok {
			t.Errorf("%s: fix at %v returned twice", veh, f.Time)
		}
		if i > 0 && f.Time.Before(got[i-1].Time) {
			t.Errorf("%s: fix at %v after %v", veh, f.Time, got[i-1].Time)
		}
		out[f.Time] = f.ID
	}
	return out
}

func batchOf(veh string, from, to int) *tracker.Batch {
	b := &tracker.Batch{}
	for n := from; n < to; n++ {
		b.Fixes = append(b.Fixes, testFix(veh, n))
	}
	return b
}

// TestRecoverAfterCrash: fixes in chunks, in log files and in fix_log rows all come back once,
// with the IDs Commit gave them, and are recognised when resent.
func TestRecoverAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	want := map[string]map[time.Time]int64{}
	keep := func(b *tracker.Batch) {
		for i, f := range b.Fixes {
			if want[f.VehicleID] == nil {
				want[f.VehicleID] = map[time.Time]int64{}
			}
			if !b.Duplicates[i] {
				want[f.VehicleID][f.Time] = f.ID
			}
		}
	}
	for _, v := range []string{"a", "b", "c"} {
		b := batchOf(v, 0, 300)
		mustCommit(t, s, b)
		keep(b)
	}
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	// Log files only.
	for _, v := range []string{"a", "b"} {
		b := batchOf(v, 300, 400)
		mustCommit(t, s, b)
		keep(b)
	}
	// A flush of a alone: b's head holds the log back.
	s.mu.Lock()
	s.series["a"].headSince = time.Now().Add(-2 * time.Hour)
	s.mu.Unlock()
	if err := s.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	// With an event: the record goes to fix_log with it.
	ev := batchOf("c", 300, 350)
	ev.Fixes[1].Seq = 2
	ev.Events = []tracker.Event{{Type: "zone_enter", Time: t0, VehicleID: "c", FixSeq: 2}}
	mustCommit(t, s, ev)
	keep(ev)
	b := batchOf("a", 400, 420)
	mustCommit(t, s, b)
	keep(b)
	crash(t, s)

	s = openAt(t, path)
	defer s.Close()
	for v, w := range want {
		got := trackIDs(t, s, v)
		if len(got) != len(w) {
			t.Errorf("%s: %d fixes after recovery, want %d", v, len(got), len(w))
		}
		for at, id := range w {
			if got[at] != id {
				t.Errorf("%s at %v: ID %d, want %d", v, at, got[at], id)
			}
		}
	}
	evs, err := s.Events(t.Context(), tracker.EventQuery{VehicleID: "c"})
	if err != nil || len(evs) != 1 || evs[0].FixID != ev.Fixes[1].ID {
		t.Errorf("events after recovery = %+v, %v; want one naming fix %d", evs, err, ev.Fixes[1].ID)
	}
	latest, err := s.LatestFixes(t.Context())
	if err != nil || len(latest) != 3 {
		t.Fatalf("LatestFixes = %d, %v", len(latest), err)
	}
	for _, f := range latest {
		if id := want[f.VehicleID][f.Time]; id != f.ID || f.Time.Before(t0.Add(340*10*time.Second)) {
			t.Errorf("latest of %s: %v id %d", f.VehicleID, f.Time, f.ID)
		}
	}
	// Everything resent is a duplicate with its ID; a new fix gets an ID never given.
	var maxID int64
	for v, w := range want {
		b := batchOf(v, 0, 420)
		mustCommit(t, s, b)
		for i, f := range b.Fixes {
			if id, ok := w[f.Time]; ok {
				if !b.Duplicates[i] || f.ID != id {
					t.Errorf("%s resent at %v: duplicate %v id %d, want id %d", v, f.Time, b.Duplicates[i], f.ID, id)
				}
				maxID = max(maxID, id)
			} else if b.Duplicates[i] {
				t.Errorf("%s at %v: never stored, marked duplicate", v, f.Time)
			}
		}
	}
	fresh := batchOf("d", 0, 1)
	mustCommit(t, s, fresh)
	if fresh.Fixes[0].ID <= maxID {
		t.Errorf("new fix ID %d, want above %d", fresh.Fixes[0].ID, maxID)
	}
}

// TestTornRecord: a record cut short by a crash, or followed by garbage, is dropped; the records
// before it and the records written after the restart are read.
func TestTornRecord(t *testing.T) {
	for _, tail := range []string{"cut", "garbage"} {
		t.Run(tail, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bw.db")
			s := openAt(t, path)
			mustCommit(t, s, batchOf("a", 0, 10))
			mustCommit(t, s, batchOf("a", 10, 20))
			seg := s.log.segPath(s.log.cur)
			crash(t, s)
			fi, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			switch tail {
			case "cut": // the second record loses its last bytes
				err = os.Truncate(seg, fi.Size()-7)
			case "garbage": // a record header and half a payload of zeros after the last record
				var f *os.File
				if f, err = os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0); err == nil {
					_, err = f.Write(make([]byte, 50))
					f.Close()
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			s = openAt(t, path)
			want := 20
			if tail == "cut" {
				want = 10
			}
			if got := trackIDs(t, s, "a"); len(got) != want {
				t.Fatalf("%d fixes after recovery, want %d", len(got), want)
			}
			again := batchOf("a", 0, 30)
			mustCommit(t, s, again)
			for i := range again.Fixes {
				if again.Duplicates[i] != (i < want) {
					t.Errorf("fix %d: duplicate %v", i, again.Duplicates[i])
				}
			}
			crash(t, s)
			s = openAt(t, path)
			defer s.Close()
			if got := trackIDs(t, s, "a"); len(got) != 30 {
				t.Errorf("%d fixes after the second recovery, want 30", len(got))
			}
		})
	}
}

// TestCommitRetry: the pipeline retries a failed Commit with the same batch. A record torn by a
// failed write counts for nothing; one written whole whose fdatasync failed counts as stored.
func TestCommitRetry(t *testing.T) {
	cases := []struct {
		name    string
		hook    func(f *os.File, frame []byte) (int, error)
		written bool
	}{
		{"torn write", func(f *os.File, frame []byte) (int, error) {
			n, _ := f.Write(frame[:len(frame)/2])
			return n, errors.New("disk full")
		}, false},
		{"sync failed", func(f *os.File, frame []byte) (int, error) {
			n, err := f.Write(frame)
			if err != nil {
				return n, err
			}
			return n, &syncError{errors.New("EIO")}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bw.db")
			s := openAt(t, path)
			mustCommit(t, s, batchOf("a", 0, 5))
			b := batchOf("a", 5, 10)
			b.Fixes = append(b.Fixes, testFix("a", 7)) // a duplicate inside the batch too
			s.log.writeHook = tc.hook
			if err := s.Commit(t.Context(), b); err == nil {
				t.Fatal("Commit succeeded through a failing write")
			}
			firstIDs := make([]int64, len(b.Fixes))
			for i, f := range b.Fixes {
				firstIDs[i] = f.ID
			}
			if got := len(trackIDs(t, s, "a")); got != map[bool]int{false: 5, true: 10}[tc.written] {
				t.Errorf("after the failed Commit Track has %d fixes", got)
			}
			s.log.writeHook = nil
			mustCommit(t, s, b)
			for i, f := range b.Fixes {
				dup := tc.written || i == 5
				if b.Duplicates[i] != dup {
					t.Errorf("retry: fix %d duplicate = %v, want %v", i, b.Duplicates[i], dup)
				}
				if tc.written && f.ID != firstIDs[i] {
					t.Errorf("retry: fix %d ID %d, want the first attempt's %d", i, f.ID, firstIDs[i])
				}
			}
			if b.Fixes[5].ID != b.Fixes[2].ID {
				t.Errorf("in-batch duplicate has ID %d, want %d", b.Fixes[5].ID, b.Fixes[2].ID)
			}
			want := trackIDs(t, s, "a")
			if len(want) != 10 {
				t.Fatalf("after the retry Track has %d fixes, want 10", len(want))
			}
			// The head's chunk went back with the failed Commit's fixes: flushed, it holds each once.
			if err := s.flush(t.Context(), true); err != nil {
				t.Fatal(err)
			}
			if n := chunkFixes(t, s); n != 10 {
				t.Errorf("chunks hold %d fixes, want 10", n)
			}
			mustCommit(t, s, batchOf("a", 10, 12))
			want = trackIDs(t, s, "a")
			crash(t, s)
			s = openAt(t, path)
			defer s.Close()
			got := trackIDs(t, s, "a")
			if len(got) != 12 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after recovery %v, want %v", got, want)
			}
		})
	}
}

// TestCommitRetrySQL: a batch with events whose transaction fails stores nothing, fixes
// included, and a retry stores it all once.
func TestCommitRetrySQL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	b := batchOf("a", 0, 5)
	b.Fixes[0].Seq = 1
	b.Events = []tracker.Event{{Type: "zone_enter", Time: t0, VehicleID: "a", FixSeq: 1}}
	if _, err := s.w.Exec(`CREATE TRIGGER fail_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(t.Context(), b); err == nil {
		t.Fatal("Commit succeeded though its events failed")
	}
	if got := trackIDs(t, s, "a"); len(got) != 0 {
		t.Errorf("failed Commit left %d fixes", len(got))
	}
	if _, err := s.w.Exec(`DROP TRIGGER fail_events`); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, b)
	if slices.Contains(b.Duplicates, true) {
		t.Errorf("retry: duplicates %v, want none", b.Duplicates)
	}
	crash(t, s)
	s = openAt(t, path)
	defer s.Close()
	if got := trackIDs(t, s, "a"); len(got) != 5 {
		t.Errorf("after recovery %d fixes, want 5", len(got))
	}
	evs, err := s.Events(t.Context(), tracker.EventQuery{})
	if err != nil || len(evs) != 1 || evs[0].FixID != b.Fixes[0].ID {
		t.Errorf("events = %+v, %v; want one naming fix %d", evs, err, b.Fixes[0].ID)
	}
}

// TestLateFixes: a late fix inside a flushed chunk's range is found there when resent, goes into a
// chunk of its own, and reads merge both in order; across Close and Open too.
func TestLateFixes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	even := &tracker.Batch{}
	for n := 0; n < 200; n += 2 {
		even.Fixes = append(even.Fixes, testFix("a", n))
	}
	mustCommit(t, s, even)
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	odd := &tracker.Batch{}
	for n := 1; n < 200; n += 2 {
		odd.Fixes = append(odd.Fixes, testFix("a", n))
	}
	odd.Fixes = append(odd.Fixes, testFix("a", 100)) // resent, from the chunk
	mustCommit(t, s, odd)
	if !odd.Duplicates[100] || odd.Fixes[100].ID != even.Fixes[50].ID {
		t.Errorf("resent fix: duplicate %v ID %d, want ID %d", odd.Duplicates[100], odd.Fixes[100].ID, even.Fixes[50].ID)
	}
	// And a backfill newest first: the head's fixes are then out of order.
	back := &tracker.Batch{}
	for n := 209; n >= 200; n-- {
		back.Fixes = append(back.Fixes, testFix("a", n))
	}
	mustCommit(t, s, back)
	check := func(s *Store) {
		t.Helper()
		got, err := s.Track(t.Context(), "a", t0, t0.Add(time.Hour))
		if err != nil || len(got) != 210 {
			t.Fatalf("Track = %d fixes, %v; want 210", len(got), err)
		}
		for i, f := range got {
			if want := testFix("a", i).Time; !f.Time.Equal(want) {
				t.Fatalf("fix %d at %v, want %v", i, f.Time, want)
			}
		}
	}
	check(s) // half from the chunk, half from the head
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	check(s) // two overlapping chunks
	var chunks int
	if err := s.r.QueryRow(`SELECT count(*) FROM fix_chunks WHERE vehicle_id = 'a'`).Scan(&chunks); err != nil || chunks != 2 {
		t.Errorf("%d chunks, %v; want 2 overlapping", chunks, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	defer s.Close()
	check(s)
	again := batchOf("a", 0, 211)
	mustCommit(t, s, again)
	for i := range again.Fixes {
		if again.Duplicates[i] != (i < 210) {
			t.Errorf("fix %d resent after reopening: duplicate %v", i, again.Duplicates[i])
		}
	}
	if ents, _ := os.ReadDir(path + ".wal"); len(ents) > 1 {
		t.Errorf("%d log segments after a clean close and one commit", len(ents))
	}
}

// chunkFixes counts the fixes in all chunks, checking each chunk's count.
func chunkFixes(t *testing.T, s *Store) int {
	t.Helper()
	rows, err := s.r.Query(`SELECT n, data FROM fix_chunks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var n int
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			t.Fatal(err)
		}
		got := 0
		if err := decodeChunk(data, nil, func(*entry) bool { got++; return true }); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("chunk of %d fixes says %d", got, n)
		}
		total += got
	}
	return total
}

// TestFirstCommitFails: the very first Commit of a new store fails and is retried.
func TestFirstCommitFails(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "bw.db"))
	defer s.Close()
	s.log.writeHook = func(*os.File, []byte) (int, error) { return 0, errors.New("disk full") }
	b := batchOf("a", 0, 5)
	if err := s.Commit(t.Context(), b); err == nil {
		t.Fatal("Commit succeeded through a failing write")
	}
	s.log.writeHook = nil
	mustCommit(t, s, b)
	if slices.Contains(b.Duplicates, true) {
		t.Errorf("retry: duplicates %v, want none", b.Duplicates)
	}
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if n := chunkFixes(t, s); n != 5 {
		t.Errorf("chunks hold %d fixes, want 5", n)
	}
}

// TestFlushFails: a flush whose transaction fails puts its fixes back in the heads, with those
// that came meanwhile; the next flush stores each once, and a crash in between loses nothing.
func TestFlushFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	mustCommit(t, s, batchOf("a", 0, 100))
	if _, err := s.w.Exec(`CREATE TRIGGER fail_chunks BEFORE INSERT ON fix_chunks BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(t.Context(), true); err == nil {
		t.Fatal("flush succeeded though its chunks could not be written")
	}
	back := &tracker.Batch{Fixes: []tracker.Fix{testFix("a", 50), testFix("a", 110), testFix("a", 120)}}
	mustCommit(t, s, back)
	if !back.Duplicates[0] || back.Duplicates[1] || back.Duplicates[2] {
		t.Errorf("after the failed flush: duplicates %v, want [true false false]", back.Duplicates)
	}
	if got := trackIDs(t, s, "a"); len(got) != 102 {
		t.Errorf("after the failed flush Track has %d fixes, want 102", len(got))
	}
	if _, err := s.w.Exec(`DROP TRIGGER fail_chunks`); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if n := chunkFixes(t, s); n != 102 {
		t.Errorf("chunks hold %d fixes, want 102", n)
	}
	mustCommit(t, s, batchOf("a", 130, 131))
	crash(t, s)
	s = openAt(t, path)
	defer s.Close()
	if got := trackIDs(t, s, "a"); len(got) != 103 {
		t.Errorf("after recovery Track has %d fixes, want 103", len(got))
	}
}

// TestFlushFailsPartway: a flush too big for one transaction writes its chunks in several;
// when a later one fails, the vehicles already written stay in chunks, the rest go back to
// their heads, and neither a Track nor a restart sees a fix twice or loses one.
func TestFlushFailsPartway(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	const vehicles, per = 12, 1000 // four vehicles a transaction
	for v := range vehicles {
		mustCommit(t, s, batchOf(fmt.Sprintf("v%d", v), 0, per))
	}
	// The second transaction fails: each vehicle's head is one chunk.
	if _, err := s.w.Exec(`CREATE TRIGGER fail_chunks BEFORE INSERT ON fix_chunks WHEN (SELECT count(*) FROM fix_chunks) >= 4 BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(t.Context(), true); err == nil {
		t.Fatal("flush succeeded though a chunk could not be written")
	}
	if n := chunkFixes(t, s); n != 4*per {
		t.Errorf("chunks hold %d fixes after the failed flush, want the first transaction's %d", n, 4*per)
	}
	check := func(when string) {
		for v := range vehicles {
			if got := trackIDs(t, s, fmt.Sprintf("v%d", v)); len(got) != per {
				t.Errorf("%s: v%d has %d fixes, want %d", when, v, len(got), per)
			}
		}
	}
	check("after the failed flush")
	crash(t, s)
	s = openAt(t, path)
	defer s.Close()
	check("after recovery")
	resent := batchOf("v3", per-1, per+1)
	mustCommit(t, s, resent)
	if !resent.Duplicates[0] || resent.Duplicates[1] {
		t.Errorf("resend after recovery: duplicates %v, want [true false]", resent.Duplicates)
	}
	if _, err := s.w.Exec(`DROP TRIGGER fail_chunks`); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if n := chunkFixes(t, s); n != vehicles*per+1 {
		t.Errorf("chunks hold %d fixes, want %d", n, vehicles*per+1)
	}
}

// TestReportsOfOneTimeRecovered: reports of a device time already in chunks are judged against
// the chunks; a conflicting report never becomes the vehicle's latest fix, whether it is
// flushed alone, with others, or replayed from the log after a crash.
func TestReportsOfOneTimeRecovered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	mustCommit(t, s, batchOf("a", 0, 10))
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	resent, alarm, forged := testFix("a", 5), testFix("a", 9), testFix("a", 9)
	alarm.Flags = []string{"sos"}
	forged.Lat += 0.5
	b := &tracker.Batch{Fixes: []tracker.Fix{resent, alarm, forged}}
	mustCommit(t, s, b)
	if !slices.Equal(b.Duplicates, []bool{true, false, false}) || b.Fixes[1].HasFlag(tracker.FlagConflict) || !b.Fixes[2].HasFlag(tracker.FlagConflict) {
		t.Fatalf("against chunks: duplicates %v, flags %q %q", b.Duplicates, b.Fixes[1].Flags, b.Fixes[2].Flags)
	}
	merged := b.Fixes[1].ID
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	alone := testFix("a", 3) // a flush of nothing but a conflict
	alone.Lon -= 0.5
	mustCommit(t, s, &tracker.Batch{Fixes: []tracker.Fix{alone}})
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	late := testFix("a", 9) // replayed from the log after the crash
	late.Lon += 0.7
	mustCommit(t, s, &tracker.Batch{Fixes: []tracker.Fix{late}})
	crash(t, s)

	s = openAt(t, path)
	defer s.Close()
	latest, err := s.LatestFixes(t.Context())
	if err != nil || len(latest) != 1 || latest[0].ID != merged {
		t.Errorf("LatestFixes = %+v, %v; want the merged report %d", latest, err, merged)
	}
	got, err := s.Track(t.Context(), "a", t0, t0.Add(time.Hour))
	if err != nil || len(got) != 14 {
		t.Fatalf("Track = %d fixes, %v; want 14", len(got), err)
	}
	again := &tracker.Batch{Fixes: []tracker.Fix{forged, alone, late, alarm}}
	mustCommit(t, s, again)
	if !slices.Equal(again.Duplicates, []bool{true, true, true, true}) {
		t.Errorf("resent after the restart: duplicates %v, want all", again.Duplicates)
	}
}
