package sqlitestore

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// appendFixDataV1 is fix data as the fixes table held it before chunks.
func appendFixDataV1(dst []byte, f *tracker.Fix, flags, attrs string) []byte {
	bits := byte(0)
	if f.Valid {
		bits |= 1
	}
	dst = append(dst, fixCodecV1, bits)
	dst = binary.AppendVarint(dst, f.ReceivedAt.UnixMicro())
	for _, v := range []float64{f.SpeedKmh, f.Heading, f.AltitudeM} {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	dst = appendString(dst, f.Protocol)
	dst = appendString(dst, flags)
	return appendString(dst, attrs)
}

// TestLegacyFixesMoved: a database whose fixes are rows of the fixes table opens with them in
// chunks, the same IDs and fields, recognised when resent.
func TestLegacyFixesMoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	db, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:3] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	var want []tracker.Fix
	id := int64(1)
	for _, v := range []string{"a", "b"} {
		for n := 0; n < 1500; n++ {
			f := testFix(v, n)
			f.ID = id
			id++
			f.Flags = []string{"sos", "acc_on"}
			f.Attrs = map[string]any{"mileage_km": float64(n)}
			data := appendFixDataV1(nil, &f, "sos,acc_on", fmt.Sprintf(`{"mileage_km":%d}`, n))
			if _, err := db.Exec(`INSERT INTO fixes(vehicle_id, time_us, device_id, id, lat, lon, data) VALUES(?,?,?,?,?,?,?)`,
				v, f.Time.UnixMicro(), f.DeviceID, f.ID, f.Lat, f.Lon, data); err != nil {
				t.Fatal(err)
			}
			want = append(want, f)
		}
		// The newest fix as latest_fixes named it.
		if _, err := db.Exec(`INSERT INTO latest_fixes(vehicle_id, time_us, device_id) VALUES(?,?,?)`, v, testFix(v, 1499).Time.UnixMicro(), "dev-"+v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE meta SET value = ? WHERE key = 'next_fix_id'`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 3`); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	s := openAt(t, path)
	defer s.Close()
	var tables int
	if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('fixes', 'latest_fixes')`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("old tables left: %d, %v", tables, err)
	}
	for _, v := range []string{"a", "b"} {
		got, err := s.Track(t.Context(), v, t0, t0.Add(24*time.Hour))
		if err != nil || len(got) != 1500 {
			t.Fatalf("Track(%s) = %d fixes, %v; want 1500", v, len(got), err)
		}
		for i, g := range got {
			w := want[i]
			if v == "b" {
				w = want[1500+i]
			}
			if g.ID != w.ID || !g.Time.Equal(w.Time) || g.Lat != w.Lat || g.ReceivedAt.UnixMicro() != w.ReceivedAt.UnixMicro() ||
				g.SpeedKmh != w.SpeedKmh || fmt.Sprint(g.Flags) != fmt.Sprint(w.Flags) || g.Attrs["mileage_km"] != w.Attrs["mileage_km"] {
				t.Fatalf("%s fix %d = %+v, want %+v", v, i, g, w)
			}
		}
	}
	latest, err := s.LatestFixes(t.Context())
	if err != nil || len(latest) != 2 || latest[0].ID != 1500 || latest[1].ID != 3000 {
		t.Errorf("LatestFixes = %+v, %v", latest, err)
	}
	b := batchOf("a", 1490, 1510)
	for i := range 10 { // resent as they were stored: the same reports
		b.Fixes[i].Flags, b.Fixes[i].Attrs = want[1490+i].Flags, want[1490+i].Attrs
	}
	mustCommit(t, s, b)
	for i, f := range b.Fixes {
		if dup := i < 10; b.Duplicates[i] != dup || dup && f.ID != int64(1491+i) || !dup && f.ID < id {
			t.Errorf("fix %d after the move: duplicate %v ID %d", i, b.Duplicates[i], f.ID)
		}
	}
}
