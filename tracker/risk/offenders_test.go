package risk

import (
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestOffenders: a vehicle once caught ranks again; a new vehicle its driver's card moved to
// inherits that; a vehicle inspected with nothing found, and one whose driver only ever drove
// it, stay silent.
func TestOffenders(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	order := func(veh string, found bool, at time.Time) tracker.TargetOrder {
		return tracker.TargetOrder{VehicleID: veh, Status: tracker.TargetClosed,
			Result: &tracker.InspectionResult{Found: found, Category: tracker.FindingUndeclaredGoods, At: at}}
	}
	card := func(veh, card string, inserted bool) tracker.Event {
		return tracker.Event{Type: tracker.EventDriverIdentity, VehicleID: veh, Time: now.Add(-time.Hour), Attrs: map[string]any{"card_id": card, "inserted": inserted}}
	}
	offenders := Offenders(
		[]tracker.TargetOrder{order("caught", true, now.AddDate(0, -2, 0)), order("caught", true, now.AddDate(0, -1, 0)), order("clean", false, now.AddDate(0, -1, 0))}, nil,
		[]tracker.Event{card("caught", "CARD-1", true), card("new-truck", "CARD-1", true), card("clean", "CARD-2", true),
			card("other", "CARD-3", true), card("removed-only", "CARD-1", false)}, nil,
	)
	if len(offenders) != 2 {
		t.Fatalf("offenders %+v: want caught and new-truck", offenders)
	}
	if o := offenders["caught"]; o.Findings != 2 || o.Via != "" || !o.Last.Equal(now.AddDate(0, -1, 0)) {
		t.Errorf("caught: %+v", o)
	}
	if o := offenders["new-truck"]; o.Via != "caught" || o.Card != "CARD-1" || o.Findings != 2 {
		t.Errorf("new-truck: %+v", o)
	}
	s := New(Config{Now: func() time.Time { return now }})
	s.SetOffenders(offenders)
	s.SetGroups(map[string]Membership{"new-truck": {GroupID: "g", Others: []string{"x"}, Trips: 3}})
	got := s.Ranking(now, 0)
	if len(got) != 2 || got[0].VehicleID != "new-truck" || got[0].Score != offenderWeight+groupWeight || got[1].Score != offenderWeight {
		t.Fatalf("ranking %+v", got)
	}
	if r := got[0].Reasons; len(r) != 2 || !strings.Contains(r[1], "driver card CARD-1 was also in caught, which had 2 earlier inspection finding(s)") {
		t.Errorf("new-truck's reasons %q", r)
	}
}

// TestConfirmedAlertsAndPlates: an alert an officer confirmed makes an offender as a finding
// does; a new vehicle registered under the plate an offender had when caught inherits it (the
// plate written another way too), and so does one under a caught vehicle's plate from an
// inspection; the offender's own record wins over inheritance, and a vehicle under another
// plate, or under the plate of a vehicle whose inspection found nothing, stays silent.
func TestConfirmedAlertsAndPlates(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	confirmed := []tracker.Confirmation{
		{AlertID: 1, VehicleID: "old-truck", Plate: "蒙K·A1234", Type: tracker.AlertMeeting, By: "p1", At: now.AddDate(0, -3, 0)},
		{AlertID: 2, VehicleID: "old-truck", Plate: "蒙K·A1234", Type: tracker.AlertDetour, By: "p1", At: now.AddDate(0, -1, 0)},
	}
	orders := []tracker.TargetOrder{
		{VehicleID: "caught", Plate: "蒙B·77777", Status: tracker.TargetClosed, Result: &tracker.InspectionResult{Found: true, Category: tracker.FindingUndeclaredGoods, At: now.AddDate(0, 0, -5)}},
		{VehicleID: "clean", Plate: "蒙B·55555", Status: tracker.TargetClosed, Result: &tracker.InspectionResult{Found: false, At: now.AddDate(0, 0, -5)}},
	}
	vehicles := []tracker.Vehicle{
		{ID: "old-truck", Plate: "蒙K·Z9999"}, // re-plated since
		{ID: "new-truck", Plate: "蒙k a1234"},
		{ID: "caught", Plate: "蒙B·77777"},
		{ID: "after-caught", Plate: "蒙B77777"},
		{ID: "after-clean", Plate: "蒙B·55555"},
		{ID: "stranger", Plate: "蒙K·A1235"},
	}
	got := Offenders(orders, confirmed, nil, vehicles)
	if len(got) != 4 {
		t.Fatalf("offenders %+v: want old-truck, new-truck, caught and after-caught", got)
	}
	if o := got["old-truck"]; o.Confirmed != 2 || o.Findings != 0 || o.Via != "" || o.Category != tracker.AlertDetour || !o.Last.Equal(now.AddDate(0, -1, 0)) {
		t.Errorf("old-truck: %+v", o)
	}
	if o := got["new-truck"]; o.Via != "old-truck" || o.Plate != "蒙k a1234" || o.Confirmed != 2 || o.Card != "" {
		t.Errorf("new-truck: %+v", o)
	}
	if o := got["caught"]; o.Via != "" || o.Findings != 1 {
		t.Errorf("caught: %+v", o)
	}
	if o := got["after-caught"]; o.Via != "caught" || o.Findings != 1 {
		t.Errorf("after-caught: %+v", o)
	}
	s := New(Config{Now: func() time.Time { return now }})
	s.SetOffenders(got)
	for _, tg := range s.Ranking(now, 0) {
		if tg.VehicleID == "new-truck" && !strings.Contains(tg.Reasons[0], "plate 蒙k a1234 was earlier old-truck's, which had 2 alert(s) confirmed as offences, the last 2026-03-03 (detour)") {
			t.Errorf("new-truck's reasons %q", tg.Reasons)
		}
	}
}
