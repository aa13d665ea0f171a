package risk

import (
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestGroups: a group's members rank by membership, on top of their alerts and alone, with the
// group named; a control vehicle with one light alert stays below the threshold.
func TestGroups(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	s.Observe([]tracker.Alert{
		{ID: 1, Type: tracker.AlertUnauthorizedStop, VehicleID: "gang-a", Time: now.Add(-time.Hour)},
		{ID: 2, Type: tracker.AlertUnauthorizedStop, VehicleID: "control", Time: now.Add(-24 * time.Hour)},
	}, nil)
	s.SetGroups(map[string]Membership{
		"gang-a": {GroupID: "gang-a", Others: []string{"gang-b"}, Trips: 5},
		"gang-b": {GroupID: "gang-a", Others: []string{"gang-a"}, Trips: 5, Meetings: 2},
	})
	got := s.Ranking(now, 0)
	if len(got) != 2 || got[0].VehicleID != "gang-a" || got[1].VehicleID != "gang-b" {
		t.Fatalf("ranking %+v: want gang-a then gang-b, not the control", got)
	}
	if r := got[0].Reasons[len(got[0].Reasons)-1]; !strings.HasSuffix(r, "5 trips together in 30 days") {
		t.Errorf("gang-a, no meeting: reason %q", r)
	}
	if got[0].Score < 6.9 || got[1].Score != groupWeight {
		t.Errorf("scores %.2f and %.2f: want the stop's 3 plus %v, and %v alone", got[0].Score, got[1].Score, groupWeight, groupWeight)
	}
	if g := got[1].Group; g == nil || g.Trips != 5 || !strings.Contains(got[1].Reasons[len(got[1].Reasons)-1], "co-travel group gang-a: 5 trips together, 2 meetings in 30 days") {
		t.Errorf("gang-b: group %+v, reasons %q", g, got[1].Reasons)
	}
	s.SetGroups(nil)
	if got := s.Ranking(now, 0); len(got) != 0 {
		t.Errorf("after the group dissolved, a stop an hour old is below the threshold: %+v", got)
	}
}
