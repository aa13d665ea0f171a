package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testAlertDedup(t *testing.T, s Store) {
	first := newAlert("v1", "detour:v1:decl-7", base)
	b := &tracker.Batch{Alerts: []tracker.Alert{first}}
	commit(t, s, b)
	id := b.Alerts[0].ID
	if id <= 0 {
		t.Fatalf("alert ID = %d, want a positive ID", id)
	}
	want := first
	want.ID, want.Status = id, tracker.StatusOpen
	checkAlert(t, want, getAlert(t, s, id))

	// The rule sees the same incident again: same alert, what the rule knows now.
	upd := newAlert("v1", "detour:v1:decl-7", base.Add(5*time.Minute))
	upd.UpdatedAt = base.Add(5 * time.Minute)
	upd.Severity = tracker.SeverityCritical
	// What kind of incident it is may change too: blind-area fixes place a crossing first
	// recorded as unverified.
	upd.Type = tracker.AlertUnauthorizedStop
	upd.Message = "off the corridor by 3.4 km"
	upd.Evidence = json.RawMessage(`{"fix_ids":[1,2,3],"distance_m":3400}`)
	upd.Lat, upd.Lon, upd.Late = 43.7, 112.0, true
	b = &tracker.Batch{Alerts: []tracker.Alert{upd}}
	commit(t, s, b)
	if b.Alerts[0].ID != id {
		t.Fatalf("updated alert ID = %d, want %d", b.Alerts[0].ID, id)
	}
	want = upd
	want.ID, want.Status, want.Time = id, tracker.StatusOpen, base // the incident's first time is kept
	checkAlert(t, want, getAlert(t, s, id))

	// Acknowledged is not resolved: still the same alert, still acknowledged.
	ackAt := base.Add(6 * time.Minute)
	if _, err := s.SetAlertStatus(t.Context(), id, tracker.StatusAcknowledged, "officer1", "on my way", ackAt); err != nil {
		t.Fatal(err)
	}
	upd2 := upd
	upd2.UpdatedAt = base.Add(7 * time.Minute)
	upd2.Active = false
	upd2.Message = "back on the corridor"
	b = &tracker.Batch{Alerts: []tracker.Alert{upd2}}
	commit(t, s, b)
	if b.Alerts[0].ID != id {
		t.Fatalf("acknowledged alert's update got ID %d, want %d", b.Alerts[0].ID, id)
	}
	want = upd2
	want.ID, want.Status, want.Time = id, tracker.StatusAcknowledged, base
	want.AckedBy, want.AckedAt, want.Note = "officer1", &ackAt, "on my way"
	checkAlert(t, want, getAlert(t, s, id))

	// Once resolved, the key starts a new alert; the old one stays resolved.
	if _, err := s.SetAlertStatus(t.Context(), id, tracker.StatusResolved, "officer1", "driver fined", base.Add(8*time.Minute)); err != nil {
		t.Fatal(err)
	}
	again := newAlert("v1", "detour:v1:decl-7", base.Add(time.Hour))
	b = &tracker.Batch{Alerts: []tracker.Alert{again}}
	commit(t, s, b)
	newID := b.Alerts[0].ID
	if newID == id || newID <= 0 {
		t.Fatalf("alert after resolution got ID %d, want a new one (old %d)", newID, id)
	}
	if got := getAlert(t, s, id); got.Status != tracker.StatusResolved || got.Message != "back on the corridor" {
		t.Errorf("resolved alert changed: %+v", got)
	}
	if got := getAlert(t, s, newID); got.Status != tracker.StatusOpen || !got.Time.Equal(base.Add(time.Hour)) {
		t.Errorf("new alert = %+v, want open at %v", got, base.Add(time.Hour))
	}

	// The same key twice in one batch is one alert, the last version winning.
	x1 := newAlert("v2", "stop:v2", base)
	x2 := newAlert("v2", "stop:v2", base.Add(time.Minute))
	x2.UpdatedAt, x2.Message = base.Add(time.Minute), "stopped 20 min"
	other := newAlert("v2", "signal:v2", base)
	b = &tracker.Batch{Alerts: []tracker.Alert{x1, other, x2}}
	commit(t, s, b)
	if b.Alerts[0].ID != b.Alerts[2].ID || b.Alerts[0].ID == b.Alerts[1].ID {
		t.Fatalf("IDs = %d, %d, %d: want the first and last equal, the middle different", b.Alerts[0].ID, b.Alerts[1].ID, b.Alerts[2].ID)
	}
	if got := getAlert(t, s, b.Alerts[0].ID); got.Message != "stopped 20 min" || !got.Time.Equal(base) {
		t.Errorf("alert = %q at %v, want the last message and the first time", got.Message, got.Time)
	}
	if n := len(alerts(t, s, tracker.AlertQuery{VehicleID: "v2"})); n != 2 {
		t.Errorf("v2 has %d alerts, want 2", n)
	}

	if _, err := s.Alert(t.Context(), 987654321); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("Alert of a missing id: err = %v, want ErrNotFound", err)
	}
}

