package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestFlushDue: a head is due at its length or age threshold, each stretched by the
// vehicle's jitter by up to half, so a fleet that connected at once flushes spread out.
func TestFlushDue(t *testing.T) {
	s := &Store{chunkFixes: 256, headAge: 2 * time.Minute}
	now := time.Now()
	for _, tc := range []struct {
		jitter uint8
		fixes  int
		age    time.Duration
		due    bool
	}{
		{0, 255, time.Minute, false},
		{0, 256, time.Minute, true},
		{0, 10, 2 * time.Minute, true},
		{255, 256, time.Minute, false},
		{255, 382, time.Minute, false},
		{255, 383, time.Minute, true},
		{255, 10, 2*time.Minute + 59*time.Second, false},
		{255, 10, 3 * time.Minute, true},
	} {
		se := newSeries("v")
		se.jitter, se.head, se.headSince = tc.jitter, make([]entry, tc.fixes), now.Add(-tc.age)
		if got := s.due(se, now); got != tc.due {
			t.Errorf("jitter %d, %d fixes, %v old: due %v, want %v", tc.jitter, tc.fixes, tc.age, got, tc.due)
		}
	}
}

// TestMetrics: the head gauge counts what waits in memory, and a flush moves it into chunks,
// counted and timed.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.chunkFixes, s.headAge, s.maxHeadBytes = 1<<30, time.Hour, 1<<40
	mustCommit(t, s, batchOf("a", 0, 30))
	mustCommit(t, s, batchOf("b", 0, 12))
	values := func() map[string]float64 {
		got := map[string]float64{}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			m := mf.GetMetric()[0]
			switch {
			case m.Gauge != nil:
				got[mf.GetName()] = m.Gauge.GetValue()
			case m.Counter != nil:
				got[mf.GetName()] = m.Counter.GetValue()
			case m.Histogram != nil:
				got[mf.GetName()] = float64(m.Histogram.GetSampleCount())
			}
		}
		return got
	}
	if v := values(); v["bw_sqlite_head_fixes"] != 42 || v["bw_sqlite_flushed_fixes_total"] != 0 || v["bw_sqlite_log_segments"] < 1 {
		t.Errorf("before the flush: %v", v)
	}
	if err := s.flush(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if v := values(); v["bw_sqlite_head_fixes"] != 0 || v["bw_sqlite_flushed_fixes_total"] != 42 || v["bw_sqlite_flush_seconds"] != 1 || v["bw_sqlite_flush_errors_total"] != 0 {
		t.Errorf("after the flush: %v", v)
	}
}

// TestFlushCrowded: over three quarters of maxHeadBytes, a flush takes the heads begun
// longest ago until memory is down to half of it, and leaves the recent ones filling.
func TestFlushCrowded(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "bw.db"))
	defer s.Close()
	s.chunkFixes, s.headAge, s.maxHeadBytes = 1<<30, time.Hour, 1<<40
	now := time.Now()
	for i, v := range []struct {
		veh   string
		fixes int
		age   time.Duration
	}{{"old", 40, 10 * time.Minute}, {"older", 30, 20 * time.Minute}, {"new", 20, time.Minute}, {"newer", 20, 0}} {
		mustCommit(t, s, batchOf(v.veh, i*100, i*100+v.fixes))
		s.series[v.veh].headSince = now.Add(-v.age)
	}
	// Half of the limit is what the two recent heads hold: the two oldest must go.
	s.mu.Lock()
	s.maxHeadBytes = 2*(s.series["new"].bytes+s.series["newer"].bytes) + 1
	s.mu.Unlock()
	if err := s.flush(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	for veh, want := range map[string]int{"older": 0, "old": 0, "new": 20, "newer": 20} {
		if got := len(s.series[veh].head); got != want {
			t.Errorf("%s: %d fixes left in its head, want %d", veh, got, want)
		}
	}
	if n := chunkFixes(t, s); n != 70 {
		t.Errorf("chunks hold %d fixes, want the two oldest heads' 70", n)
	}
}

