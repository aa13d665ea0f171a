package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Check runs the rules that no fix triggers, as of Now: signal loss, declaration expiry,
// overstay, meetings and a driver's card already in when a declaration naming another begins, and returns what they raised for the caller to commit (also when it
// returns an error: what it returns has happened). It implements tracker.Checker.
func (e *Engine) Check(ctx context.Context) (tracker.Outcome, error) {
	now := e.cfg.Now().UTC()
	var alerts []tracker.Alert
	var held []tracker.Event // what emergency windows held back (emergency.go)
	var errs []error
	var stopped []stopInfo
	var late tracker.Outcome // replays of blind-area uploads that stopped short of their gap's end
	for _, vs := range e.vehicles.Append(nil) {
		if e.cfg.Owns != nil && !e.cfg.Owns(vs.id) {
			continue
		}
		vs.Lock()
		if len(vs.rare().gaps) > 0 {
			from := len(late.Alerts)
			if err := e.settleLate(ctx, vs, &late); err != nil {
				errs = append(errs, err)
			}
			late.Alerts = vs.suspend(late.Alerts, from, &late.Events)
		}
		alerts = e.checkVehicle(ctx, vs, now, alerts, &held, &errs)
		vs.past = slices.DeleteFunc(vs.past, func(s *stopRec) bool { return now.Sub(s.until) > meetingMemory })
		for _, s := range vs.past {
			stopped = append(stopped, stopInfo{vs: vs, rec: s, at: s.at, until: s.until, late: s.late})
		}
		if s := vs.cur; s != nil {
			stopped = append(stopped, stopInfo{vs: vs, rec: s, at: s.at, until: s.until, live: true, late: s.late})
		}
		vs.Unlock()
	}
	alerts = append(alerts, late.Alerts...)
	alerts = e.meetings(stopped, alerts)
	return tracker.Outcome{Events: append(late.Events, held...), Alerts: alerts}, errors.Join(errs...)
}

func (e *Engine) checkVehicle(ctx context.Context, vs *vstate, now time.Time, alerts []tracker.Alert, held *[]tracker.Event, errs *[]error) []tracker.Alert {
	from := len(alerts)
	// Signal loss, judged on the server clock: device clocks of silent terminals say nothing.
	if vs.hasLast && vs.rare().lostKey == "" && now.Sub(vs.lastRecv) > e.cfg.SignalLost && (vs.watched(vs.last.Time) || vs.watched(now)) {
		vs.rareMut().lostKey = fmt.Sprintf("signal_lost:%s:%d", vs.id, vs.last.Time.Unix())
		e.m.alerts.WithLabelValues(tracker.AlertSignalLost).Inc()
		a := vs.alert(tracker.AlertSignalLost, tracker.SeverityWarning, vs.rare().lostKey, vs.last.Time, vs.last.Lat, vs.last.Lon)
		a.UpdatedAt = now
		a.Active = true
		a.Message = fmt.Sprintf("no fix since %s", vs.last.Time.UTC().Format(time.RFC3339))
		a.Evidence = evidence(map[string]any{"last_fix": vs.last, "control_zone": vs.controlZones > 0})
		alerts = append(alerts, a)
	}
	// Overstay before expiry: both happen at valid_to, and the deadline outlives the declaration.
	if st := vs.stay; vs.kind == tracker.KindResidentCar && vs.entered && st != nil && !st.deadline.IsZero() && now.After(st.deadline) &&
		vs.rare().overKey == "" && !vs.catchingUp(now, st.deadline, e.cfg.SignalLost) {
		vs.rareMut().overKey = fmt.Sprintf("overstay:%s:%d", vs.id, st.deadline.Unix())
		e.m.alerts.WithLabelValues(tracker.AlertOverstay).Inc()
		a := vs.alert(tracker.AlertOverstay, tracker.SeverityWarning, vs.rare().overKey, st.deadline, vs.last.Lat, vs.last.Lon)
		a.DeclarationID = strp(st.decl)
		a.UpdatedAt = now
		a.Active = true
		a.Message = "resident car has not exited by " + st.deadline.UTC().Format(time.RFC3339)
		ev := map[string]any{"deadline": st.deadline.UTC()}
		if vs.hasLast {
			ev["last_fix"] = vs.last
		}
		a.Evidence = evidence(ev)
		alerts = append(alerts, a)
	}
	for i := 0; i < len(vs.decls); {
		d := vs.decls[i]
		if now.Before(d.ValidTo) {
			i++
			continue
		}
		if err := e.close(ctx, vs, d, tracker.DeclarationExpired, "past valid_to", d.ValidTo); err != nil {
			*errs = append(*errs, err)
			i++
		}
	}
	alerts = e.checkDriver(ctx, vs, now, alerts)
	alerts = e.checkWeighings(ctx, vs, now, alerts)
	if o := vs.rare(); len(o.outbox) > 0 {
		alerts = append(alerts, o.outbox...)
		o.outbox = o.outbox[:0]
	}
	alerts = vs.suspend(e.expireGates(ctx, vs, now, alerts), from, held)
	return e.endEmergencies(vs, now, alerts)
}

