package gangs_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/gangs"
)

var now = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

func cross(veh, port, dir string, at time.Time) tracker.Event {
	return tracker.Event{Type: tracker.EventBorderCross, Time: at, VehicleID: veh, Attrs: map[string]any{"port_zone_id": port, "direction": dir}}
}

// district is 30 days of a morning convoy: 40 trucks cross at Erenhot inbound between 01:00 and
// 01:40 UTC in a random order, each on most days, the control among them.
func district(r *rand.Rand) []tracker.Event {
	var out []tracker.Event
	for d := range 30 {
		day := now.AddDate(0, 0, -d-1).Truncate(24 * time.Hour)
		for i := range 40 {
			if r.Float64() < 0.2 {
				continue
			}
			at := day.Add(time.Hour + time.Duration(r.IntN(40*60))*time.Second)
			veh := fmt.Sprintf("truck-%02d", i)
			if i == 0 {
				veh = "control"
			}
			out = append(out, cross(veh, "port-erenhot", "inbound", at))
		}
	}
	return out
}

// TestFind plants three vehicles that cross together every third day, at different ports and
// hours, in the convoy's district; the group is found with its trips, and no convoy truck,
// the control least of all, is in any group.
func TestFind(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	events := district(r)
	gang := []string{"gang-a", "gang-b", "gang-c"}
	for d := 0; d < 30; d += 3 {
		at := now.AddDate(0, 0, -d-1).Truncate(24 * time.Hour).Add(time.Duration(3+d%5) * time.Hour)
		port := []string{"port-ceke", "port-erenhot"}[d%2]
		for i, v := range gang {
			// The control crosses right with the gang once: chance, not a group.
			events = append(events, cross(v, port, "outbound", at.Add(time.Duration(i*40)*time.Second)))
		}
		if d == 6 {
			events = append(events, cross("control", port, "outbound", at.Add(50*time.Second)))
		}
		// A jittery fence: gang-a's crossing reported twice within a minute counts once.
		events = append(events, cross("gang-a", port, "outbound", at.Add(30*time.Second)))
	}
	// Crossings older than the window are not counted.
	for i := range 5 {
		at := now.AddDate(0, -3, -i)
		events = append(events, cross("old-a", "port-ceke", "inbound", at), cross("old-b", "port-ceke", "inbound", at.Add(time.Minute)))
	}

	groups := gangs.Find(events, nil, now, gangs.Config{})
	if len(groups) != 1 {
		t.Fatalf("%d groups, want the gang alone: %+v", len(groups), groups)
	}
	g := groups[0]
	if !slices.Equal(g.Members, gang) || g.ID != "gang-a" {
		t.Errorf("members %v, want %v", g.Members, gang)
	}
	if len(g.Trips) != 10 || len(g.Edges) != 3 {
		t.Errorf("%d trips and %d edges, want 10 and 3", len(g.Trips), len(g.Edges))
	}
	for _, e := range g.Edges {
		if e.Trips != 10 {
			t.Errorf("edge %+v: want 10 trips, the jittery crossing once", e)
		}
	}
	if tr := g.Trips[0]; !slices.Equal(tr.Vehicles, gang) || tr.Direction != "outbound" || !tr.Time.After(g.Trips[1].Time) {
		t.Errorf("newest trip %+v", tr)
	}
}

// TestFindTooFewTrips: two trips together are not yet a group, three are.
func TestFindTooFewTrips(t *testing.T) {
	var events []tracker.Event
	for d := range 3 {
		at := now.AddDate(0, 0, -d-1)
		events = append(events, cross("a", "port-ceke", "inbound", at), cross("b", "port-ceke", "inbound", at.Add(2*time.Minute)))
	}
	if g := gangs.Find(events[:4], nil, now, gangs.Config{}); len(g) != 0 {
		t.Errorf("two trips: %+v", g)
	}
	if g := gangs.Find(events, nil, now, gangs.Config{}); len(g) != 1 {
		t.Errorf("three trips: %+v", g)
	}
	// Opposite directions are not together.
	events = append(events[:0:0], events...)
	for i := range events {
		if events[i].VehicleID == "b" {
			events[i].Attrs = map[string]any{"port_zone_id": "port-ceke", "direction": "outbound"}
		}
	}
	if g := gangs.Find(events, nil, now, gangs.Config{}); len(g) != 0 {
		t.Errorf("opposite directions: %+v", g)
	}
}

func meet(a, b string, at time.Time) tracker.Alert {
	ev, _ := json.Marshal(map[string]any{"vehicles": []string{a, b}})
	return tracker.Alert{Type: tracker.AlertMeeting, VehicleID: a, Time: at, Lat: 43.1, Lon: 111.9, Evidence: ev}
}