// TestSecondOpenRefused: a second store on the same database (another server on the same
// data directory) is refused while the first is open, and opens once it is closed.
func TestSecondOpenRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	first, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if second, err := Open(t.Context(), path, Options{}); err == nil {
		second.Close()
		t.Fatal("a second Open of an open database succeeded")
	} else if !strings.Contains(err.Error(), "another process") {
		t.Errorf("second Open: %v, want it to name another process", err)
	}
	mustCommit(t, first, batchOf("a", 0, 3))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer again.Close()
	if got := trackIDs(t, again, "a"); len(got) != 3 {
		t.Errorf("after reopening, Track has %d fixes, want 3", len(got))
	}
}

// TestPageSize: a new database gets pageSize, its chunks flushed and read back across a
// reopen; a database made with SQLite's default 4 KiB pages keeps them and works the same.
func TestPageSize(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA journal_mode = WAL"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct {
		path string
		want int
	}{{filepath.Join(dir, "new.db"), pageSize}, {old, 4096}} {
		s := openAt(t, tc.path)
		var got int
		if err := s.w.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: page size %d, want %d", filepath.Base(tc.path), got, tc.want)
		}
		mustCommit(t, s, batchOf("a", 0, 2000))
		if err := s.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openAt(t, tc.path)
		if ids := trackIDs(t, s, "a"); len(ids) != 2000 {
			t.Errorf("%s: %d fixes read back from chunks, want 2000", filepath.Base(tc.path), len(ids))
		}
		s.Close()
	}
}

// TestReadersOwnTheirCopies: a flushed head's buffers are reused for later heads
// (headBufs), so what a reader took from a head must not change when the buffer is written
// over after the flush.
func TestReadersOwnTheirCopies(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "bw.db"))
	defer s.Close()
	b := batchOf("a", 0, 300)
	mustCommit(t, s, b)
	s.mu.RLock()
	buf := s.series["a"].cw.buf
	s.mu.RUnlock()
	mem := s.memEntries("a", math.MinInt64, math.MaxInt64)
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range buf[:cap(buf)] { // as the next head given this buffer would
		buf[:cap(buf)][i] = 0xff
	}
	if len(mem) != len(b.Fixes) {
		t.Fatalf("%d fixes in memory, want %d", len(mem), len(b.Fixes))
	}
	for i := range mem {
		f, err := mem[i].fix("a", nil)
		if err != nil {
			t.Fatalf("fix %d read before the flush: %v", i, err)
		}
		if want := b.Fixes[i]; f.SpeedKmh != want.SpeedKmh || f.Attrs["mileage_km"] != want.Attrs["mileage_km"] {
			t.Fatalf("fix %d read before the flush changed with the head's buffer: %+v, want %+v", i, f, want)
		}
	}
}

// TestUnflushedBytesBounded: a fleet that never fills a head nor lets one age still keeps
// memory bounded: Commits wait for the flush of the oldest heads at the limit, every fix stays
// readable, and the wait is counted.
func TestUnflushedBytesBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), Options{Registerer: reg, MaxUnflushedBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.mu.Lock()
	s.chunkFixes, s.headAge = 1<<30, time.Hour
	s.mu.Unlock()
	const vehicles, per = 200, 50
	var most int64
	for v := range vehicles {
		mustCommit(t, s, batchOf(fmt.Sprintf("v%d", v), 0, per))
		s.mu.RLock()
		most = max(most, s.headBytes)
		one := s.series[fmt.Sprintf("v%d", v)].bytes
		s.mu.RUnlock()
		// At most the limit, and what the one Commit let through added.
		if limit := s.maxHeadBytes + one; most > limit {
			t.Fatalf("after vehicle %d: %d bytes unflushed, more than the limit and one batch (%d)", v, most, limit)
		}
	}
	for _, v := range []int{0, vehicles / 2, vehicles - 1} {
		if got := trackIDs(t, s, fmt.Sprintf("v%d", v)); len(got) != per {
			t.Errorf("v%d: %d fixes readable, want %d", v, len(got), per)
		}
	}
	if w := testutil.ToFloat64(s.m.roomWait); w <= 0 {
		t.Errorf("no commit waited for room (%v s), with %d bytes of fixes over a 64 KiB limit", w, vehicles*per*int(entrySize))
	}
	if n := testutil.ToFloat64(s.m.flushed); n == 0 {
		t.Error("nothing was flushed")
	}
}

