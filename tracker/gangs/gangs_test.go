package gangs_test

import (
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

	groups := gangs.Find(events, now, gangs.Config{})
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
	if g := gangs.Find(events[:4], now, gangs.Config{}); len(g) != 0 {
		t.Errorf("two trips: %+v", g)
	}
	if g := gangs.Find(events, now, gangs.Config{}); len(g) != 1 {
		t.Errorf("three trips: %+v", g)
	}
	// Opposite directions are not together.
	events = append(events[:0:0], events...)
	for i := range events {
		if events[i].VehicleID == "b" {
			events[i].Attrs = map[string]any{"port_zone_id": "port-ceke", "direction": "outbound"}
		}
	}
	if g := gangs.Find(events, now, gangs.Config{}); len(g) != 0 {
		t.Errorf("opposite directions: %+v", g)
	}
}
