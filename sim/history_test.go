package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/gangs"
	"github.com/borderwatch/borderwatch/tracker/risk"
)

// TestHistoryPlan drives the planted month through the real geofence engine: every crossing
// is at the port, the gang's crossings make its trucks a group and nothing else, the ant is
// the one resident car the pattern flags (the daily commuter and the peers are not), each
// device's month fits in its burst of fixes, and nothing stands where it could meet what it
// should not: a yard or the port town for stays, homes and meeting spots apart.
func TestHistoryPlan(t *testing.T) {
	start := time.Date(2026, 3, 31, 0, 30, 0, 0, time.UTC) // 08:30 China time
	p, err := planHistory(start, 7)
	if err != nil {
		t.Fatal(err)
	}
	eng := geofence.NewEmbedded(geofence.Options{})
	zones := district.Zones()
	if err := eng.SetZones(context.Background(), zones); err != nil {
		t.Fatal(err)
	}
	var crossings []tracker.Event
	residents := map[string]bool{}
	for _, v := range p.vehicles {
		if v.kind == tracker.KindResidentCar {
			residents[v.id] = true
		}
		if n := len(v.reps); n == 0 || n > 900 {
			t.Errorf("%s: %d fixes, want 1..900 (a device's burst is 1000)", v.id, n)
		}
		for i, r := range v.reps {
			if i > 0 && !r.Time.After(v.reps[i-1].Time) {
				t.Fatalf("%s: fix %d at %s not after the one before", v.id, i, r.Time)
			}
			if i > 0 && r.SpeedKmh == 0 && v.reps[i-1].SpeedKmh == 0 && !stopAllowedAt(zones, orb.Point{r.Lon, r.Lat}) &&
				distance(orb.Point{r.Lon, r.Lat}, v.home) > 100 && !slices.ContainsFunc(p.meetings, func(m histMeeting) bool {
				return slices.Contains(m.vehicles, v) && !r.Time.Before(m.from.Add(-10*time.Minute)) && !r.Time.After(m.to.Add(10*time.Minute))
			}) {
				t.Errorf("%s stands at %v at %s: neither home, nor a meeting, nor where stopping is allowed", v.id, r, r.Time)
			}
			evs, err := eng.Update(context.Background(), geofence.Position{VehicleID: v.id, Time: r.Time, Lat: r.Lat, Lon: r.Lon})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Type == geofence.BorderCross {
					if e.PortZoneID != histPort {
						t.Errorf("%s crossed at %q, want %s", v.id, e.PortZoneID, histPort)
					}
					crossings = append(crossings, tracker.ZoneEvent(v.id, e, 0, false))
				}
			}
		}
		if last := v.reps[len(v.reps)-1]; distance(orb.Point{last.Lon, last.Lat}, v.home) > 1 || !last.Time.Before(start) {
			t.Errorf("%s ends at %v, want at home before the start", v.id, last)
		}
		for _, u := range p.vehicles {
			if u != v && distance(u.home, v.home) < 200 {
				t.Errorf("homes of %s and %s %.0f m apart", u.id, v.id, distance(u.home, v.home))
			}
		}
	}
	for _, v := range p.vehicles {
		n := 0
		for _, c := range crossings {
			if c.VehicleID == v.id {
				n++
			}
		}
		t.Logf("%-24s %3d fixes, %2d crossings", v.id, len(v.reps), n)
	}
	now := start.Add(5 * time.Hour)
	groups := gangs.Find(crossings, nil, now, gangs.Config{})
	if len(groups) != 1 || !slices.Equal(groups[0].Members, p.groups[0].Members[1:]) {
		t.Errorf("groups by crossings %+v, want the gang's trucks %v", groups, p.groups[0].Members[1:])
	}
	// The ranking's peers are every resident car: the run's may have crossed little or not at all.
	for _, live := range []int{0, 5, 10, 20, 100} {
		peers := maps.Clone(residents)
		for i := range live {
			peers[fmt.Sprintf("live-%d", i)] = true
		}
		for _, at := range []time.Time{start.Add(20 * time.Minute), start.Add(10 * time.Hour)} {
			if ants := risk.FindAnts(crossings, peers, at); len(ants) != 1 || ants[p.ants[0]].Week == 0 {
				t.Errorf("%d silent residents more, at %s: ants %+v, want %s alone", live, at, ants, p.ants[0])
			}
		}
	}
	commuter := "zamynuud-resident-002"
	if !slices.Contains(p.controls, commuter) {
		t.Fatalf("controls %v", p.controls)
	}
	var week int
	for _, c := range crossings {
		if c.VehicleID == commuter && now.Sub(c.Time) < 7*24*time.Hour {
			week++
		}
	}
	if week < 10 {
		t.Errorf("the commuter crossed %d times in the last week: no control for the ants' lower bound", week)
	}
	if len(p.meetings) != 4 {
		t.Errorf("%d meetings planted, want the gang's 3 and the convoy's one", len(p.meetings))
	}
	// While a meeting waits for its alerts, nothing stands in a control zone (it would lose its
	// signal) and the meeting's vehicles stand where stopping is not allowed.
	for _, m := range p.meetings {
		for _, v := range p.vehicles {
			i, _ := slices.BinarySearchFunc(v.reps, m.to, func(r report, t time.Time) int { return r.Time.Compare(t) })
			if i < len(v.reps) && v.reps[i].Time.Equal(m.to) {
				i++
			}
			if i == 0 {
				continue
			}
			r := v.reps[i-1]
			at := orb.Point{r.Lon, r.Lat}
			if inKind(zones, geofence.KindControlZone, at) {
				t.Errorf("%s is in a control zone at %v while the meeting of %s waits", v.id, r, m.to)
			}
			if slices.Contains(m.vehicles, v) && (r.SpeedKmh != 0 || stopAllowedAt(zones, at)) {
				t.Errorf("%s at the meeting of %s: %v", v.id, m.to, r)
			}
		}
	}
}

// inKind reports whether p lies in a zone of kind.
func inKind(zones []geofence.Zone, kind geofence.Kind, p orb.Point) bool {
	return slices.ContainsFunc(zones, func(z geofence.Zone) bool {
		poly, ok := z.Geometry.(orb.Polygon)
		return ok && z.Kind == kind && planar.PolygonContains(poly, p)
	})
}

// stopAllowedAt reports whether p lies in a zone where stopping is allowed (by its property,
// or by default in ports, yards and service areas), as the rules judge it.
func stopAllowedAt(zones []geofence.Zone, p orb.Point) bool {
	for _, z := range zones {
		poly, ok := z.Geometry.(orb.Polygon)
		if !ok || !planar.PolygonContains(poly, p) {
			continue
		}
		if v, ok := z.Properties["stop_allowed"].(bool); ok {
			if v {
				return true
			}
			continue
		}
		if z.Kind == geofence.KindPort || z.Kind == geofence.KindYard || z.Kind == geofence.KindServiceArea {
			return true
		}
	}
	return false
}
