package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
)

// run drives the vehicle's trips until ctx ends.
func (v *vehicle) run(ctx context.Context) error {
	defer v.out.Close()
	switch v.fleet.Trip {
	case TripHaul:
		return v.haul(ctx)
	case TripResident:
		return v.resident(ctx)
	case TripPatrol:
		return v.patrol(ctx)
	default:
		return v.rover(ctx)
	}
}

// haul drives mine → port → yard and back, over and over.
func (v *vehicle) haul(ctx context.Context) error {
	w := v.w
	feeder := newPath(w.roads[v.fleet.Feeder])
	route := newPath(w.roads[v.fleet.Route])
	var r district.Route
	for _, rr := range v.port.Routes {
		if rr.RoadID == v.fleet.Route {
			r = rr
		}
	}
	fs := []slowZone{{s: feeder.length(), r: 1500, kmh: portKmh}}
	rs := []slowZone{{s: 0, r: 2000, kmh: portKmh}, {s: route.length(), r: 2500, kmh: yardKmh}}
	rfeeder, rroute := feeder.reversed(), route.reversed()
	rfs := []slowZone{{s: 0, r: 1500, kmh: portKmh}}
	rrs := []slowZone{{s: 0, r: 2500, kmh: yardKmh}, {s: route.length(), r: 2000, kmh: portKmh}}

	if v.cp == nil {
		v.pos, v.heading = feeder.at(0)
		// Spread the fleet: start somewhere in the loading and the first leg.
		if err := v.wait(ctx, v.startSpread(3*time.Hour)); err != nil {
			return err
		}
	}
	for ctx.Err() == nil {
		v.checkpoint()
		if err := v.wait(ctx, uniform(v.rng, v.fleet.Dwell)); err != nil { // loading at the mine
			return err
		}
		v.lock() // the cargo is sealed for customs
		if err := v.waitOpen(ctx, v.eta(feeder.length())); err != nil {
			return err
		}
		// A sealed truck's own anomaly first: only sealed trucks can have it.
		kind := w.claim(v, v.t, AnomalySealOpened, AnomalyDetour, AnomalyStop, AnomalyMeeting, AnomalyCrossing, AnomalySignalLost, AnomalyEmergency)
		declPort, declRoute := v.port.ID, r
		if kind == AnomalyCrossing {
			declPort, declRoute = w.otherPort(v.port.ID)
		}
		total := v.eta(feeder.length()+route.length()) + 6*time.Hour
		declType := ""
		v.review = -1
		if kind == AnomalyEmergency {
			// An emergency window is at most 12 h; the officers are paged as it is declared.
			declType, total = "emergency", min(total, 12*time.Hour)
			i := v.begin(Injection{Type: AnomalyEmergency, VehicleID: v.id, From: v.t, Note: "emergency crossing declared at the mine"})
			w.end(i, v.t.Add(5*time.Minute))
		}
		if err := w.declareAs(ctx, v, declType, "inbound", declPort, declRoute, total); err != nil {
			return err
		}
		if err := v.driverOnBoard(ctx); err != nil {
			return err
		}
		crossing := -1
		if kind == AnomalyCrossing {
			// The gate reads at the port the truck really uses disagree with the declaration too.
			also := []string{AnomalyDetour, AnomalyStop, AnomalyGateMismatch}
			if v.sealed() {
				also = append(also, AnomalySealOpened) // unsealed in a yard it was not declared for
			}
			crossing = v.begin(Injection{Type: AnomalyCrossing, VehicleID: v.id, From: v.t,
				Note: "declared for " + declPort + ", crossed at " + v.port.ID, Also: also})
		}
		// Mongolian side, possibly going dark near the border.
		var darkAt float64 = -1
		if kind == AnomalySignalLost && v.isJT808() {
			darkAt = math.Max(0, feeder.length()-8000)
		}
		dark := -1
		err := v.drive(ctx, feeder, 0, feeder.length()-queueShort, fs, func(s float64) error {
			if darkAt >= 0 && s >= darkAt && !v.dark {
				v.dark = true
				// Dark across the border: where it crossed is unknown until the backfill.
				dark = v.begin(Injection{Type: AnomalySignalLost, VehicleID: v.id, From: v.t,
					Note: "dark from 8 km before the border, backfilled at the yard", Also: []string{tracker.AlertBorderCrossingUnverified}})
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Queue at the port, inside its zone.
		q := time.Duration(5+v.rng.IntN(25)) * time.Minute
		if err := v.wait(ctx, q); err != nil {
			return err
		}
		for !v.port.Hours.IsOpen(v.t) {
			if err := v.wait(ctx, 10*time.Minute); err != nil {
				return err
			}
		}
		err = v.drive(ctx, feeder, feeder.length()-queueShort, feeder.length(), fs, nil)
		if err != nil {
			return err
		}
		w.gate(ctx, v, v.port.ID, "in", v.t)
		// Customs' scale house in the port weighs the load, as declared unless the trip's anomaly
		// is about the weight (only trips without another one).
		weightKind := ""
		if kind == "" {
			weightKind = w.claim(v, v.t, AnomalyWeightMismatch, AnomalyWeighingSkipped)
		}
		skipped := -1
		switch weightKind {
		case AnomalyWeighingSkipped:
			skipped = v.begin(Injection{Type: AnomalyWeighingSkipped, VehicleID: v.id, From: v.t, Note: "drove past the port's scale house to the yard unweighed"})
		case AnomalyWeightMismatch:
			i := v.begin(Injection{Type: AnomalyWeightMismatch, VehicleID: v.id, From: v.t, Note: "weighed 8 % heavier than declared at " + v.port.ID})
			w.weigh(ctx, v, v.port.ID, v.cargoKg()*1.08, v.t)
			w.end(i, v.t.Add(5*time.Minute))
		default:
			w.weigh(ctx, v, v.port.ID, v.cargoKg(), v.t)
		}
		if kind == "" && w.meetingWaiting(v) {
			kind = "partner"
		}
		if err := v.inbound(ctx, route, rs, kind); err != nil {
			return err
		}
		if v.swapDriver { // the declared driver takes the truck back in the yard
			v.swapDriver = false
			if err := v.insertCard(ctx, v.driver, "司机"+v.driver[len(v.driver)-4:]); err != nil {
				return err
			}
		}
		// Customs open the seal in the yard: an event, never an alert.
		if v.sealed() {
			if err := v.wait(ctx, time.Minute+time.Duration(v.rng.Int64N(int64(2*time.Minute)))); err != nil {
				return err
			}
			if err := v.unlock(ctx, fmt.Sprintf("%010d", 5000000+v.rng.IntN(1000))); err != nil {
				return err
			}
		}
		if v.dark {
			v.dark = false
			w.end(dark, v.t.Add(5*time.Minute))
		}
		if crossing >= 0 {
			w.end(crossing, v.t)
		}
		if skipped >= 0 { // raised once the grace after the arrival has passed
			w.end(skipped, v.t.Add(35*time.Minute))
		}
		if v.review >= 0 { // the arrival ends the emergency window: the review follows
			w.end(v.review, v.t.Add(5*time.Minute))
			v.review = -1
		}
		// The yard's scale weighs the load again: what the port's scale house saw, unless
		// the yard's scale drifts.
		if weightKind != AnomalyWeighingSkipped {
			net := v.cargoKg()
			if weightKind == AnomalyWeightMismatch {
				net *= 1.08 // the load really is heavier: both scales see it
			}
			if pct := w.sc.DriftingScales["scale-"+r.YardID]; pct != 0 {
				i := v.begin(Injection{Type: tracker.AlertDoubleWeighing, VehicleID: v.id, From: v.t,
					Note: fmt.Sprintf("weighed at %s, whose scale reads %+.1f %%", r.YardID, pct), Also: []string{AnomalyWeightMismatch}})
				w.weigh(ctx, v, r.YardID, net, v.t)
				w.end(i, v.t.Add(5*time.Minute))
			} else {
				w.weigh(ctx, v, r.YardID, net, v.t)
			}
		}
		// Unloading in the yard, sometimes parked by the fence with a poor fix.
		dwell := uniform(v.rng, v.fleet.Dwell)
		if w.claim(v, v.t, AnomalyJitter) == AnomalyJitter {
			if err := v.jitter(ctx, r.YardID, dwell); err != nil {
				return err
			}
		} else if w.claim(v, v.t, AnomalyGateMismatch) == AnomalyGateMismatch {
			half := dwell / 2
			if err := v.wait(ctx, half); err != nil {
				return err
			}
			// A cloned plate or a lent card: read at another port, hundreds of kilometres away.
			// (The port's own gate may lie within the rule's distance of a yard behind the port.)
			gate, _ := w.otherPort(v.port.ID)
			i := v.begin(Injection{Type: AnomalyGateMismatch, VehicleID: v.id, From: v.t.Add(-time.Minute),
				Note: "gate read at " + gate + " while the truck stands in " + r.YardID})
			w.gate(ctx, v, gate, "out", v.t)
			w.end(i, v.t.Add(5*time.Minute))
			if err := v.wait(ctx, dwell-half); err != nil {
				return err
			}
		} else if err := v.wait(ctx, dwell); err != nil {
			return err
		}
		// Back empty.
		if err := v.waitOpen(ctx, v.eta(route.length())); err != nil {
			return err
		}
		if err := w.declare(ctx, v, "outbound", v.port.ID, r, v.eta(route.length())+6*time.Hour); err != nil {
			return err
		}
		if err := v.drive(ctx, rroute, 0, route.length()-2500, rrs, nil); err != nil {
			return err
		}
		for !v.port.Hours.IsOpen(v.t) {
			if err := v.wait(ctx, 10*time.Minute); err != nil {
				return err
			}
		}
		if err := v.drive(ctx, rroute, route.length()-2500, route.length(), rrs, nil); err != nil {
			return err
		}
		w.gate(ctx, v, v.port.ID, "out", v.t)
		if err := v.drive(ctx, rfeeder, 0, feeder.length(), rfs, nil); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// inbound drives from the crossing to the yard, with the trip's anomaly.
func (v *vehicle) inbound(ctx context.Context, route *path, rs []slowZone, kind string) error {
	w := v.w
	L := route.length()
	switch kind {
	case AnomalyStop, AnomalyMeeting, AnomalyEmergency, "partner":
		// Meetings near 37 % of the route, lone stops further on, each clear of the others.
		rid := v.fleet.Route
		at, own := 0.0, true
		switch kind {
		case AnomalyStop, AnomalyEmergency:
			at = w.spot(v, rid, route, 0.6)
		case AnomalyMeeting:
			at = w.spot(v, rid, route, 0.37)
		default:
			var beside bool
			if at, beside = w.meetingSpot(v); !beside {
				at = w.spot(v, rid, route, 0.6)
			}
			own = !beside
		}
		if own {
			defer w.release(v, rid, at)
		}
		if err := v.drive(ctx, route, 0, at, rs, nil); err != nil {
			return err
		}
		start := v.t
		// Recorded as the stop begins, so that a score taken meanwhile knows it.
		var i int
		switch kind {
		case AnomalyEmergency:
			// Suspended: held back for the review the window's end raises.
			v.review = v.begin(Injection{Type: tracker.AlertEmergencyReview, VehicleID: v.id, From: start, Note: "20 min roadside stop under an emergency declaration"})
			if err := v.wait(ctx, 20*time.Minute); err != nil {
				return err
			}
			return v.drive(ctx, route, at, L, rs, nil)
		case AnomalyStop:
			i = v.begin(Injection{Type: AnomalyStop, VehicleID: v.id, From: start, Note: "roadside stop between port and yard"})
			if err := v.wait(ctx, 20*time.Minute); err != nil {
				return err
			}
		case AnomalyMeeting:
			i = v.begin(Injection{Type: AnomalyMeeting, VehicleID: v.id, From: start,
				Note: "stopped together with another truck on the corridor", Also: []string{AnomalyStop}})
			partner, err := w.host(ctx, v, at)
			if err != nil {
				return err
			}
			w.truth.update(i, func(in *Injection) {
				if partner == nil {
					in.Type, in.Also, in.Note = AnomalyStop, nil, "waited in vain for another truck by the road"
				} else {
					in.With = partner.id // the rules raise one alert per pair, on either truck
				}
			})
		default:
			i = v.begin(Injection{Type: AnomalyStop, VehicleID: v.id, From: start, Note: "stopped beside a waiting truck",
				Also: []string{AnomalyMeeting}})
			met, err := w.join(ctx, v)
			if err != nil {
				return err
			}
			if !met {
				w.truth.update(i, func(in *Injection) { in.Also, in.Note = nil, "came to meet a truck that had left" })
			}
		}
		w.end(i, v.t.Add(5*time.Minute))
		return v.drive(ctx, route, at, L, rs, nil)
	case AnomalySealOpened:
		// Stopped in the desert half way, the seal opened with a card, closed again, on.
		rid := v.fleet.Route
		at := w.spot(v, rid, route, 0.5)
		defer w.release(v, rid, at)
		if err := v.drive(ctx, route, 0, at, rs, nil); err != nil {
			return err
		}
		if err := v.wait(ctx, time.Minute); err != nil {
			return err
		}
		i := v.begin(Injection{Type: AnomalySealOpened, VehicleID: v.id, From: v.t,
			Note: "sealed cargo opened in the desert between port and yard", Also: []string{AnomalyStop}})
		if err := v.unlock(ctx, fmt.Sprintf("%010d", 9000000+v.rng.IntN(1000))); err != nil {
			return err
		}
		if err := v.wait(ctx, 5*time.Minute); err != nil {
			return err
		}
		v.lock()
		if err := v.wait(ctx, time.Minute); err != nil {
			return err
		}
		w.end(i, v.t.Add(5*time.Minute))
		return v.drive(ctx, route, at, L, rs, nil)
	case AnomalyDetour:
		a, b := w.stopPoint(route, 0.35), w.stopPoint(route, 0.45)
		if b-a < 3000 || L < 30000 {
			break
		}
		if err := v.drive(ctx, route, 0, a, rs, nil); err != nil {
			return err
		}
		pa, h := route.at(a)
		pb, _ := route.at(b)
		// 4 km to the right of the road and back: well beyond the corridor's width.
		rad := (h + 90) * math.Pi / 180
		e, n := 4000*math.Sin(rad), 4000*math.Cos(rad)
		det := newPath(orb.LineString{pa, offset(pa, e, n), offset(pb, e, n), pb})
		i := v.begin(Injection{Type: AnomalyDetour, VehicleID: v.id, From: v.t, Note: "left the corridor by 4 km", Also: []string{AnomalyStop}})
		if err := v.drive(ctx, det, 0, det.length(), nil, nil); err != nil {
			return err
		}
		w.end(i, v.t.Add(5*time.Minute))
		return v.drive(ctx, route, b, L, rs, nil)
	}
	return v.drive(ctx, route, 0, L, rs, nil)
}

// jitter parks the vehicle just inside the yard fence with a poor fix, which must raise nothing.
func (v *vehicle) jitter(ctx context.Context, yardID string, d time.Duration) error {
	w := v.w
	edge, ok := w.fencePoint(yardID, v.pos)
	if !ok {
		return v.wait(ctx, d)
	}
	p := newPath(orb.LineString{v.pos, edge})
	if err := v.drive(ctx, p, 0, p.length(), []slowZone{{s: 0, r: p.length() + 1, kmh: yardKmh}}, nil); err != nil {
		return err
	}
	i := v.begin(Injection{Type: AnomalyJitter, VehicleID: v.id, From: v.t, Note: "parked 10 m inside the fence of " + yardID + " with 15 m GPS noise"})
	v.noise = 15
	err := v.wait(ctx, d)
	v.noise = w.sc.GPSNoiseM
	w.end(i, v.t)
	if err != nil {
		return err
	}
	return v.drive(ctx, p.reversed(), 0, p.length(), []slowZone{{s: 0, r: p.length() + 1, kmh: yardKmh}}, nil)
}

// resident drives the port's town loop once a day, during opening hours.
func (v *vehicle) resident(ctx context.Context) error {
	w := v.w
	loop := newPath(w.roads[v.port.TownLoop])
	L := loop.length()
	// The town part of the loop is its middle; the crossing is near both ends.
	inTown := L / 2
	slow := []slowZone{{s: L / 2, r: L/2 - 2000, kmh: townKmh}}
	if v.cp == nil {
		v.pos, v.heading = loop.at(0)
		if err := v.wait(ctx, v.startSpread(6*time.Hour)); err != nil {
			return err
		}
	}
	for ctx.Err() == nil {
		v.checkpoint()
		if err := v.waitOpen(ctx, 0); err != nil {
			return err
		}
		overstay := w.claim(v, v.t, AnomalyOverstay) == AnomalyOverstay
		stay := uniform(v.rng, v.fleet.Dwell)
		deadline := v.t.Add(stay + 2*time.Hour)
		if err := w.declareResident(ctx, v, deadline); err != nil {
			return err
		}
		crossAt := crossingS(loop, v.port.Crossing, 0, inTown)
		if err := v.drive(ctx, loop, 0, crossAt, slow, nil); err != nil {
			return err
		}
		w.gate(ctx, v, v.port.ID, "in", v.t)
		if err := v.drive(ctx, loop, crossAt, inTown, slow, nil); err != nil {
			return err
		}
		over := -1
		if overstay {
			stay = deadline.Sub(v.t) + 90*time.Minute
			over = v.begin(Injection{Type: AnomalyOverstay, VehicleID: v.id, From: deadline, Note: "resident car still in China 90 min after its deadline"})
		}
		if err := v.wait(ctx, stay); err != nil {
			return err
		}
		if over >= 0 {
			w.end(over, v.t.Add(30*time.Minute))
		}
		back := crossingS(loop, v.port.Crossing, inTown, L)
		if err := v.drive(ctx, loop, inTown, back, slow, nil); err != nil {
			return err
		}
		w.gate(ctx, v, v.port.ID, "out", v.t)
		if err := v.drive(ctx, loop, back, L, slow, nil); err != nil {
			return err
		}
		if err := v.wait(ctx, 12*time.Hour+time.Duration(v.rng.Int64N(int64(8*time.Hour)))); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// crossingS is the distance along p, between lo and hi, of the vertex nearest to c.
func crossingS(p *path, c orb.Point, lo, hi float64) float64 {
	best, bd := lo, math.Inf(1)
	for i, pt := range p.pts {
		if p.cum[i] < lo || p.cum[i] > hi {
			continue
		}
		if d := distance(pt, c); d < bd {
			best, bd = p.cum[i], d
		}
	}
	return best
}

// rover waits in the Mongolian desert far from any port; as an anomaly it drives across the
// border line and back.
func (v *vehicle) rover(ctx context.Context) error {
	w := v.w
	if v.cp == nil {
		v.home, v.into = w.roverSpot(v)
		v.pos = v.home
	}
	home, into := v.home, v.into
	for ctx.Err() == nil {
		v.checkpoint()
		if err := v.wait(ctx, uniform(v.rng, v.fleet.Dwell)); err != nil {
			return err
		}
		if w.claim(v, v.t, AnomalyOutsidePort) != AnomalyOutsidePort {
			continue
		}
		p := newPath(orb.LineString{home, into})
		i := v.begin(Injection{Type: AnomalyOutsidePort, VehicleID: v.id, From: v.t, Note: "drove across the border line far from any port and back"})
		if err := v.drive(ctx, p, 0, p.length(), nil, nil); err != nil {
			return err
		}
		if err := v.wait(ctx, 20*time.Minute); err != nil {
			return err
		}
		if err := v.drive(ctx, p.reversed(), 0, p.length(), nil, nil); err != nil {
			return err
		}
		w.end(i, v.t.Add(5*time.Minute))
	}
	return ctx.Err()
}

// driverOnBoard has the driver insert the card as the declared trip begins: the declared
// driver's, or, for the anomaly, another driver's (a lent truck), who keeps it until the yard,
// where the declared driver takes over again before the trip back.
func (v *vehicle) driverOnBoard(ctx context.Context) error {
	if v.driver == "" {
		return nil
	}
	w := v.w
	if w.claim(v, v.t, AnomalyDriverMismatch) != AnomalyDriverMismatch {
		return v.insertCard(ctx, v.driver, "司机"+v.driver[len(v.driver)-4:])
	}
	other := fmt.Sprintf("CY16%010d", v.rng.IntN(1e9))
	i := w.begin(Injection{Type: AnomalyDriverMismatch, VehicleID: v.id, From: v.t, Note: "card " + other + " in the reader, declared " + v.driver})
	if err := v.insertCard(ctx, other, "王"+other[len(other)-4:]); err != nil {
		return err
	}
	w.end(i, v.t.Add(time.Minute))
	v.swapDriver = true
	return nil
}
