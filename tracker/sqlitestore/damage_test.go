package sqlitestore

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore/internal/segment"
)

// damagedLog writes records of vehicle a, 10 fixes each (record r: fixes 10r to 10r+9), into
// one segment and ends the store as a crash would. It returns the store's path, the segment's
// path and each record's offset in it.
func damagedLog(t *testing.T, records int) (path, seg string, offs []int) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	for r := range records {
		mustCommit(t, s, batchOf("a", 10*r, 10*r+10))
	}
	seg = s.log.segPath(s.log.cur)
	crash(t, s)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for off := segment.HeaderLen; off < len(data); off += frameHeader + int(binary.LittleEndian.Uint32(data[off+4:])) {
		offs = append(offs, off)
	}
	if len(offs) != records {
		t.Fatalf("segment holds %d records, want %d", len(offs), records)
	}
	return path, seg, offs
}

// editFile replaces the file's bytes with edit's result.
func editFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// openLogged opens the store at path with its log and metrics where the test can read them.
func openLogged(t *testing.T, path string) (*Store, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s, err := Open(t.Context(), path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.chunkFixes, s.headAge, s.maxHeadBytes = 1<<30, time.Hour, 1<<40
	return s, &logs
}

// TestDamagedRecordMidSegment: a record damaged in the middle of a segment costs that record
// alone. Recovery finds the next intact one, reads the rest of the segment, counts what was
// lost, says so in the log and the metrics, and keeps a copy of the segment.
func TestDamagedRecordMidSegment(t *testing.T) {
	const records = 10
	cases := []struct {
		name    string
		damage  func(data []byte, offs []int) []byte
		lost    []int // the records whose fixes are gone
		skipped int   // bytes reported skipped; 0: do not check
	}{
		{"payload byte flipped", func(d []byte, o []int) []byte { d[o[4]+frameHeader+5] ^= 0x40; return d }, []int{4}, 0},
		{"length flipped", func(d []byte, o []int) []byte { d[o[4]+6] ^= 0x10; return d }, []int{4}, 0},
		{"marker flipped", func(d []byte, o []int) []byte { d[o[4]] ^= 0xff; return d }, []int{4}, 0},
		{"record truncated", func(d []byte, o []int) []byte { return append(d[:o[5]-9:o[5]-9], d[o[5]:]...) }, []int{4}, 0},
		{"garbage between records", func(d []byte, o []int) []byte {
			return append(d[:o[5]:o[5]], append(bytes.Repeat([]byte{0xA5}, 100), d[o[5]:]...)...)
		}, nil, 100},
		{"garbage inside a record", func(d []byte, o []int) []byte {
			at := o[4] + frameHeader + 3
			return append(d[:at:at], append(bytes.Repeat([]byte{0}, 33), d[at:]...)...)
		}, []int{4}, 0},
		{"two records in a row", func(d []byte, o []int) []byte { d[o[2]+frameHeader] ^= 1; d[o[3]+frameHeader] ^= 1; return d }, []int{2, 3}, 0},
		{"two records apart", func(d []byte, o []int) []byte { d[o[2]+frameHeader] ^= 1; d[o[7]+frameHeader] ^= 1; return d }, []int{2, 7}, 0},
		{"first record", func(d []byte, o []int) []byte { d[o[0]+frameHeader+2] ^= 8; return d }, []int{0}, 0},
		{"last record, written whole", func(d []byte, o []int) []byte { d[o[9]+frameHeader+2] ^= 8; return d }, []int{9}, 0},
		{"segment header", func(d []byte, o []int) []byte { d[9] ^= 0xff; return d }, nil, segment.HeaderLen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, seg, offs := damagedLog(t, records)
			editFile(t, seg, func(d []byte) []byte { return tc.damage(d, offs) })
			s, logs := openLogged(t, path)

			lost := map[int]bool{}
			for _, r := range tc.lost {
				lost[r] = true
			}
			got := trackIDs(t, s, "a")
			for r := range records {
				for n := 10 * r; n < 10*r+10; n++ {
					if _, ok := got[testFix("a", n).Time]; ok == lost[r] {
						t.Errorf("record %d, fix %d: stored %v, want %v", r, n, ok, !lost[r])
					}
				}
			}
			d := s.LogDamage()
			if d.Records != len(tc.lost) || d.Bytes == 0 || tc.skipped > 0 && d.Bytes != int64(tc.skipped) || len(d.Segments) != 1 || d.Segments[0] != seg {
				t.Errorf("LogDamage = %+v, want %d records lost in %s", d, len(tc.lost), seg)
			}
			if v := testutil.ToFloat64(s.m.corruptRecords); v != float64(len(tc.lost)) {
				t.Errorf("bw_sqlite_fixlog_corrupt_records_total = %v, want %d", v, len(tc.lost))
			}
			if v := testutil.ToFloat64(s.m.corruptBytes); v != float64(d.Bytes) {
				t.Errorf("bw_sqlite_fixlog_corrupt_bytes_total = %v, want %d", v, d.Bytes)
			}
			if summary := "level=ERROR msg=\"fix log damaged\" store=sqlite records_lost=" + strconv.Itoa(len(tc.lost)) + " bytes_skipped=" + strconv.FormatInt(d.Bytes, 10); !strings.Contains(logs.String(), summary) {
				t.Errorf("log does not report the loss:\n%s", logs)
			}
			if fi, err := os.Stat(seg + ".damaged"); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("copy of the damaged segment: %v, %v", fi, err)
			}

			// The store goes on: new fixes and a second restart lose nothing more.
			mustCommit(t, s, batchOf("a", 100, 110))
			want := trackIDs(t, s, "a")
			crash(t, s)
			s, _ = openLogged(t, path)
			defer s.Close()
			if got := trackIDs(t, s, "a"); len(got) != len(want) {
				t.Errorf("after a second restart %d fixes, want %d", len(got), len(want))
			}
		})
	}
}