// catchUp is how lately (on the Now clock) fixes from before a deadline must have come for the
// vehicle to be catching up: a terminal emptying a buffer in order, or the simulator's
// history, sends a day's crossing in and out a moment apart, and a check between them must not
// judge the car by the day's deadline.
const catchUp = 2 * time.Minute

// catchingUp reports whether the vehicle's fixes still come but are from before deadline: they
// came within catchUp, or the terminal is sending its past (its newest fix was already old when
// it came) and has not been silent for longer than silence, the signal loss (a stalled upload
// of a day's buffer is judged by its data, not by the server clock it lags).
func (vs *vstate) catchingUp(now, deadline time.Time, silence time.Duration) bool {
	if !vs.hasLast || !vs.last.Time.Before(deadline) {
		return false
	}
	return now.Sub(vs.lastRecv) <= catchUp || vs.lastRecv.Sub(vs.last.Time) > catchUp && now.Sub(vs.lastRecv) <= silence
}

// stopRec is a stop outside the zones where stopping is allowed.
type stopRec struct {
	at    point     // where and since when
	until time.Time // the latest fix of the stop
	met   map[string]bool
	late  bool // known from blind-area fixes: a meeting it is part of is late
}

// meetingMemory is how long an ended stop still counts for meetings: longer than any pause
// between two checks.
const meetingMemory = time.Hour

// stopInfo is a copy of a stopRec's times taken under its vehicle's lock.
type stopInfo struct {
	vs    *vstate
	rec   *stopRec
	at    point
	until time.Time
	live  bool // the stop goes on
	late  bool
}

// meetings pairs vehicles stopped outside allowed zones near each other for long enough: one
// alert per pair of stops. A sweep by latitude compares only neighbours.
func (e *Engine) meetings(stopped []stopInfo, alerts []tracker.Alert) []tracker.Alert {
	slices.SortFunc(stopped, func(a, b stopInfo) int { return cmp.Compare(a.at.Lat, b.at.Lat) })
	_, ky := geofence.MetresPerDegree(0) // the fewest metres per degree of latitude: the widest band
	dLat := e.cfg.MeetingRadiusM / ky
	for i := range stopped {
		for j := i + 1; j < len(stopped) && stopped[j].at.Lat-stopped[i].at.Lat <= dLat; j++ {
			a, b := stopped[i], stopped[j]
			if a.vs == b.vs {
				continue
			}
			if a.vs.id > b.vs.id {
				a, b = b, a
			}
			from := a.at.Time
			if b.at.Time.After(from) {
				from = b.at.Time
			}
			until := a.until
			if b.until.Before(until) {
				until = b.until
			}
			if until.Sub(from) < e.cfg.Meeting || geofence.GreatCircleM(a.at.Lat, a.at.Lon, b.at.Lat, b.at.Lon) > e.cfg.MeetingRadiusM {
				continue
			}
			partner := fmt.Sprintf("%s:%d", b.vs.id, b.at.Time.Unix())
			a.vs.Lock()
			done := a.rec.met[partner]
			if !done {
				if a.rec.met == nil {
					a.rec.met = map[string]bool{}
				}
				a.rec.met[partner] = true
			}
			al := a.vs.alert(tracker.AlertMeeting, tracker.SeverityWarning, fmt.Sprintf("meeting:%s:%s:%d", a.vs.id, b.vs.id, from.Unix()), from, a.at.Lat, a.at.Lon)
			a.vs.Unlock()
			if done {
				continue
			}
			e.m.alerts.WithLabelValues(tracker.AlertMeeting).Inc()
			al.UpdatedAt = until
			al.Active = a.live && b.live
			al.Late = a.late || b.late
			al.Message = fmt.Sprintf("stopped next to %s for %s", b.vs.id, until.Sub(from).Round(time.Second))
			al.Evidence = evidence(map[string]any{"vehicles": []string{a.vs.id, b.vs.id}, "stops": []point{a.at, b.at},
				"from": from, "until": until, "distance_m": geofence.GreatCircleM(a.at.Lat, a.at.Lon, b.at.Lat, b.at.Lon)})
			alerts = append(alerts, al)
		}
	}
	return alerts
}

