package risk

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

const (
	// gradeWeight is what a load from a mine of another grade than declared adds: more than
	// the threshold, as a misdeclared grade (以次充好, or the reverse to pay less duty) is
	// what an inspection of the cargo finds.
	gradeWeight = 4.0
	// LoadMin is how long a stop in a mine must last to be a loading.
	LoadMin = 20 * time.Minute
	// GradeHistory is how far back a vehicle's loadings make its history.
	GradeHistory = 90 * 24 * time.Hour
	// tripLookback is how long before a declaration's valid_from the trip's loading may be.
	tripLookback = 72 * time.Hour
	// gradeRecent: declarations whose window ended longer ago are no longer the day's concern.
	gradeRecent = 24 * time.Hour
	// historyMin is the fewest loadings that make a history worth judging by.
	historyMin = 2
)

// GradeOrigin is the risk reason grade_origin: a declared cargo grade that the mine the truck
// loaded at does not yield. Loaded says when the trip's track shows it (the stop in the mine);
// when the track abroad is missing, FromHistory says its earlier loadings were all at mines of
// other grades, Loadings of them, most at Mine.
type GradeOrigin struct {
	DeclarationID string    `json:"declaration_id"`
	Declared      string    `json:"declared"` // the grade declared
	MineID        string    `json:"mine_id"`
	Mine          string    `json:"mine"`   // its name
	Origin        string    `json:"origin"` // the mine's grade
	Loaded        time.Time `json:"loaded,omitzero"`
	LoadMinutes   float64   `json:"load_minutes,omitempty"`
	FromHistory   bool      `json:"from_history,omitempty"`
	Loadings      int       `json:"loadings,omitempty"`
}

func (g *GradeOrigin) reason() string {
	if g.FromHistory {
		return fmt.Sprintf("grade_origin: declared grade %s, but its %d loadings in 90 days were all at mines of other grades, most at %s (grade %s); no track abroad for this trip",
			g.Declared, g.Loadings, g.Mine, g.Origin)
	}
	return fmt.Sprintf("grade_origin: declared grade %s, loaded at %s (grade %s) on %s, %.0f min",
		g.Declared, g.Mine, g.Origin, g.Loaded.In(tracker.ChinaTime).Format("2006-01-02 15:04"), g.LoadMinutes)
}

// mine is a mine zone as GradeOrigins uses it.
type mine struct {
	id, name, grade string
	area            orb.Geometry
}

// Mines picks the mine zones (geofence.KindMine with a grade) out of zones.
func Mines(zones []geofence.Zone) []geofence.Zone {
	return slices.DeleteFunc(slices.Clone(zones), func(z geofence.Zone) bool {
		g, _ := z.Properties["grade"].(string)
		return z.Kind != geofence.KindMine || strings.TrimSpace(g) == ""
	})
}

// loading is a stop of LoadMin or more in a mine.
type loading struct {
	m          *mine
	start, end time.Time
}