// TestTornTailIsNotDamage: a record cut short at the end of its segment was being written when
// the process died and was never acknowledged; recovery drops it without counting a loss.
func TestTornTailIsNotDamage(t *testing.T) {
	path, seg, offs := damagedLog(t, 5)
	editFile(t, seg, func(d []byte) []byte { return d[:offs[4]+frameHeader+3] })
	s, logs := openLogged(t, path)
	defer s.Close()
	if got := trackIDs(t, s, "a"); len(got) != 40 {
		t.Errorf("%d fixes, want the 40 of the intact records", len(got))
	}
	if d := s.LogDamage(); d.Records != 0 || d.Bytes != 0 || len(d.Segments) != 0 {
		t.Errorf("LogDamage = %+v for a torn write", d)
	}
	if !strings.Contains(logs.String(), "torn record") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestForgedRecordInAFix: a device ID carrying bytes shaped as a record (OsmAnd takes any) is not taken
// for one when recovery scans through a damaged record that holds it: records start with the
// segment's random marker, which a device cannot know.
func TestForgedRecordInAFix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	mustCommit(t, s, batchOf("a", 0, 10))
	// A record of one fix of vehicle "forged", framed with a marker guessed wrong.
	forged := &tracker.Batch{Fixes: []tracker.Fix{testFix("forged", 1)}}
	data, err := appendFixData(nil, &forged.Fixes[0])
	if err != nil {
		t.Fatal(err)
	}
	payload := binary.AppendUvarint(nil, 1)
	payload = appendRecordFix(payload, "forged", &entry{t: us(forged.Fixes[0].Time), id: 1, dev: "x", lat: 1, lon: 1, data: data})
	frame := append(make([]byte, frameHeader), payload...)
	segment.PutRecordHeader(frame, [4]byte([]byte("ABCD")), 1)
	attack := batchOf("a", 10, 11)
	attack.Fixes[0].DeviceID = string(frame) // stored byte for byte
	mustCommit(t, s, attack)
	mustCommit(t, s, batchOf("a", 11, 20))
	seg := s.log.segPath(s.log.cur)
	crash(t, s)
	// The attacker's record is damaged by its marker.
	editFile(t, seg, func(d []byte) []byte {
		i := bytes.Index(d, []byte("ABCD"))
		j := bytes.LastIndex(d[:i], d[8:12])
		d[j] ^= 0xff
		return d
	})
	s, _ = openLogged(t, path)
	defer s.Close()
	if got := trackIDs(t, s, "forged"); len(got) != 0 {
		t.Errorf("the forged record was replayed: %v", got)
	}
	if got := trackIDs(t, s, "a"); len(got) != 19 {
		t.Errorf("%d fixes of a, want 19 (the damaged record's one lost)", len(got))
	}
	if d := s.LogDamage(); d.Records != 1 {
		t.Errorf("LogDamage = %+v, want 1 record lost", d)
	}
}

