package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func events(t *testing.T, s Store, q tracker.EventQuery) []tracker.Event {
	t.Helper()
	got, err := s.Events(t.Context(), q)
	if err != nil {
		t.Fatalf("Events(%+v): %v", q, err)
	}
	return got
}

func testEvents(t *testing.T, s Store) {
	f1 := fix("d1", "v1", base, 43.65, 111.97)
	f2 := fix("d1", "v1", base.Add(time.Minute), 43.66, 111.98)
	f1.Seq, f2.Seq = 71, 72
	b := &tracker.Batch{
		Fixes: []tracker.Fix{f1, f2},
		Events: []tracker.Event{
			{Type: tracker.EventZoneEnter, Time: f1.Time, VehicleID: "v1", ZoneID: "erenhot-port", Lat: f1.Lat, Lon: f1.Lon, FixSeq: f1.Seq},
			{Type: tracker.EventBorderCross, Time: f2.Time, VehicleID: "v1", Lat: f2.Lat, Lon: f2.Lon, FixSeq: f2.Seq, Late: true,
				Attrs: map[string]any{"port_zone_id": "erenhot-port", "direction": "inbound"}},
		},
	}
	commit(t, s, b)
	for i, e := range b.Events {
		if e.ID <= 0 {
			t.Errorf("event %d ID = %d, want a positive ID", i, e.ID)
		}
		if want := b.Fixes[i].ID; e.FixID != want {
			t.Errorf("event %d FixID = %d, want %d (fix %d)", i, e.FixID, want, e.FixSeq)
		}
	}
	// An event of a fix stored earlier (FixSeq 0 keeps FixID), and one of another vehicle.
	later := &tracker.Batch{Events: []tracker.Event{
		{Type: tracker.EventStopStart, Time: base.Add(2 * time.Minute), VehicleID: "v1", Lat: 43.66, Lon: 111.98, FixID: b.Fixes[1].ID,
			Attrs: map[string]any{"duration_s": 300.0}},
		{Type: tracker.EventZoneEnter, Time: base.Add(30 * time.Second), VehicleID: "v2", ZoneID: "erenhot-port", Lat: 43.6, Lon: 111.9},
	}}
	commit(t, s, later)

	all := events(t, s, tracker.EventQuery{})
	if len(all) != 4 {
		t.Fatalf("Events returned %d events, want 4", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Time.Before(all[i-1].Time) {
			t.Errorf("events not oldest first: %v after %v", all[i].Time, all[i-1].Time)
		}
	}
	want := append(append([]tracker.Event(nil), b.Events...), later.Events...)
	byID := map[int64]tracker.Event{}
	for _, e := range all {
		byID[e.ID] = e
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Errorf("event %d (%s) not returned", w.ID, w.Type)
			continue
		}
		if g.Type != w.Type || !sameTime(w.Time, g.Time) || g.VehicleID != w.VehicleID || g.ZoneID != w.ZoneID ||
			g.Lat != w.Lat || g.Lon != w.Lon || g.FixID != w.FixID || g.Late != w.Late {
			t.Errorf("event %d = %+v, want %+v", w.ID, g, w)
		}
		if !(len(g.Attrs) == 0 && len(w.Attrs) == 0) && !sameJSON(t, g.Attrs, w.Attrs) {
			t.Errorf("event %d attrs = %v, want %v", w.ID, g.Attrs, w.Attrs)
		}
	}

	tests := []struct {
		name  string
		q     tracker.EventQuery
		types []string
	}{
		{"vehicle", tracker.EventQuery{VehicleID: "v1"}, []string{"zone_enter", "border_cross", "stop_start"}},
		{"type", tracker.EventQuery{Type: tracker.EventZoneEnter}, []string{"zone_enter", "zone_enter"}},
		{"vehicle and type", tracker.EventQuery{VehicleID: "v2", Type: tracker.EventZoneEnter}, []string{"zone_enter"}},
		{"from inclusive", tracker.EventQuery{From: base.Add(time.Minute)}, []string{"border_cross", "stop_start"}},
		{"to exclusive", tracker.EventQuery{To: base.Add(time.Minute)}, []string{"zone_enter", "zone_enter"}},
		{"period", tracker.EventQuery{VehicleID: "v1", From: base.Add(time.Second), To: base.Add(time.Hour)}, []string{"border_cross", "stop_start"}},
		{"limit keeps the oldest", tracker.EventQuery{VehicleID: "v1", Limit: 2}, []string{"zone_enter", "border_cross"}},
		{"newest first", tracker.EventQuery{VehicleID: "v1", NewestFirst: true}, []string{"stop_start", "border_cross", "zone_enter"}},
		{"newest first, limit keeps the newest", tracker.EventQuery{Type: tracker.EventZoneEnter, NewestFirst: true, Limit: 1}, []string{"zone_enter"}},
		{"nothing", tracker.EventQuery{VehicleID: "v3"}, nil},
	}
	for _, tt := range tests {
		got := events(t, s, tt.q)
		var types []string
		for _, e := range got {
			types = append(types, e.Type)
		}
		if !equalStrings(types, tt.types) {
			t.Errorf("%s: types = %q, want %q", tt.name, types, tt.types)
		}
	}

	// The first batch again, as the pipeline retries a commit whose reply was lost: its fixes
	// are duplicates, and their events were stored with them.
	again := &tracker.Batch{Fixes: []tracker.Fix{f1, f2}, Events: []tracker.Event{
		{Type: tracker.EventZoneEnter, Time: f1.Time, VehicleID: "v1", ZoneID: "erenhot-port", Lat: f1.Lat, Lon: f1.Lon, FixSeq: f1.Seq},
		{Type: tracker.EventBorderCross, Time: f2.Time, VehicleID: "v1", Lat: f2.Lat, Lon: f2.Lon, FixSeq: f2.Seq, Late: true},
	}}
	commit(t, s, again)
	if len(again.Duplicates) != 2 || !again.Duplicates[0] || !again.Duplicates[1] {
		t.Errorf("retried batch: duplicates %v, want both", again.Duplicates)
	}
	for i, e := range again.Events {
		if e.ID != 0 {
			t.Errorf("retried batch: event %d stored again (ID %d)", i, e.ID)
		}
	}
	if got := events(t, s, tracker.EventQuery{VehicleID: "v1"}); len(got) != 3 {
		t.Errorf("after the retried batch v1 has %d events, want 3", len(got))
	}
	if got := events(t, s, tracker.EventQuery{Type: tracker.EventZoneEnter, NewestFirst: true, Limit: 1}); len(got) != 1 || got[0].VehicleID != "v2" {
		t.Errorf("newest zone_enter = %+v, want v2's", got)
	}

	// The newest event of a type of each vehicle: the driver now at the wheel.
	card := func(veh string, at time.Time, id string) tracker.Event {
		return tracker.Event{Type: tracker.EventDriverIdentity, Time: at, VehicleID: veh, Attrs: map[string]any{"card_id": id}}
	}
	commit(t, s, &tracker.Batch{Events: []tracker.Event{card("v1", base.Add(time.Hour), "A"), card("v2", base, "B"),
		card("v1", base.Add(3*time.Hour), "C"), card("v1", base.Add(2*time.Hour), "D"), card("v2", base, "E")}})
	latest, err := s.LatestEvents(t.Context(), tracker.EventDriverIdentity)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range latest {
		got = append(got, e.VehicleID+" "+e.Attrs["card_id"].(string))
	}
	if want := []string{"v1 C", "v2 E"}; !equalStrings(got, want) {
		t.Errorf("LatestEvents = %q, want %q", got, want)
	}
	if latest, err := s.LatestEvents(t.Context(), tracker.EventWaybill); err != nil || len(latest) != 0 {
		t.Errorf("LatestEvents of a type never stored = %v, %v; want none", latest, err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testCommitAllOrNothing(t *testing.T, s Store) {
	f := fix("d1", "v1", base, 43.65, 111.97)
	f.Seq = 1
	bad := &tracker.Batch{
		Fixes:  []tracker.Fix{f},
		Alerts: []tracker.Alert{newAlert("v1", "k1", base)},
		Events: []tracker.Event{
			{Type: tracker.EventZoneEnter, Time: base, VehicleID: "v1", FixSeq: 1},
			{Type: tracker.EventZoneExit, Time: base, VehicleID: "v1", FixSeq: 5}, // no fix 5
		},
	}
	if err := s.Commit(t.Context(), bad); err == nil {
		t.Fatal("Commit with an event naming a missing fix succeeded")
	}
	if got := track(t, s, "v1", base.Add(-time.Hour), base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("failed Commit left %d fixes", len(got))
	}
	if got := events(t, s, tracker.EventQuery{}); len(got) != 0 {
		t.Errorf("failed Commit left %d events", len(got))
	}
	if got := alerts(t, s, tracker.AlertQuery{}); len(got) != 0 {
		t.Errorf("failed Commit left %d alerts", len(got))
	}
	if got, _ := s.LatestFixes(t.Context()); len(got) != 0 {
		t.Errorf("failed Commit left %d latest fixes", len(got))
	}
	// The same fix commits afterwards and is new.
	ok := &tracker.Batch{Fixes: []tracker.Fix{fix("d1", "v1", base, 43.65, 111.97)}}
	commit(t, s, ok)
	if ok.Duplicates[0] {
		t.Error("fix of a failed Commit counted as stored")
	}
}

func newAlert(veh, key string, at time.Time) tracker.Alert {
	zone := "erenhot-corridor"
	return tracker.Alert{
		Type:      tracker.AlertDetour,
		Severity:  tracker.SeverityWarning,
		VehicleID: veh,
		Time:      at,
		UpdatedAt: at,
		ZoneID:    &zone,
		Lat:       43.6,
		Lon:       111.9,
		Message:   "off the corridor by 1.2 km",
		DedupKey:  key,
		Active:    true,
		Evidence:  json.RawMessage(`{"fix_ids":[1,2],"distance_m":1200.5}`),
	}
}

func alerts(t *testing.T, s Store, q tracker.AlertQuery) []tracker.Alert {
	t.Helper()
	got, err := s.Alerts(t.Context(), q)
	if err != nil {
		t.Fatalf("Alerts(%+v): %v", q, err)
	}
	return got
}

func getAlert(t *testing.T, s Store, id int64) tracker.Alert {
	t.Helper()
	a, err := s.Alert(t.Context(), id)
	if err != nil {
		t.Fatalf("Alert(%d): %v", id, err)
	}
	return a
}

func checkAlert(t *testing.T, want, got tracker.Alert) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || got.Severity != want.Severity || got.Status != want.Status ||
		got.VehicleID != want.VehicleID || got.Late != want.Late || got.Lat != want.Lat || got.Lon != want.Lon ||
		got.Message != want.Message || got.DedupKey != want.DedupKey || got.Active != want.Active ||
		got.AckedBy != want.AckedBy || got.ResolvedBy != want.ResolvedBy || got.Note != want.Note {
		t.Errorf("alert = %+v\nwant    %+v", got, want)
	}
	if !sameTime(want.Time, got.Time) || !sameTime(want.UpdatedAt, got.UpdatedAt) {
		t.Errorf("alert %d time/updated = %v/%v, want %v/%v in UTC", want.ID, got.Time, got.UpdatedAt, want.Time, want.UpdatedAt)
	}
	if !sameOptTime(want.AckedAt, got.AckedAt) || !sameOptTime(want.ResolvedAt, got.ResolvedAt) {
		t.Errorf("alert %d acked/resolved at = %v/%v, want %v/%v", want.ID, got.AckedAt, got.ResolvedAt, want.AckedAt, want.ResolvedAt)
	}
	if !sameOptString(want.ZoneID, got.ZoneID) || !sameOptString(want.DeclarationID, got.DeclarationID) {
		t.Errorf("alert %d zone/declaration = %v/%v, want %v/%v", want.ID, got.ZoneID, got.DeclarationID, want.ZoneID, want.DeclarationID)
	}
	if !sameRaw(t, want.Evidence, got.Evidence) {
		t.Errorf("alert %d evidence = %s, want %s", want.ID, got.Evidence, want.Evidence)
	}
}

func sameOptTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return sameTime(*a, *b)
}

func sameOptString(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