// GradeOrigins judges the graded inbound declarations of the day at now (not cancelled, their
// window ending at most a day ago) against where their trucks loaded: stops (stop_end events)
// of LoadMin or more in the mines. The trip's loading is the latest from tripLookback before
// the declaration's valid_from to its end; without one, the vehicle's loadings before make
// its history. A vehicle's newest declaration decides.
func GradeOrigins(decls []tracker.Declaration, stops []tracker.Event, mineZones []geofence.Zone, now time.Time) map[string]GradeOrigin {
	mines := make([]mine, 0, len(mineZones))
	for _, z := range Mines(mineZones) {
		mines = append(mines, mine{id: z.ID, name: z.Name, grade: strings.TrimSpace(z.Properties["grade"].(string)), area: z.Geometry})
	}
	loads := map[string][]loading{} // by vehicle, by end
	for _, e := range stops {
		dur, _ := e.Attrs["duration_s"].(float64)
		if e.Type != tracker.EventStopEnd || time.Duration(dur*float64(time.Second)) < LoadMin {
			continue
		}
		for i := range mines {
			if contains(mines[i].area, orb.Point{e.Lon, e.Lat}) {
				loads[e.VehicleID] = append(loads[e.VehicleID], loading{m: &mines[i], start: e.Time.Add(-time.Duration(dur * float64(time.Second))), end: e.Time})
				break
			}
		}
	}
	for _, ls := range loads {
		slices.SortFunc(ls, func(a, b loading) int { return a.end.Compare(b.end) })
	}
	decls = slices.Clone(decls)
	slices.SortFunc(decls, func(a, b tracker.Declaration) int {
		return cmp.Or(a.ValidFrom.Compare(b.ValidFrom), cmp.Compare(a.ID, b.ID))
	})
	out := map[string]GradeOrigin{}
	for _, d := range decls {
		if !graded(&d, now) {
			continue
		}
		declared := strings.TrimSpace(d.Grade)
		delete(out, d.VehicleID) // the newest declaration decides
		from, to := d.ValidFrom.Add(-tripLookback), earliest(now, d.ValidTo)
		if d.ClosedAt != nil {
			to = earliest(to, *d.ClosedAt)
		}
		ls := loads[d.VehicleID]
		var trip *loading
		for i := range ls {
			if !ls[i].end.Before(from) && !ls[i].end.After(to) {
				trip = &ls[i]
			}
		}
		if trip != nil {
			if !strings.EqualFold(trip.m.grade, declared) {
				out[d.VehicleID] = GradeOrigin{DeclarationID: d.ID, Declared: declared, MineID: trip.m.id, Mine: trip.m.name, Origin: trip.m.grade,
					Loaded: trip.start.UTC(), LoadMinutes: trip.end.Sub(trip.start).Minutes()}
			}
			continue
		}
		if g, ok := fromHistory(ls, from, now, declared); ok {
			g.DeclarationID = d.ID
			out[d.VehicleID] = g
		}
	}
	return out
}

// graded reports whether GradeOrigins judges d at now.
func graded(d *tracker.Declaration, now time.Time) bool {
	return strings.TrimSpace(d.Grade) != "" && d.Direction == tracker.Inbound && d.Status != tracker.DeclarationCancelled &&
		now.Sub(d.ValidTo) <= gradeRecent && !d.ValidFrom.After(now)
}

// GradedVehicles are the vehicles of the declarations GradeOrigins judges at now: those whose
// stops it needs, from GradeHistory before now.
func GradedVehicles(decls []tracker.Declaration, now time.Time) []string {
	var out []string
	for i := range decls {
		if graded(&decls[i], now) && !slices.Contains(out, decls[i].VehicleID) {
			out = append(out, decls[i].VehicleID)
		}
	}
	return out
}

// fromHistory judges by the loadings of the GradeHistory before until: at least historyMin,
// none of the declared grade.
func fromHistory(ls []loading, until, now time.Time, declared string) (GradeOrigin, bool) {
	count := map[*mine]int{}
	n := 0
	for _, l := range ls {
		if l.end.Before(now.Add(-GradeHistory)) || !l.end.Before(until) {
			continue
		}
		if strings.EqualFold(l.m.grade, declared) {
			return GradeOrigin{}, false
		}
		count[l.m]++
		n++
	}
	if n < historyMin {
		return GradeOrigin{}, false
	}
	most := slices.MaxFunc(slices.Collect(maps.Keys(count)), func(a, b *mine) int {
		return cmp.Or(cmp.Compare(count[a], count[b]), cmp.Compare(b.id, a.id))
	})
	return GradeOrigin{Declared: declared, MineID: most.id, Mine: most.name, Origin: most.grade, FromHistory: true, Loadings: n}, true
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func contains(g orb.Geometry, p orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p)
	}
	return false
}

// SetGradeOrigins replaces the declarations whose grade the loading mine contradicts, by
// vehicle ID.
func (s *Scorer) SetGradeOrigins(g map[string]GradeOrigin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grades = maps.Clone(g)
}