// TestUnflushedFullFlushFailing: at the limit with a database that no longer takes the flush,
// a Commit reports the flush's error instead of waiting for ever, and stores nothing.
func TestUnflushedFullFlushFailing(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), Options{MaxUnflushedBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.chunkFixes, s.headAge = 1<<30, time.Hour
	s.mu.Unlock()
	for v := 0; ; v++ {
		s.mu.RLock()
		full := s.headBytes >= s.maxHeadBytes
		s.mu.RUnlock()
		if full {
			break
		}
		mustCommit(t, s, batchOf(fmt.Sprintf("v%d", v), 0, 50))
	}
	s.w.Close() // the flush's transactions now fail
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = s.Commit(ctx, batchOf("late", 0, 5))
	if err == nil || !strings.Contains(err.Error(), "flush fails") {
		t.Fatalf("Commit at the limit with flushes failing: %v, want the flush's error", err)
	}
	s.mu.RLock()
	se := s.series["late"]
	s.mu.RUnlock()
	if se != nil && len(se.head) > 0 {
		t.Errorf("the refused batch left %d fixes in memory", len(se.head))
	}
	s.Close()
}

// TestHeadGrowthKeepsData: a head's chunk buffer grows fix by fix, its entries moved into each
// new one, also with fixes arriving out of order and a head put back by a failed flush: every
// fix reads back as committed, from memory and after the flush from chunks, and the memory
// counted is what the head holds, no buffer it outgrew.
func TestHeadGrowthKeepsData(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "bw.db"))
	defer s.Close()
	check := func(when string, n int) {
		t.Helper()
		got, err := s.Track(t.Context(), "v", t0.Add(-time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%s: %d fixes, want %d", when, len(got), n)
		}
		for i, f := range got {
			want := testFix("v", i)
			if f.Lat != want.Lat || f.Lon != want.Lon || f.SpeedKmh != want.SpeedKmh || f.Attrs["mileage_km"] != want.Attrs["mileage_km"] || f.Attrs["driver"] != "Bat" {
				t.Fatalf("%s: fix %d reads back as %+v, want %+v", when, i, f, want)
			}
		}
	}
	for n := range 300 {
		k := n
		if n%10 == 9 {
			k = n - 5 // late: inserted before fixes already in the head
		} else if n%10 >= 4 && n%10 <= 8 {
			k = n + 1
		}
		mustCommit(t, s, batchOf("v", k, k+1))
	}
	check("in memory", 300)
	s.mu.RLock()
	se := s.series["v"]
	if se.retired != 0 || se.bytes != int64(cap(se.head))*entrySize+int64(cap(se.cw.buf)) {
		t.Errorf("head counts %d bytes, %d of them outgrown buffers; it holds %d entries and a %d-byte buffer", se.bytes, se.retired, cap(se.head), cap(se.cw.buf))
	}
	s.mu.RUnlock()
	// A flush that fails puts the head back, mixed with what came meanwhile.
	cuts := []cut{}
	s.mu.Lock()
	cuts = append(cuts, cut{se: se, es: se.head, minLSN: se.headLSN, maxLSN: se.headMaxLSN, since: se.headSince})
	s.headFixes -= len(se.head)
	se.flushing = se.head
	se.resetHead()
	cuts[0].bytes = se.flushingBytes
	s.active = slices.DeleteFunc(s.active, func(a *series) bool { return a == se })
	s.mu.Unlock()
	for n := 300; n < 400; n++ {
		mustCommit(t, s, batchOf("v", n, n+1))
	}
	s.restoreCuts(cuts)
	for n := 400; n < 500; n++ {
		mustCommit(t, s, batchOf("v", n, n+1))
	}
	check("put back and grown again", 500)
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("from chunks", 500)
	s.mu.RLock()
	if s.headBytes != 0 {
		t.Errorf("%d bytes counted in heads after flushing them all", s.headBytes)
	}
	s.mu.RUnlock()
}

// TestPooledSize: a pooled capacity holds n, wastes at most an eighth, and is its own class
// (a buffer put back is found by the next head of that size).
func TestPooledSize(t *testing.T) {
	for n := 1; n < 1<<20; n += 1 + n/97 {
		size := pooledSize(n)
		if size < n || n > 8 && size > n+n/8 || pooledSize(size) != size {
			t.Fatalf("pooledSize(%d) = %d (its own class %d)", n, size, pooledSize(size))
		}
	}
}
