package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// countFixes is how many fixes the store holds.
func countFixes(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM fixes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDuplicateInsideBatch: the same report twice in one batch, among new fixes, is stored
// once; the second copy is a duplicate with the first one's ID and its event is not stored.
func TestDuplicateInsideBatch(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b := &tracker.Batch{}
	for v := range 20 {
		b.Fixes = append(b.Fixes, sharedFix(v, 0, at))
	}
	b.Fixes = append(b.Fixes, b.Fixes[7])
	for _, f := range b.Fixes {
		b.Events = append(b.Events, tracker.Event{Type: tracker.EventWaybill, Time: f.Time, VehicleID: f.VehicleID, ZoneID: "z", FixSeq: f.Seq})
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	last := len(b.Fixes) - 1
	if !b.Duplicates[last] || b.Duplicates[7] || b.Fixes[last].ID != b.Fixes[7].ID {
		t.Fatalf("second copy: duplicate %v (first %v), ID %d, first copy's %d", b.Duplicates[last], b.Duplicates[7], b.Fixes[last].ID, b.Fixes[7].ID)
	}
	if b.Events[last].ID != 0 || b.Events[7].ID == 0 {
		t.Fatalf("events: second copy's ID %d (want none), first copy's %d", b.Events[last].ID, b.Events[7].ID)
	}
	if n := countFixes(t, s); n != 20 {
		t.Fatalf("%d fixes stored, want 20", n)
	}
	checkLatest(t, s, at, 20)
}

// TestIdenticalFixFlood: a terminal sending one report 10,000 times in a batch gets it stored
// once and 9,999 duplicates; the other vehicles' fixes of the batch are stored, and the next
// commits go the fast way again after slowAfterTaken.
func TestIdenticalFixFlood(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b := &tracker.Batch{}
	for v := range 100 {
		b.Fixes = append(b.Fixes, sharedFix(v, 0, at))
	}
	evil := sharedFix(1000, 0, at)
	for range 10000 {
		b.Fixes = append(b.Fixes, evil)
	}
	start := time.Now()
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	dups := 0
	for i, d := range b.Duplicates {
		if d {
			dups++
			if b.Fixes[i].ID != b.Fixes[100].ID {
				t.Fatalf("duplicate %d has ID %d, the stored copy %d", i, b.Fixes[i].ID, b.Fixes[100].ID)
			}
		}
	}
	if dups != 9999 || b.Duplicates[100] {
		t.Fatalf("%d duplicates (first copy duplicate: %v), want 9,999 and the first stored", dups, b.Duplicates[100])
	}
	if n := countFixes(t, s); n != 101 {
		t.Fatalf("%d fixes stored, want 101", n)
	}
	if took > 30*time.Second {
		t.Fatalf("a batch of 10,000 identical fixes took %v", took)
	}
	checkLatest(t, s, at, 101)
}

// TestHostileText: attributes with NUL bytes and invalid UTF-8 in keys and values go through
// COPY (JSON has no NUL in jsonb: it is stored as U+FFFD) without failing the batch, and so do
// a NUL and invalid UTF-8 in a fix's identifiers and flags, on the fast and on the sorting way.
func TestHostileText(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	hostile := func(n int) tracker.Fix {
		f := sharedFix(1, n, at)
		f.Attrs = map[string]any{"nul\x00key": "a\x00b", "bad": "\xff\xfe\xc3", "esc": `\u0000`, "n": 1.0}
		f.Flags = []string{"fl\x00ag", "\xc3\x28"}
		f.VehicleID, f.DeviceID, f.Protocol = "veh\x00\xff", "dev\x00\xfe", "pro\xc0to"
		return f
	}
	b := &tracker.Batch{Fixes: []tracker.Fix{hostile(0), sharedFix(2, 0, at)}}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatalf("fast way: %v", err)
	}
	resent := &tracker.Batch{Fixes: []tracker.Fix{hostile(0), hostile(1)}} // sorting way: one taken
	if err := s.Commit(ctx, resent); err != nil {
		t.Fatalf("sorting way: %v", err)
	}
	if !resent.Duplicates[0] || resent.Duplicates[1] || resent.Fixes[0].ID != b.Fixes[0].ID {
		t.Fatalf("resent hostile fix: duplicates %v, ID %d (stored %d)", resent.Duplicates, resent.Fixes[0].ID, b.Fixes[0].ID)
	}
	track, err := s.Track(ctx, b.Fixes[0].VehicleID, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(track) != 2 {
		t.Fatalf("%d fixes in the hostile vehicle's track, want 2", len(track))
	}
	f := track[0]
	if f.Attrs["nul\ufffdkey"] != "a\ufffdb" || f.Attrs["bad"] != "\ufffd\ufffd\ufffd" || f.Attrs["esc"] != `\u0000` || f.Attrs["n"] != 1.0 {
		t.Fatalf("attrs read back %q", f.Attrs)
	}
	if f.DeviceID != b.Fixes[0].DeviceID || len(f.Flags) != 2 || f.Flags[0] != b.Fixes[0].Flags[0] {
		t.Fatalf("read back device %q flags %q, the batch's %q %q", f.DeviceID, f.Flags, b.Fixes[0].DeviceID, b.Fixes[0].Flags)
	}
	if strings.ContainsRune(f.VehicleID, 0) || strings.ContainsRune(f.DeviceID, 0) || strings.ContainsRune(f.Flags[0], 0) {
		t.Fatalf("a NUL stored: vehicle %q device %q flags %q", f.VehicleID, f.DeviceID, f.Flags)
	}
}

// TestKilledMidCommit: the backend of a commit killed after its fixes were copied in, before
// COMMIT, loses nothing acknowledged and stores nothing of the failed commit; the batch
// committed again is stored whole, once.
func TestKilledMidCommit(t *testing.T) {
	url := newDB(t)
	s := open(t, url)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	acked := &tracker.Batch{}
	for v := range 50 {
		acked.Fixes = append(acked.Fixes, sharedFix(v, 0, at))
	}
	if err := s.Commit(ctx, acked); err != nil {
		t.Fatal(err)
	}
	// Another transaction holds a vehicle's latest_fixes row: the commit's upsert waits on it,
	// its fixes copied in and not yet committed.
	blocker, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	if _, err := blocker.Exec(ctx, "SELECT 1 FROM latest_fixes WHERE vehicle_id = 'veh-3' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	b := &tracker.Batch{}
	for v := range 50 {
		b.Fixes = append(b.Fixes, sharedFix(v, 1, at))
	}
	done := make(chan error, 1)
	go func() { done <- s.Commit(ctx, b) }()
	var pid int
	deadline := time.Now().Add(20 * time.Second)
	for pid == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the commit never waited on the held row")
		}
		err := s.pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%latest_fixes%'`).Scan(&pid)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := s.pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("a commit whose backend was killed before COMMIT succeeded")
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countFixes(t, s); n != 50 {
		t.Fatalf("%d fixes stored after the kill, want the 50 acknowledged", n)
	}
	track, err := s.Track(ctx, "veh-3", at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil || len(track) != 1 || track[0].ID != acked.Fixes[3].ID {
		t.Fatalf("acknowledged fix of veh-3: %v, %v", track, err)
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	for i, d := range b.Duplicates {
		if d {
			t.Fatalf("fix %d of the retried batch is a duplicate", i)
		}
	}
	if n := countFixes(t, s); n != 100 {
		t.Fatalf("%d fixes after the retry, want 100", n)
	}
	checkLatest(t, s, at.Add(10*time.Second), 50)
}

// TestCancelMidCopy: a commit cancelled while its rows are on their way fails, stores none of
// them, and leaves the pool usable.
func TestCancelMidCopy(t *testing.T) {
	s := open(t, newDB(t))
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b := &tracker.Batch{}
	for n := range 200 {
		for v := range 200 {
			b.Fixes = append(b.Fixes, sharedFix(v, n, at))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	err := s.Commit(ctx, b)
	if err == nil {
		t.Skip("the commit of 40,000 fixes beat a 5 ms deadline: nothing to test")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "cancel") {
		t.Logf("cancelled commit: %v", err)
	}
	if n := countFixes(t, s); n != 0 {
		t.Fatalf("%d fixes of a cancelled commit stored", n)
	}
	small := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(1, 0, at)}}
	if err := s.Commit(context.Background(), small); err != nil {
		t.Fatalf("commit after a cancelled one: %v", err)
	}
}

// TestHostileAlertText: an alert whose message, dedup key, vehicle and zone carry a NUL or
// invalid UTF-8 (text a terminal sent, put into the message), and an event of such a zone, are
// stored with U+FFFD in the batch beside good fixes, instead of failing the whole group commit
// at every retry; the batch holds what was stored, and the same alert again updates it.
func TestHostileAlertText(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	zone, decl := "zone\x00\xff", "decl\xc3\x28"
	alert := tracker.Alert{Type: "geofence_enter", Severity: "high\x00", VehicleID: "veh\x00\xfe", Time: at,
		ZoneID: &zone, DeclarationID: &decl, Message: "plate 蒙A\x00\xff12345 entered", DedupKey: "enter|veh\x00|zone",
		Active: true, Evidence: []byte(`{"text":"a` + "\xff" + `b\u0000c"}`)}
	fix := sharedFix(1, 0, at)
	fix.Seq = 7
	b := &tracker.Batch{Fixes: []tracker.Fix{fix, sharedFix(2, 0, at)}, Alerts: []tracker.Alert{alert},
		Events: []tracker.Event{{Type: "enter\x00", Time: at, VehicleID: fix.VehicleID, ZoneID: zone, FixSeq: 7, Attrs: map[string]any{"n\x00": "\xff"}}}}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatalf("a batch with a hostile alert: %v", err)
	}
	if n := countFixes(t, s); n != 2 {
		t.Fatalf("%d fixes stored, want the batch's 2", n)
	}
	got, err := s.Alert(ctx, b.Alerts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Message != "plate 蒙A\ufffd\ufffd12345 entered" || got.VehicleID != "veh\ufffd\ufffd" || got.Severity != "high\ufffd" ||
		*got.ZoneID != "zone\ufffd\ufffd" || *got.DeclarationID != "decl\ufffd(" || got.DedupKey != "enter|veh\ufffd|zone" {
		t.Fatalf("alert read back %+v", got)
	}
	if string(got.Evidence) != "{\"text\": \"a\ufffdb\ufffdc\"}" {
		t.Fatalf("evidence read back %s", got.Evidence)
	}
	if b.Alerts[0].Message != got.Message || *b.Alerts[0].ZoneID != *got.ZoneID || *alert.ZoneID != zone {
		t.Fatalf("the batch holds %q at %q, the store %q at %q (the caller's zone now %q)",
			b.Alerts[0].Message, *b.Alerts[0].ZoneID, got.Message, *got.ZoneID, *alert.ZoneID)
	}
	events, err := s.Events(ctx, tracker.EventQuery{VehicleID: fix.VehicleID})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].ZoneID != "zone\ufffd\ufffd" || events[0].Type != "enter\ufffd" || events[0].FixID != b.Fixes[0].ID {
		t.Fatalf("events read back %+v", events)
	}
	again := alert
	again.Message = "again\x00"
	b2 := &tracker.Batch{Alerts: []tracker.Alert{again}}
	if err := s.Commit(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if b2.Alerts[0].ID != b.Alerts[0].ID {
		t.Fatalf("the same hostile alert again is alert %d, want %d updated", b2.Alerts[0].ID, b.Alerts[0].ID)
	}
}

// encodeCounter is the store, counting the group commits whose fixes all came encoded ahead.
type encodeCounter struct {
	*Store
	mu               sync.Mutex
	encoded, without int
}

func (c *encodeCounter) Commit(ctx context.Context, b *tracker.Batch) error {
	c.mu.Lock()
	if len(b.Fixes) > 0 && len(b.Encoded) == len(b.Fixes) {
		c.encoded++
	} else if len(b.Fixes) > 0 {
		c.without++
	}
	c.mu.Unlock()
	return c.Store.Commit(ctx, b)
}

// TestEncodedAhead: fixes encoded by the pipeline's submitters (EncodeFix) are stored as the
// group commit stores them when it encodes them itself: attributes of every kind (those
// written directly and those left to encoding/json), flags, a hostile fix (not encoded ahead,
// its text made valid at commit) in the same group.
func TestEncodedAhead(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	attrs := []map[string]any{
		{"mileage_km": 12345.6, "signal": 20.0, "satellites": 9.0},
		{"tiny": 1e-7, "huge": 1e21, "neg": -0.5, "int": 7, "int64": int64(-9), "on": true, "off": false, "none": nil, "s": "plain text 1.2"},
		{"quote": `say "hi"`, "html": "<a&b>", "nested": map[string]any{"x": []any{1.0, "y"}}, "uni": "蒙A", "nan": math.NaN()},
		{"a": "b"},
		nil,
	}
	var fixes []tracker.Fix
	for i, a := range attrs {
		f := sharedFix(i, 0, at)
		f.Attrs = a
		if i == 1 {
			f.Flags = []string{tracker.FlagSOS, "vendor_x"}
		}
		fixes = append(fixes, f)
	}
	hostile := sharedFix(len(attrs), 0, at)
	hostile.Attrs = map[string]any{"k": "a\x00b"}
	hostile.VehicleID = "veh\x00"
	c := &encodeCounter{Store: s}
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: c})
	defer p.Close()
	if err := p.Submit(ctx, fixes); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(ctx, []tracker.Fix{hostile}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if c.encoded == 0 {
		t.Fatalf("no group commit had its fixes encoded ahead (%d without): the test tests nothing", c.without)
	}
	// The same fixes committed by a Commit that encodes them, as other vehicles.
	plain := &tracker.Batch{}
	for _, f := range fixes {
		f.VehicleID, f.DeviceID = "plain-"+f.VehicleID, "plain-"+f.DeviceID
		plain.Fixes = append(plain.Fixes, f)
	}
	if err := s.Commit(ctx, plain); err != nil {
		t.Fatal(err)
	}
	for i, f := range fixes {
		got, err := s.Track(ctx, f.VehicleID, at.Add(-time.Hour), at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Track(ctx, "plain-"+f.VehicleID, at.Add(-time.Hour), at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(want) != 1 {
			t.Fatalf("fix %d: %d stored encoded ahead, %d encoded at commit, want 1 each", i, len(got), len(want))
		}
		g, w := got[0], want[0]
		var ref map[string]any // what encoding/json makes of them
		if f.Attrs != nil {
			if err := json.Unmarshal(jsonOrNil(f.Attrs).([]byte), &ref); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(g.Attrs, ref) || !reflect.DeepEqual(w.Attrs, ref) {
			t.Errorf("fix %d: attributes read back %v encoded ahead, %v at commit, want %v", i, g.Attrs, w.Attrs, ref)
		}
		if !reflect.DeepEqual(g.Attrs, w.Attrs) || !reflect.DeepEqual(g.Flags, w.Flags) || !g.Time.Equal(w.Time) || g.Lat != w.Lat ||
			g.Lon != w.Lon || g.SpeedKmh != w.SpeedKmh || g.Valid != w.Valid || g.Protocol != w.Protocol {
			t.Errorf("fix %d encoded ahead reads back %+v, encoded at commit %+v", i, g, w)
		}
	}
	got, err := s.Track(ctx, "veh\ufffd", at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Attrs["k"] != "a\ufffdb" {
		t.Fatalf("the hostile fix read back %+v", got)
	}
}
