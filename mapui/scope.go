package mapui

import (
	"context"
	"errors"
	"math"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// defaultUnitBufferM is how far around its port's zones a port unit sees, by default.
const defaultUnitBufferM = 30000

// unitScoped are the roles a port unit narrows; the others see the district.
var unitScoped = map[string]bool{access.RoleCommand: true, access.RolePatrol: true}

// unitArea is what a command or patrol user of a port unit may see: what is within the buffer of
// the port zone or of a zone tied to it by its port_id (control zone, yards, corridors, service
// areas, the port town). Not the port zone's box grown by the buffer: a port's trucks run up to
// 300 km inland on its corridors to its yards (Ganqimaodu's third is near Baotou), and that is
// where detours happen; nor one box around all of them: a diagonal corridor's box covers another
// port's yards. A nil *unitArea is the whole district.
type unitArea struct {
	zones  map[string]bool // the port's zones: an alert or event in one is in the area
	shapes []areaShape
	// sent are the orders the user was sent to, by id. They show their alerts, wherever they
	// are, and the vehicles of those not yet reported, to find them (counted over sent: two
	// orders may name one alert or vehicle). Nothing else of their place is shown.
	sent     map[string]sentOrder
	alerts   map[int64]int
	vehicles map[string]int
}

// sentOrder is what an order the user was sent to shows: its alert, and its vehicle until
// its inspection is reported ("").
type sentOrder struct {
	alert   int64
	vehicle string
}

// sentTo adds an order the user was sent to; done: its inspection is reported (the alert stays
// readable, the vehicle is no longer followed).
func (a *unitArea) sentTo(o *tracker.TargetOrder, done bool) {
	so := sentOrder{alert: o.AlertID}
	if !done && o.Status != tracker.TargetClosed {
		so.vehicle = o.VehicleID
	}
	a.set(o.ID, so, true)
}

// ended takes back what order o showed once it ended (tracker.TargetClosed: reported, its alert
// stays readable; cancelled or expired: nothing of it stays), as a new read of the user's
// assignments would. It reports whether the user was sent to o.
func (a *unitArea) ended(o *tracker.TargetOrder) bool {
	so, ok := a.sent[o.ID]
	if ok {
		so.vehicle = ""
		a.set(o.ID, so, o.Status == tracker.TargetClosed)
	}
	return ok
}

// set replaces what order id shows with so, or with nothing unless keep.
func (a *unitArea) set(id string, so sentOrder, keep bool) {
	if a.sent == nil {
		a.sent, a.alerts, a.vehicles = map[string]sentOrder{}, map[int64]int{}, map[string]int{}
	}
	count := func(so sentOrder, d int) {
		if so.alert != 0 {
			if a.alerts[so.alert] += d; a.alerts[so.alert] == 0 {
				delete(a.alerts, so.alert)
			}
		}
		if so.vehicle != "" {
			if a.vehicles[so.vehicle] += d; a.vehicles[so.vehicle] == 0 {
				delete(a.vehicles, so.vehicle)
			}
		}
	}
	if old, ok := a.sent[id]; ok {
		count(old, -1)
		delete(a.sent, id)
	}
	if keep {
		a.sent[id] = so
		count(so, 1)
	}
}

type areaShape struct {
	bound orb.Bound // the zone's bound grown by reach: the cheap test first
	geom  orb.Geometry
	reach float64 // metres from the zone: the buffer, plus a corridor's half width
}

// newUnitArea is the area of the port zone port among zones; with no such port it is empty (its
// users see nothing rather than everything).
func newUnitArea(zones []geofence.Zone, port string, bufferM float64) *unitArea {
	a := &unitArea{zones: map[string]bool{}}
	found := false
	for _, z := range zones {
		isPort := z.ID == port && z.Kind == geofence.KindPort
		found = found || isPort
		if tied, _ := z.Properties["port_id"].(string); z.Geometry == nil || (!isPort && tied != port) {
			continue
		}
		a.zones[z.ID] = true
		reach := bufferM + z.WidthM
		b := z.Geometry.Bound()
		// Degrees of longitude per metre grow towards the pole: grow by the bound's poleward edge's.
		kx, ky := geofence.MetresPerDegree(math.Max(math.Abs(b.Min.Lat()), math.Abs(b.Max.Lat())))
		d := orb.Point{reach / kx, reach / ky}
		a.shapes = append(a.shapes, areaShape{
			bound: orb.Bound{Min: orb.Point{b.Min[0] - d[0], b.Min[1] - d[1]}, Max: orb.Point{b.Max[0] + d[0], b.Max[1] + d[1]}},
			geom:  z.Geometry,
			reach: reach,
		})
	}
	if !found {
		return &unitArea{}
	}
	return a
}

// contains reports whether the point is in the area.
func (a *unitArea) contains(lat, lon float64) bool {
	if a == nil {
		return true
	}
	p := orb.Point{lon, lat}
	for i := range a.shapes {
		s := &a.shapes[i]
		if s.bound.Contains(p) && within(s.geom, p, s.reach) {
			return true
		}
	}
	return false
}

// seesFix reports whether the area shows f.
func (a *unitArea) seesFix(f *tracker.Fix) bool {
	return a == nil || a.vehicles[f.VehicleID] > 0 || a.contains(f.Lat, f.Lon)
}

// seesAlert reports whether the area shows al: where it happened, the zone it names, or an
// alert the user was sent to.
func (a *unitArea) seesAlert(al *tracker.Alert) bool {
	return a == nil || a.alerts[al.ID] > 0 || (al.ZoneID != nil && a.zones[*al.ZoneID]) || a.contains(al.Lat, al.Lon)
}

// seesEvent reports whether the area shows ev, as seesAlert.
func (a *unitArea) seesEvent(ev *tracker.Event) bool {
	return a == nil || a.zones[ev.ZoneID] || a.contains(ev.Lat, ev.Lon)
}

// within reports whether p is inside g or within reach metres of it. Distances are measured in a
// plane tangent at p, right to well under a metre at tens of km.
func within(g orb.Geometry, p orb.Point, reach float64) bool {
	switch g := g.(type) {
	case orb.Polygon:
		if planar.PolygonContains(g, p) {
			return true
		}
	case orb.MultiPolygon:
		if planar.MultiPolygonContains(g, p) {
			return true
		}
	}
	kx, ky := geofence.MetresPerDegree(p.Lat())
	local := func(v orb.Point) orb.Point { return orb.Point{(v[0] - p[0]) * kx, (v[1] - p[1]) * ky} }
	near := func(ls []orb.Point) bool {
		for i := range ls {
			a := local(ls[i])
			b := a
			if i+1 < len(ls) {
				b = local(ls[i+1])
			}
			if planar.DistanceFromSegment(a, b, orb.Point{}) <= reach {
				return true
			}
		}
		return false
	}
	switch g := g.(type) {
	case orb.Point:
		return near([]orb.Point{g})
	case orb.LineString:
		return near(g)
	case orb.MultiLineString:
		for _, ls := range g {
			if near(ls) {
				return true
			}
		}
	case orb.Polygon:
		for _, r := range g {
			if near(r) {
				return true
			}
		}
	case orb.MultiPolygon:
		for _, pg := range g {
			for _, r := range pg {
				if near(r) {
					return true
				}
			}
		}
	}
	return false
}

// scope returns the area the signed-in user may see, nil for the whole district. It answers the
// request itself (and returns false) when the store fails.
func (s *Server) scope(c *gin.Context) (*unitArea, bool) {
	a, err := s.areaOf(c.Request.Context(), session(c))
	if err != nil {
		s.storeFail(c, err)
		return nil, false
	}
	return a, true
}

// areaOf is the area of the session's user: nil for a role a unit does not narrow or a user of
// the district. The user is read again, not taken from the session: any change of a user ends
// their sessions, but a unit must not be trusted from a copy.
func (s *Server) areaOf(ctx context.Context, se tracker.Session) (*unitArea, error) {
	if !unitScoped[se.Role] {
		return nil, nil
	}
	u, err := s.cfg.Access.User(ctx, se.Username)
	if err != nil {
		return nil, err
	}
	if u.Unit == "" || u.Unit == tracker.UnitDistrict {
		return nil, nil
	}
	zones, err := s.cfg.Store.Zones(ctx)
	if err != nil {
		return nil, err
	}
	a := newUnitArea(zones, u.Unit, s.cfg.UnitBufferM)
	if len(a.shapes) == 0 {
		s.log.Warn("user's unit is no port zone: they see nothing", "user", u.Username, "unit", u.Unit)
	}
	if se.Role == access.RolePatrol && s.cfg.Targets != nil {
		sent, err := s.cfg.Targets.AssignedTo(ctx, u.Username)
		if err != nil {
			return nil, err
		}
		for _, v := range sent {
			a.sentTo(&v.Order, v.Status == tracker.AssignmentReported)
		}
	}
	return a, nil
}

// checkUnit answers 400 and returns false unless unit is "" (unchanged or the default),
// "district" or the id of a port zone.
func (s *Server) checkUnit(c *gin.Context, unit string) bool {
	if unit == "" || unit == tracker.UnitDistrict {
		return true
	}
	z, err := s.cfg.Store.Zone(c.Request.Context(), unit)
	switch {
	case err == nil && z.Kind == geofence.KindPort:
		return true
	case err == nil || errors.Is(err, tracker.ErrNotFound):
		fail(c, http.StatusBadRequest, "bad_request", "unit must be district or a port zone id")
	default:
		s.storeFail(c, err)
	}
	return false
}
