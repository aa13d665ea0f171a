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
		[]tracker.TargetOrder{order("caught", true, now.AddDate(0, -2, 0)), order("caught", true, now.AddDate(0, -1, 0)), order("clean", false, now.AddDate(0, -1, 0))},
		[]tracker.Event{card("caught", "CARD-1", true), card("new-truck", "CARD-1", true), card("clean", "CARD-2", true),
			card("other", "CARD-3", true), card("removed-only", "CARD-1", false)},
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
