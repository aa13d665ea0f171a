package risk

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestFindAnts: among 30 resident cars crossing 2 to 4 times a week, one that crossed 3 times a
// week before and 16 times this week is flagged with its numbers; a control that always crosses
// 9 times a week (busy, but as ever) and one that went from 1 to 5 are not.
func TestFindAnts(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	residents := map[string]bool{}
	var events []tracker.Event
	crosses := func(id string, perWeek [4]int) {
		residents[id] = true
		for w, n := range perWeek {
			for i := range n {
				at := now.Add(-time.Duration(w)*antWeek - time.Duration(i+1)*7*time.Hour)
				events = append(events, tracker.Event{Type: tracker.EventBorderCross, VehicleID: id, Time: at})
			}
		}
	}
	for i := range 30 {
		n := 2 + i%3
		crosses(fmt.Sprintf("car-%02d", i), [4]int{n, n, n, n})
	}
	crosses("ant", [4]int{16, 3, 3, 4})
	crosses("busy-control", [4]int{9, 9, 9, 9})
	crosses("uptick", [4]int{5, 1, 1, 1})
	// A truck's crossings are not a resident car's.
	for i := range 30 {
		events = append(events, tracker.Event{Type: tracker.EventBorderCross, VehicleID: "truck", Time: now.Add(-time.Duration(i+1) * time.Hour)})
	}

	ants := FindAnts(events, residents, now)
	if len(ants) != 1 {
		t.Fatalf("ants %+v: want the ant alone", ants)
	}
	a := ants["ant"]
	if a.Week != 16 || a.OwnWeekly != 3 || a.PeerMedian != 3 || a.Z < antMinZ {
		t.Errorf("ant: %+v", a)
	}
	s := New(Config{Now: func() time.Time { return now }})
	s.SetAnts(ants)
	got := s.Ranking(now, 0)
	if len(got) != 1 || got[0].VehicleID != "ant" || !strings.Contains(got[0].Reasons[0], "ant moving: 16 border crossings in 7 days, against 3.0 a week") {
		t.Errorf("ranking %+v", got)
	}
}