// GateVehicle is the vehicle a gate read names, by card and then by plate; "" if none.
func (e *Engine) GateVehicle(g tracker.GateRead) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	id := ""
	if g.CardID != "" {
		id = e.byCard[g.CardID]
	}
	if id == "" && g.Plate != "" {
		id = e.byPlate[normPlate(g.Plate)]
	}
	return id
}

// GateRead matches a gate read to a vehicle by plate or IC card, compares it with the
// vehicle's GPS position at the read's time and its declaration, and returns the gate_read
// event and any gate_mismatch for the caller to commit. It implements mapui.GateHandler.
//
// Gate reads come straight over HTTP while fixes may still queue behind a busy gateway or a
// terminal's buffer: when the vehicle's fixes do not reach the read's time yet, the comparison
// waits for the first fix after it (or, at the latest, GateMaxAge), and the alert, if any, is
// raised then. Such a read returns no alerts.
func (e *Engine) GateRead(ctx context.Context, g tracker.GateRead) (tracker.Event, []tracker.Alert) {
	id := e.GateVehicle(g)
	ev := g.Event(id)
	gate, gerr := e.cfg.Store.Zone(ctx, g.GateZoneID)
	if gerr == nil {
		if c, ok := centroid(gate); ok {
			ev.Lat, ev.Lon = c[1], c[0]
		}
	}
	var alerts []tracker.Alert
	if id != "" {
		vs := e.vehicles.Get(id)
		vs.Lock()
		pg := &pendingGate{read: g, lat: ev.Lat, lon: ev.Lon}
		port := g.GateZoneID
		if gerr == nil && gate.Kind != geofence.KindPort {
			if p, ok := gate.Properties["port_id"].(string); ok {
				port = p
			}
		}
		// The declaration of the read's direction: a truck leaving on its outbound declaration
		// may still hold the inbound one it came on.
		if d := vs.activeDir(g.Time, gateDirection(g.Direction)); d != nil && d.PortZoneID != "" && port != d.PortZoneID {
			pg.reasons = append(pg.reasons, fmt.Sprintf("read at %s, declared %s", port, d.PortZoneID))
			pg.declID, pg.declPort = d.ID, d.PortZoneID
		}
		if vs.kind == tracker.KindResidentCar {
			switch g.Direction {
			case "in":
				vs.entered = true
				vs.enteredAt(g.Time, e.cfg.ResidentMaxStay)
			case "out":
				vs.entered, vs.stay = false, nil
				if vs.occ != nil {
					vs.occ.overKey = ""
				}
			}
		}
		if at, ok := vs.positionAt(g.Time); ok || !vs.hasLast || g.Time.Sub(vs.last.Time) <= gateFresh {
			if !ok && vs.hasLast {
				at = vs.last
			}
			alerts = e.judgeGate(ctx, vs, pg, at, vs.hasLast, alerts)
		} else {
			o := vs.rareMut()
			o.gates = append(o.gates, pg)
		}
		vs.Unlock()
	}
	return ev, alerts
}

// gateFresh: a last fix this close before a gate read places the vehicle at the read.
const gateFresh = time.Minute

// pendingGate is a gate read waiting for the vehicle's position at its time.
type pendingGate struct {
	read             tracker.GateRead
	lat, lon         float64 // the gate
	reasons          []string
	declID, declPort string
}

func gateDirection(d string) string {
	if d == "out" {
		return tracker.Outbound
	}
	return tracker.Inbound
}