// TestVersion1Segment: a segment written before segments had headers is read as it was: every
// record up to the first bad one.
func TestVersion1Segment(t *testing.T) {
	for _, bad := range []bool{false, true} {
		path, seg, offs := damagedLog(t, 5)
		editFile(t, seg, func(d []byte) []byte {
			var v1 []byte
			for i, off := range offs {
				payload := d[off+frameHeader : off+frameHeader+int(binary.LittleEndian.Uint32(d[off+4:]))]
				v1 = binary.LittleEndian.AppendUint32(v1, uint32(len(payload)))
				sum := crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli))
				if bad && i == 2 {
					sum++
				}
				v1 = binary.LittleEndian.AppendUint32(v1, sum)
				v1 = append(v1, payload...)
			}
			return v1
		})
		s, _ := openLogged(t, path)
		want := 50
		if bad {
			want = 20
		}
		if got := trackIDs(t, s, "a"); len(got) != want {
			t.Errorf("bad record %v: %d fixes, want %d", bad, len(got), want)
		}
		mustCommit(t, s, batchOf("a", 50, 60)) // into a new, version 2 segment
		crash(t, s)
		s, _ = openLogged(t, path)
		if got := trackIDs(t, s, "a"); len(got) != want+10 {
			t.Errorf("bad record %v: %d fixes after the next restart, want %d", bad, len(got), want+10)
		}
		s.Close()
	}
}

// TestDamageInFlushedRecords: damage to records whose fixes are in chunks already loses nothing
// and is not counted as a loss; damage further on in the same segment is.
func TestDamageInFlushedRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	for r := range 5 {
		mustCommit(t, s, batchOf("a", 10*r, 10*r+10))
	}
	for r := range 5 {
		mustCommit(t, s, batchOf("b", 10*r, 10*r+10))
	}
	s.mu.Lock()
	s.series["a"].headSince = time.Now().Add(-2 * time.Hour)
	s.mu.Unlock()
	if err := s.flush(t.Context(), false); err != nil { // a's records are below the flushed LSN now
		t.Fatal(err)
	}
	seg := s.log.segPath(s.log.cur)
	crash(t, s)
	editFile(t, seg, func(d []byte) []byte {
		var offs []int
		for off := segment.HeaderLen; off < len(d); off += frameHeader + int(binary.LittleEndian.Uint32(d[off+4:])) {
			offs = append(offs, off)
		}
		d[offs[2]+frameHeader+4] ^= 1 // a's third record
		d[offs[7]+frameHeader+4] ^= 1 // b's third record
		return d
	})
	s, logs := openLogged(t, path)
	defer s.Close()
	if got := len(trackIDs(t, s, "a")); got != 50 {
		t.Errorf("a: %d fixes, want all 50 (from chunks)", got)
	}
	if got := len(trackIDs(t, s, "b")); got != 40 {
		t.Errorf("b: %d fixes, want 40", got)
	}
	if d := s.LogDamage(); d.Records != 1 {
		t.Errorf("LogDamage = %+v, want b's one record lost", d)
	}
	if !strings.Contains(logs.String(), "holding only fixes already in the database") {
		t.Errorf("log:\n%s", logs)
	}
}