func testAlertLifecycle(t *testing.T, s Store) {
	tests := []struct {
		name  string
		steps []string // statuses to set in turn
		ok    []bool
	}{
		{"ack then resolve", []string{tracker.StatusAcknowledged, tracker.StatusResolved}, []bool{true, true}},
		{"resolve at once", []string{tracker.StatusResolved}, []bool{true}},
		{"resolved cannot be acknowledged", []string{tracker.StatusResolved, tracker.StatusAcknowledged}, []bool{true, false}},
		{"resolved cannot reopen", []string{tracker.StatusResolved, tracker.StatusOpen}, []bool{true, false}},
		{"resolved twice", []string{tracker.StatusResolved, tracker.StatusResolved}, []bool{true, false}},
		{"acknowledged twice", []string{tracker.StatusAcknowledged, tracker.StatusAcknowledged}, []bool{true, false}},
		{"acknowledged cannot reopen", []string{tracker.StatusAcknowledged, tracker.StatusOpen}, []bool{true, false}},
		{"open to open", []string{tracker.StatusOpen}, []bool{false}},
		{"unknown status", []string{"closed"}, []bool{false}},
	}
	for n, tt := range tests {
		a := newAlert("v1", tt.name, base.Add(time.Duration(n)*time.Minute))
		b := &tracker.Batch{Alerts: []tracker.Alert{a}}
		commit(t, s, b)
		want := a
		want.ID, want.Status = b.Alerts[0].ID, tracker.StatusOpen
		for i, st := range tt.steps {
			at := a.Time.Add(time.Duration(i+1) * time.Second)
			user, note := "user"+string(rune('a'+i)), "note "+st
			got, err := s.SetAlertStatus(t.Context(), want.ID, st, user, note, at)
			if !tt.ok[i] {
				if !errors.Is(err, tracker.ErrTransition) {
					t.Errorf("%s: %s → %s: err = %v, want ErrTransition", tt.name, want.Status, st, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %s → %s: %v", tt.name, want.Status, st, err)
				continue
			}
			want.Status, want.UpdatedAt = st, at
			if want.Note != "" {
				want.Note += "\n"
			}
			want.Note += note
			if st == tracker.StatusAcknowledged {
				want.AckedBy, want.AckedAt = user, &at
			} else {
				want.ResolvedBy, want.ResolvedAt = user, &at
			}
			checkAlert(t, want, got)
		}
		checkAlert(t, want, getAlert(t, s, want.ID)) // a refused change changed nothing
	}
	_, err := s.SetAlertStatus(t.Context(), 987654321, tracker.StatusAcknowledged, "u", "", base)
	wantErr(t, "SetAlertStatus of a missing alert", err, tracker.ErrNotFound)
}

func testAlertQuery(t *testing.T, s Store) {
	mk := func(veh, typ, key string, at time.Time) tracker.Alert {
		a := newAlert(veh, key, at)
		a.Type = typ
		return a
	}
	b := &tracker.Batch{Alerts: []tracker.Alert{
		mk("v1", tracker.AlertDetour, "a", base),
		mk("v1", tracker.AlertUnauthorizedStop, "b", base.Add(time.Minute)),
		mk("v2", tracker.AlertDetour, "c", base.Add(2*time.Minute)),
		mk("v2", tracker.AlertSignalLost, "d", base.Add(3*time.Minute)),
	}}
	b.Alerts[2].Severity = tracker.SeverityCritical
	gate, decl := "gate-7", "decl-q"
	b.Alerts[1].ZoneID = &gate
	b.Alerts[3].ZoneID, b.Alerts[3].DeclarationID = nil, &decl
	if err := s.CreateDeclaration(t.Context(), tracker.Declaration{ID: decl, VehicleID: "v2", Direction: tracker.Inbound, PortZoneID: "port-q",
		CorridorZoneID: "corridor-q", YardZoneID: "yard-q", ValidFrom: base, ValidTo: base.Add(time.Hour), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	commit(t, s, b)
	if _, err := s.SetAlertStatus(t.Context(), b.Alerts[1].ID, tracker.StatusResolved, "u", "", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    tracker.AlertQuery
		keys []string // newest first
	}{
		{"all", tracker.AlertQuery{}, []string{"d", "c", "b", "a"}},
		{"vehicle", tracker.AlertQuery{VehicleID: "v1"}, []string{"b", "a"}},
		{"type", tracker.AlertQuery{Type: tracker.AlertDetour}, []string{"c", "a"}},
		{"status open", tracker.AlertQuery{Status: tracker.StatusOpen}, []string{"d", "c", "a"}},
		{"status resolved", tracker.AlertQuery{Status: tracker.StatusResolved}, []string{"b"}},
		{"period", tracker.AlertQuery{From: base.Add(time.Minute), To: base.Add(3 * time.Minute)}, []string{"c", "b"}},
		{"limit keeps the newest", tracker.AlertQuery{Limit: 2}, []string{"d", "c"}},
		{"everything at once", tracker.AlertQuery{VehicleID: "v2", Type: tracker.AlertDetour, Status: tracker.StatusOpen, From: base, To: base.Add(time.Hour)}, []string{"c"}},
		{"nothing", tracker.AlertQuery{VehicleID: "v9"}, nil},
		{"severity", tracker.AlertQuery{Severity: tracker.SeverityCritical}, []string{"c"}},
		{"vehicles", tracker.AlertQuery{VehicleIDs: []string{"v2", "v9"}}, []string{"d", "c"}},
		{"zone of the alert", tracker.AlertQuery{Zones: []string{"gate-7"}}, []string{"b"}},
		{"zone of the declaration", tracker.AlertQuery{Zones: []string{"port-q"}}, []string{"d"}},
		{"declaration's corridor or yard", tracker.AlertQuery{Zones: []string{"corridor-q", "yard-r"}}, []string{"d"}},
		{"zone matching neither", tracker.AlertQuery{Zones: []string{"port-z"}}, nil},
		{"offset pages on", tracker.AlertQuery{Limit: 2, Offset: 2}, []string{"b", "a"}},
		{"offset without limit", tracker.AlertQuery{Offset: 3}, []string{"a"}},
		{"offset past the end", tracker.AlertQuery{Limit: 2, Offset: 4}, nil},
		{"filters with offset", tracker.AlertQuery{Type: tracker.AlertDetour, Offset: 1}, []string{"a"}},
	}
	for _, tt := range tests {
		var keys []string
		for _, a := range alerts(t, s, tt.q) {
			keys = append(keys, a.DedupKey)
		}
		if !equalStrings(keys, tt.keys) {
			t.Errorf("%s: alerts %q, want %q", tt.name, keys, tt.keys)
		}
	}
}
