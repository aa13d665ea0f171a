package sqlitestore

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/borderwatch/borderwatch/tracker"
)

// tileRows are the area index's rows of vehicle.
func tileRows(t *testing.T, s *Store, vehicle string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM fix_tiles WHERE vehicle_id = ?`, vehicle).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTilesPerVehicle: the newest stored tile that spares a flush the write of a tile already
// indexed is each vehicle's own (series.tile). Two vehicles in the same tile and bucket are
// both indexed, each flush after flush; and a flush that fails before its tiles are written
// leaves the vehicle's tile unknown, so that the retry writes it.
func TestTilesPerVehicle(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "bw.db"))
	defer s.Close()
	// a's and b's fixes lie on the same spots at the same times: one tile, one bucket.
	mustCommit(t, s, batchOf("a", 0, 3))
	mustCommit(t, s, batchOf("b", 0, 3))
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b"} {
		if n := tileRows(t, s, v); n != 1 {
			t.Errorf("vehicle %s: %d tile rows after the first flush, want 1", v, n)
		}
	}

	// c's head is cut and encoded as a flush does, and put back as when its write fails.
	mustCommit(t, s, batchOf("c", 0, 3))
	s.mu.Lock()
	se := s.series["c"]
	cuts := []cut{{se: se, es: se.head, minLSN: se.headLSN, maxLSN: se.headMaxLSN, since: se.headSince}}
	s.headFixes -= len(se.head)
	se.flushing = se.head
	se.resetHead()
	cuts[0].bytes = se.flushingBytes
	s.active = slices.DeleteFunc(s.active, func(a *series) bool { return a == se })
	s.mu.Unlock()
	if _, tiles := s.encodeCuts(cuts); len(tiles) != 1 {
		t.Fatalf("the failing flush found %d new tiles of c, want 1", len(tiles))
	}
	s.restoreCuts(cuts)
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := tileRows(t, s, "c"); n != 1 {
		t.Errorf("vehicle c: %d tile rows after a failed flush and its retry, want 1", n)
	}
	got, err := s.SearchArea(t.Context(), tracker.Box{MinLat: 42.99, MinLon: 110.99, MaxLat: 43.01, MaxLon: 111.01}, t0, t0.Add(time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(slices.DeleteFunc(got, func(f tracker.Fix) bool { return f.VehicleID != "c" })); n != 3 {
		t.Errorf("SearchArea finds %d of c's 3 fixes after the retried flush", n)
	}
}

// TestSeriesSize: every vehicle holds a series, allocated in the 320-byte size class (at 368
// bytes it took 384).
func TestSeriesSize(t *testing.T) {
	if n := unsafe.Sizeof(series{}); n > 320 {
		t.Errorf("series is %d bytes, want at most 320", n)
	}
}

// TestCommitKeepsNoHeadBuffers: the Commit's reused scratch of added fixes keeps nothing of
// them once it returns; their data lies in heads' chunk buffers, which a flush would
// otherwise leave alive until later Commits overwrote every entry.
func TestCommitKeepsNoHeadBuffers(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "bw.db"))
	defer s.Close()
	b := batchOf("a", 0, 5)
	b.Fixes = append(b.Fixes, batchOf("b", 0, 5).Fixes...)
	mustCommit(t, s, b)
	mustCommit(t, s, batchOf("c", 0, 1)) // fewer: the scratch's later entries are the first batch's
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	for i, a := range s.added[:cap(s.added)] {
		if a.se != nil || a.e.data != nil {
			t.Errorf("the Commit's scratch still holds added fix %d of %s (%d bytes of data)", i, a.se.vehicle, len(a.e.data))
		}
	}
}