// TestFindMeetings: a contact abroad who never crosses meets two trucks on three days and joins
// their group by meeting edges; the trucks' edge is of both kinds. Controls: ten vehicles that
// stood together once (every pair a meeting, on one day), a pair that met twice on one day, a
// pair whose second meeting is older than the window, and alerts that are no meetings or name
// no pair form no edge.
func TestFindMeetings(t *testing.T) {
	var events []tracker.Event
	var alerts []tracker.Alert
	for d := range 4 {
		at := now.AddDate(0, 0, -3*d-1).Truncate(24 * time.Hour).Add(2 * time.Hour)
		events = append(events, cross("truck-a", "port-erenhot", "inbound", at), cross("truck-b", "port-erenhot", "inbound", at.Add(time.Minute)))
		if d < 3 {
			alerts = append(alerts, meet("contact", "truck-a", at.Add(-time.Hour)), meet("truck-a", "contact", at.Add(-time.Hour+time.Minute)),
				meet("contact", "truck-b", at.Add(-time.Hour)), meet("truck-a", "truck-b", at.Add(-time.Hour)))
		}
	}
	busy := now.AddDate(0, 0, -5)
	for i := range 10 {
		for j := i + 1; j < 10; j++ {
			alerts = append(alerts, meet(fmt.Sprintf("yard-%d", i), fmt.Sprintf("yard-%d", j), busy.Add(time.Duration(i)*time.Minute)))
		}
	}
	alerts = append(alerts, meet("twice-a", "twice-b", busy), meet("twice-a", "twice-b", busy.Add(3*time.Hour)),
		meet("old-a", "old-b", busy), meet("old-a", "old-b", now.AddDate(0, 0, -40)),
		tracker.Alert{Type: tracker.AlertDetour, VehicleID: "x", Time: busy, Evidence: json.RawMessage(`{"vehicles":["x","y"]}`)},
		tracker.Alert{Type: tracker.AlertMeeting, VehicleID: "x", Time: busy, Evidence: json.RawMessage(`{"vehicles":["x","x"]}`)},
		tracker.Alert{Type: tracker.AlertMeeting, VehicleID: "x", Time: busy.Add(48 * time.Hour), Evidence: json.RawMessage(`{"vehicles":["x","x"]}`)},
		tracker.Alert{Type: tracker.AlertMeeting, VehicleID: "x", Time: busy, Evidence: json.RawMessage(`not json`)})

	groups := gangs.Find(events, alerts, now, gangs.Config{})
	if len(groups) != 1 {
		t.Fatalf("%d groups, want one: %+v", len(groups), groups)
	}
	g := groups[0]
	if want := []string{"contact", "truck-a", "truck-b"}; !slices.Equal(g.Members, want) {
		t.Fatalf("members %v, want %v", g.Members, want)
	}
	kinds := map[string][]string{}
	for _, e := range g.Edges {
		kinds[e.A+"-"+e.B] = e.Kinds
		if e.A == "contact" && (e.Meetings < 3 || e.MeetingDays != 3 || e.LastMeeting.IsZero() || e.Trips != 0) {
			t.Errorf("edge %+v: want 3 meeting days and no trips", e)
		}
		if e.A == "truck-a" && (e.Trips != 4 || e.MeetingDays != 3 || !e.LastTrip.After(e.LastMeeting)) {
			t.Errorf("edge %+v: want 4 trips and 3 meeting days", e)
		}
	}
	want := map[string][]string{"contact-truck-a": {gangs.KindMeeting}, "contact-truck-b": {gangs.KindMeeting}, "truck-a-truck-b": {gangs.KindCrossing, gangs.KindMeeting}}
	if len(kinds) != len(want) {
		t.Errorf("edges %v, want %v", kinds, want)
	}
	for k, w := range want {
		if !slices.Equal(kinds[k], w) {
			t.Errorf("edge %s kinds %v, want %v", k, kinds[k], w)
		}
	}
	if len(g.Meetings) != 9+3 || len(g.Trips) != 4 || !g.Meetings[0].Time.After(g.Meetings[len(g.Meetings)-1].Time) {
		t.Errorf("%d meetings, %d trips: want 12 (3 days of 4 alerts) and 4, newest first", len(g.Meetings), len(g.Trips))
	}
	// One meeting day fewer than needed: the contact drops out, the trucks stay by their crossings.
	cfg := gangs.Config{MinMeetingDays: 4}
	if g := gangs.Find(events, alerts, now, cfg); len(g) != 1 || !slices.Equal(g[0].Members, []string{"truck-a", "truck-b"}) {
		t.Errorf("four meeting days needed: %+v", g)
	}
}