// positionAt interpolates the vehicle's position at t between the recent fixes around it.
func (vs *vstate) positionAt(t time.Time) (point, bool) {
	h := vs.history
	i, found := slices.BinarySearchFunc(h, t, histAt)
	switch {
	case found:
		lat, lon := h[i].position()
		return point{Time: t, Lat: lat, Lon: lon}, true
	case i == 0 || i == len(h):
		return point{}, false
	}
	a, b := h[i-1].point(), h[i].point()
	k := float64(t.Sub(a.Time)) / float64(b.Time.Sub(a.Time))
	return point{Time: t, Lat: a.Lat + k*(b.Lat-a.Lat), Lon: a.Lon + k*(b.Lon-a.Lon)}, true
}

// judgeGate raises the gate_mismatch of a read, given the vehicle's position at (or, when
// hasPos is false, nowhere near) its time. A position older than the read allows for how far
// the vehicle may have driven since.
func (e *Engine) judgeGate(ctx context.Context, vs *vstate, pg *pendingGate, at point, hasPos bool, alerts []tracker.Alert) []tracker.Alert {
	g := pg.read
	reasons := pg.reasons
	evd := map[string]any{"gate_zone_id": g.GateZoneID, "plate": g.Plate, "card_id": g.CardID, "direction": g.Direction}
	if pg.declPort != "" {
		evd["declared_port_zone_id"] = pg.declPort
	}
	if age := g.Time.Sub(at.Time).Abs(); hasPos && age <= e.cfg.GateMaxAge {
		reach := e.cfg.GateMaxDistanceM + gateReachKmh/3.6*max(0, g.Time.Sub(at.Time).Seconds()-gateFresh.Seconds())
		if dist, err := e.cfg.Engine.DistanceM(ctx, g.GateZoneID, at.Lat, at.Lon); err == nil && dist > reach {
			reasons = append(slices.Clip(reasons), fmt.Sprintf("GPS position %.0f m from the gate", dist))
			evd["position"] = at
			evd["distance_m"] = dist
		}
	}
	if len(reasons) == 0 {
		return alerts
	}
	a := vs.alert(tracker.AlertGateMismatch, tracker.SeverityWarning, fmt.Sprintf("gate_mismatch:%s:%s:%d", vs.id, g.GateZoneID, g.Time.Unix()), g.Time, pg.lat, pg.lon)
	a.DeclarationID = strp(pg.declID)
	a.ZoneID = strp(g.GateZoneID)
	a.Message = fmt.Sprint(reasons)
	evd["reasons"] = reasons
	a.Evidence = evidence(evd)
	e.m.alerts.WithLabelValues(tracker.AlertGateMismatch).Inc()
	return append(alerts, a)
}

// gateReachKmh is how fast a vehicle is assumed to have driven since its last fix before a
// gate read judged without a later one.
const gateReachKmh = 100

// settleGates judges the pending gate reads that the vehicle's newest fix has passed.
func (e *Engine) settleGates(ctx context.Context, vs *vstate, alerts []tracker.Alert) []tracker.Alert {
	o := vs.rare()
	if len(o.gates) == 0 {
		return alerts
	}
	keep := o.gates[:0]
	for _, pg := range o.gates {
		at, ok := vs.positionAt(pg.read.Time)
		if !ok {
			keep = append(keep, pg)
			continue
		}
		alerts = e.judgeGate(ctx, vs, pg, at, true, alerts)
	}
	clear(o.gates[len(keep):])
	o.gates = keep
	return alerts
}

// expireGates judges the pending gate reads no fix has followed for GateMaxAge on the last
// fix before them.
func (e *Engine) expireGates(ctx context.Context, vs *vstate, now time.Time, alerts []tracker.Alert) []tracker.Alert {
	o := vs.rare()
	if len(o.gates) == 0 {
		return alerts
	}
	keep := o.gates[:0]
	for _, pg := range o.gates {
		if now.Sub(pg.read.Time) <= e.cfg.GateMaxAge {
			keep = append(keep, pg)
			continue
		}
		alerts = e.judgeGate(ctx, vs, pg, vs.last, vs.hasLast, alerts)
	}
	clear(o.gates[len(keep):])
	o.gates = keep
	return alerts
}

func centroid(z geofence.Zone) ([2]float64, bool) {
	if z.Geometry == nil {
		return [2]float64{}, false
	}
	c := z.Geometry.Bound().Center()
	return [2]float64{c[0], c[1]}, true
}
