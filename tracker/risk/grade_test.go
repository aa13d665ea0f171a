package risk

import (
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestGradeOrigins: trucks declared coal grade A. One loaded 40 min at Ovoot Tolgoi (grade B):
// grade_origin from its track. Its control loaded at Nariin Sukhait (grade A): silent. One
// with no track abroad this trip, whose 3 earlier loadings were at Ovoot Tolgoi and Oyu Tolgoi (copper): from its
// history; its control's history has one loading of grade A among them: silent. A truck that
// only queued 10 min at the wrong mine, one whose declaration names no grade, an outbound one
// and a cancelled one stay silent too.
func TestGradeOrigins(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	var ovoot, nariin, oyu geofence.Zone
	for _, z := range district.Zones() {
		switch z.ID {
		case "mine-ovoottolgoi":
			ovoot = z
		case "mine-nariinsukhait":
			nariin = z
		case "mine-oyutolgoi":
			oyu = z
		}
	}
	at := func(z geofence.Zone) (float64, float64) {
		c := z.Geometry.Bound().Center()
		return c.Lat(), c.Lon()
	}
	stop := func(veh string, z geofence.Zone, end time.Time, d time.Duration) tracker.Event {
		lat, lon := at(z)
		return tracker.Event{Type: tracker.EventStopEnd, VehicleID: veh, Time: end, Lat: lat, Lon: lon, Attrs: map[string]any{"duration_s": d.Seconds()}}
	}
	decl := func(id, veh, grade string) tracker.Declaration {
		return tracker.Declaration{ID: id, VehicleID: veh, Direction: tracker.Inbound, Grade: grade, Status: tracker.DeclarationActive,
			ValidFrom: now.Add(-6 * time.Hour), ValidTo: now.Add(6 * time.Hour)}
	}
	day := 24 * time.Hour
	decls := []tracker.Declaration{
		decl("d1", "wrong", "A"), decl("d2", "right", " a "), decl("d3", "hist-wrong", "A"), decl("d4", "hist-mixed", "A"),
		decl("d5", "queued", "A"), decl("d6", "ungraded", ""), decl("d8", "cancelled", "A"),
	}
	out := decl("d7", "outbound", "A")
	out.Direction = tracker.Outbound
	decls[7-1].Status = tracker.DeclarationCancelled
	decls = append(decls, out)
	stops := []tracker.Event{
		stop("wrong", ovoot, now.Add(-8*time.Hour), 40*time.Minute),
		stop("right", nariin, now.Add(-8*time.Hour), 40*time.Minute),
		stop("right", ovoot, now.Add(-10*day), 40*time.Minute), // history does not count against a trip's own track
		stop("hist-wrong", ovoot, now.Add(-10*day), time.Hour), stop("hist-wrong", ovoot, now.Add(-20*day), time.Hour), stop("hist-wrong", oyu, now.Add(-30*day), time.Hour),
		stop("hist-mixed", ovoot, now.Add(-10*day), time.Hour), stop("hist-mixed", nariin, now.Add(-20*day), time.Hour), stop("hist-mixed", ovoot, now.Add(-30*day), time.Hour),
		stop("queued", ovoot, now.Add(-8*time.Hour), 10*time.Minute),
		stop("ungraded", ovoot, now.Add(-8*time.Hour), time.Hour),
		stop("outbound", ovoot, now.Add(-8*time.Hour), time.Hour),
		stop("cancelled", ovoot, now.Add(-8*time.Hour), time.Hour),
	}
	got := GradeOrigins(decls, stops, district.Zones(), now)
	if len(got) != 2 {
		t.Fatalf("grade origins %+v: want wrong and hist-wrong", got)
	}
	if g := got["wrong"]; g.DeclarationID != "d1" || g.MineID != "mine-ovoottolgoi" || g.Origin != "B" || g.Declared != "A" || g.FromHistory || g.LoadMinutes != 40 {
		t.Errorf("wrong: %+v", g)
	}
	if g := got["hist-wrong"]; !g.FromHistory || g.Loadings != 3 || g.MineID != "mine-ovoottolgoi" || g.Origin != "B" {
		t.Errorf("hist-wrong: %+v", g)
	}
	s := New(Config{Now: func() time.Time { return now }})
	s.SetGradeOrigins(got)
	r := s.Ranking(now, 0)
	if len(r) != 2 || r[0].Score != gradeWeight || r[0].GradeOrigin == nil {
		t.Fatalf("ranking %+v", r)
	}
	for _, tg := range r {
		if !strings.HasPrefix(tg.Reasons[0], "grade_origin: declared grade A") || !strings.Contains(tg.Reasons[0], "敖包特陶勒盖煤矿 (grade B)") {
			t.Errorf("%s: reasons %q", tg.VehicleID, tg.Reasons)
		}
	}
}
