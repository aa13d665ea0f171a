package sim

import (
	"context"
	"math"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence/district"
)

// A patrol car's rounds and inspections.
const (
	// patrolRound is how far down its port's route a patrol car drives before turning back.
	patrolRound = 15000.0
	// patrolReach is the farthest a car drives straight to a vehicle it was sent to; farther
	// ones (another port's) are left to that port's crews.
	patrolReach = 100e3
	// inspectFor is how long an inspection keeps the car beside the vehicle in a zone where
	// stopping is allowed; inspectOutside elsewhere: under the 10 min after which two vehicles
	// stopped side by side are a meeting.
	inspectFor     = 15 * time.Minute
	inspectOutside = 5 * time.Minute
)

// crewName is the patrol user who crews the patrol car vehicleID and carries its tablet.
func crewName(vehicleID string) string { return "sim-" + vehicleID }

// patrol parks the car in its port and, between stand-bys, drives down the port's first
// route and back; when the inspection loop sends it, it drives to the vehicle, stays for the
// inspection and comes back. It only ever stops inside the port zone or beside the inspected
// vehicle, and never crosses the border line: a patrol car raises no alert.
func (v *vehicle) patrol(ctx context.Context) error {
	road, home := v.w.patrolHome(v.port)
	out := math.Max(home+1000, math.Min(home+patrolRound, road.length()*0.9))
	if v.cp == nil {
		v.pos, v.heading = road.at(home)
	}
	back := road.reversed()
	for ctx.Err() == nil {
		v.checkpoint()
		to, sent, err := v.standBy(ctx, uniform(v.rng, v.fleet.Dwell))
		if err != nil {
			return err
		}
		if sent {
			if err := v.attend(ctx, to); err != nil {
				return err
			}
			continue
		}
		if err := v.drive(ctx, road, home, out, nil, nil); err != nil {
			return err
		}
		if err := v.drive(ctx, back, road.length()-out, road.length()-home, nil, nil); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// patrolHome is the port's first route and where along it the port's patrol cars park: the
// middle of its stretch inside the port zone, on the Chinese side of the crossing.
func (w *world) patrolHome(port district.Port) (*path, float64) {
	road := newPath(w.roads[port.Routes[0].RoadID])
	first, last := -1.0, -1.0
	for s := 100.0; s < math.Min(10000, road.length()); s += 100 {
		if pt, _ := road.at(s); w.inZone(port.ID, pt) {
			if first < 0 {
				first = s
			}
			last = s
		} else if first >= 0 {
			break
		}
	}
	if first < 0 {
		return road, math.Min(300, road.length()/2)
	}
	return road, (first + last) / 2
}

// inZone reports whether pt lies in the polygon zone id.
func (w *world) inZone(id string, pt orb.Point) bool {
	for _, z := range w.zones {
		if poly, ok := z.Geometry.(orb.Polygon); ok && z.ID == id && planar.PolygonContains(poly, pt) {
			return true
		}
	}
	return false
}

// standBy keeps the car parked for up to d, a minute at a time, and returns early with where
// the inspection loop sent it.
func (v *vehicle) standBy(ctx context.Context, d time.Duration) (orb.Point, bool, error) {
	end := v.t.Add(d)
	for v.t.Before(end) {
		if to, ok := v.dispatched(); ok {
			return to, true, nil
		}
		if err := v.wait(ctx, min(time.Minute, end.Sub(v.t))); err != nil {
			return orb.Point{}, false, err
		}
	}
	return orb.Point{}, false, nil
}

// dispatched takes where the inspection loop sent the car, if it did. A resumed car takes its
// dispatches from the replay at the times it took them, so that it drives as before.
func (v *vehicle) dispatched() (orb.Point, bool) {
	w := v.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(v.replay) > 0 {
		if v.replay[0].Op != "dispatch" || v.replay[0].T.After(v.t) {
			return orb.Point{}, false
		}
		if d, _ := v.recordedLocked("dispatch"); len(d.P) == 1 {
			return d.P[0], true
		}
		return orb.Point{}, false
	}
	select {
	case to := <-v.sent:
		v.noteLocked(decision{Op: "dispatch", T: v.t, P: []orb.Point{to}})
		return to, true
	default:
		return orb.Point{}, false
	}
}

// send tells a patrol car where to go; a car that has not yet taken its last dispatch keeps it.
func (v *vehicle) send(to orb.Point) {
	select {
	case v.sent <- to:
	default:
	}
}

// attend drives straight to to, stays for the inspection and drives back. A place the
// straight line would reach only across the border line, or too far, is not driven to.
func (v *vehicle) attend(ctx context.Context, to orb.Point) error {
	from := v.pos
	if d := distance(from, to); d < 50 || d > patrolReach || crosses(from, to, district.Border()) {
		return nil
	}
	there := newPath(orb.LineString{from, to})
	if err := v.drive(ctx, there, 0, there.length(), nil, nil); err != nil {
		return err
	}
	stay := inspectOutside
	if v.w.allowed(to, 0) {
		stay = inspectFor
	}
	if err := v.wait(ctx, stay); err != nil {
		return err
	}
	home := there.reversed()
	return v.drive(ctx, home, 0, home.length(), nil, nil)
}

// crosses reports whether the segment a–b crosses the line l, in plane lon/lat: near enough
// over the distances a patrol drives.
func crosses(a, b orb.Point, l orb.LineString) bool {
	side := func(p, q, r orb.Point) bool { return (q[0]-p[0])*(r[1]-p[1])-(q[1]-p[1])*(r[0]-p[0]) > 0 }
	for i := 1; i < len(l); i++ {
		c, d := l[i-1], l[i]
		if side(c, d, a) != side(c, d, b) && side(a, b, c) != side(a, b, d) {
			return true
		}
	}
	return false
}

// Account is a user the simulator acts as, with its password.
type Account struct {
	Username, Password string
	Unit               string // the port zone
	Plate              string // the patrol car's
}

// PatrolAccounts are the crews of the scenario's patrol cars: patrol users of their port's unit
// whose passwords derive from Config.Password, so that a person can take a tablet as one.
func (s *Sim) PatrolAccounts() []Account {
	var out []Account
	for fi := range s.cfg.Scenario.Fleets {
		f := &s.cfg.Scenario.Fleets[fi]
		if f.Trip != TripPatrol {
			continue
		}
		for i := range f.Count {
			name := crewName(vehicleID(f, i))
			out = append(out, Account{Username: name, Password: simPassword(s.cfg.Password, name), Unit: f.Port, Plate: plateOf(fi, i)})
		}
	}
	return out
}
