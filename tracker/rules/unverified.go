package rules

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
)

// crossGap is a border crossing between two fixes too far apart in time to tell where the
// vehicle crossed: it could have driven from one to the other through a port.
type crossGap struct {
	from, to point
	gap      time.Duration
	port     string        // the port of the quickest drive from→port→to; "" with no port known
	viaPort  time.Duration // that drive at TruckKmh
}

// placeCrossing judges what the fixes either side of a crossing say of where it happened. The
// engine puts it where the straight line between them meets the border; when they lie longer
// apart than CrossingGapMax, or long enough to drive from one to the other through a port, the
// line is no evidence (a restarted device, a day in a garage). A crossing the line would put
// outside every port or at an undeclared one is then recorded with its port unknown (ge's
// PortZoneID cleared) and returned; otherwise placeCrossing returns nil. The ports that count
// are those where the crossing would be lawful: the declared one, or any without a
// declaration. A line through the declared port agrees with a lawful crossing whatever the
// gap, and stays as it is.
func (e *Engine) placeCrossing(d *decl, ge *geofence.Event, from, to point) *crossGap {
	if !suspect(d, ge.PortZoneID) {
		return nil
	}
	gap := to.Time.Sub(from.Time)
	lawful := "" // any port
	if d != nil {
		lawful = d.PortZoneID
	}
	port, via := e.border.quickestVia(from, to, lawful, e.cfg.TruckKmh)
	if gap <= e.cfg.CrossingGapMax && (port == "" || gap < via) {
		return nil
	}
	ge.PortZoneID = ""
	return &crossGap{from: from, to: to, gap: gap, port: port, viaPort: via}
}

// suspect reports whether a crossing at port ("" for none) raises an alert on the declaration
// d of its direction: outside every port, or at another port than declared.
func suspect(d *decl, port string) bool {
	return port == "" || d != nil && d.PortZoneID != "" && port != d.PortZoneID
}

// around returns the fixes either side of time t on the vehicle's track, f being the fix under
// evaluation (not yet in the history): a crossing confirmed by hysteresis may lie a few fixes
// back.
func (vs *vstate) around(t time.Time, f point) (point, point) {
	h := vs.history
	j, _ := slices.BinarySearchFunc(h, t, func(x hist, t time.Time) int {
		if x.t > t.UnixNano() {
			return 1
		}
		return -1
	})
	from, to := vs.last, f
	if j > 0 {
		from = h[j-1].point()
	}
	if j < len(h) {
		to = h[j].point()
	}
	return from, to
}

// portSpot is a port zone's centre: where a truck crossing there passes, near enough.
type portSpot struct {
	id       string
	lat, lon float64
}

func portSpots(zones []geofence.Zone) []portSpot {
	var ps []portSpot
	for _, z := range zones {
		if z.Kind != geofence.KindPort || z.Geometry == nil {
			continue
		}
		c := z.Geometry.Bound().Center()
		ps = append(ps, portSpot{id: z.ID, lat: c[1], lon: c[0]})
	}
	return ps
}

// quickestVia is the port (only, when set) through which the drive from→port→to is shortest,
// and how long it takes at kmh along great circles (roads are longer: the time is a lower
// bound).
func (j *jurisdiction) quickestVia(from, to point, only string, kmh float64) (string, time.Duration) {
	ports := j.ports.Load()
	if ports == nil {
		return "", 0
	}
	best, bestM := "", math.Inf(1)
	for _, p := range *ports {
		if only != "" && p.id != only {
			continue
		}
		m := geofence.GreatCircleM(from.Lat, from.Lon, p.lat, p.lon) + geofence.GreatCircleM(p.lat, p.lon, to.Lat, to.Lon)
		if m < bestM {
			best, bestM = p.id, m
		}
	}
	if best == "" {
		return "", 0
	}
	return best, time.Duration(bestM / (kmh / 3.6) * float64(time.Second))
}

// unverifiedMessage says what is known of a crossing hidden in a gap.
func unverifiedMessage(dir string, g *crossGap) string {
	return fmt.Sprintf("border crossed (%s) between fixes %s apart: where is unknown", dir, g.gap.Round(time.Second))
}
