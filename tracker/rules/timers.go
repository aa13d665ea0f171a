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
// overstay and meetings. Run calls it every Tick; it is exported for replays and tests.
func (e *Engine) Check(ctx context.Context) error {
	now := e.cfg.Now().UTC()
	e.mu.RLock()
	all := make([]*vstate, 0, len(e.vehicles))
	for _, vs := range e.vehicles {
		all = append(all, vs)
	}
	e.mu.RUnlock()

	var alerts []tracker.Alert
	var errs []error
	var stopped []stopInfo
	for _, vs := range all {
		vs.mu.Lock()
		alerts = e.checkVehicle(ctx, vs, now, alerts, &errs)
		if vs.stopped && !vs.stopAllowed {
			stopped = append(stopped, stopInfo{vs: vs, at: vs.anchor, until: vs.anchorLast})
		}
		vs.mu.Unlock()
	}
	alerts = e.meetings(stopped, alerts)
	if em := e.emitter(); em != nil && len(alerts) > 0 {
		if err := em.Emit(ctx, nil, alerts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) checkVehicle(ctx context.Context, vs *vstate, now time.Time, alerts []tracker.Alert, errs *[]error) []tracker.Alert {
	// Signal loss, judged on the server clock: device clocks of silent terminals say nothing.
	if vs.hasLast && vs.lostKey == "" && now.Sub(vs.lastRecv) > e.cfg.SignalLost && vs.watched(vs.last.Time) {
		vs.lostKey = fmt.Sprintf("signal_lost:%s:%d", vs.id, vs.last.Time.Unix())
		e.m.alerts.WithLabelValues(tracker.AlertSignalLost).Inc()
		a := vs.alert(tracker.AlertSignalLost, tracker.SeverityWarning, vs.lostKey, vs.last.Time, vs.last.Lat, vs.last.Lon)
		a.UpdatedAt = now
		a.Active = true
		a.Message = fmt.Sprintf("no fix since %s", vs.last.Time.UTC().Format(time.RFC3339))
		a.Evidence = evidence(map[string]any{"last_fix": vs.last, "control_zone": vs.controlZones > 0})
		alerts = append(alerts, a)
	}
	// Overstay before expiry: both happen at valid_to, and the deadline outlives the declaration.
	if vs.kind == tracker.KindResidentCar && vs.entered && !vs.deadline.IsZero() && now.After(vs.deadline) && vs.overKey == "" {
		vs.overKey = fmt.Sprintf("overstay:%s:%d", vs.id, vs.deadline.Unix())
		e.m.alerts.WithLabelValues(tracker.AlertOverstay).Inc()
		a := vs.alert(tracker.AlertOverstay, tracker.SeverityWarning, vs.overKey, vs.deadline, vs.last.Lat, vs.last.Lon)
		a.DeclarationID = strp(vs.deadlineDecl)
		a.UpdatedAt = now
		a.Active = true
		a.Message = "resident car has not exited by " + vs.deadline.UTC().Format(time.RFC3339)
		ev := map[string]any{"deadline": vs.deadline.UTC()}
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
	alerts = append(alerts, vs.outbox...)
	vs.outbox = vs.outbox[:0]
	return alerts
}

type stopInfo struct {
	vs    *vstate
	at    point
	until time.Time
}

// meetings pairs vehicles stopped outside allowed zones near each other for long enough: one
// alert per pair and stop. A sweep by latitude compares only neighbours.
func (e *Engine) meetings(stopped []stopInfo, alerts []tracker.Alert) []tracker.Alert {
	slices.SortFunc(stopped, func(a, b stopInfo) int { return cmp.Compare(a.at.Lat, b.at.Lat) })
	dLat := e.cfg.MeetingRadiusM / 111000
	for i := range stopped {
		for j := i + 1; j < len(stopped) && stopped[j].at.Lat-stopped[i].at.Lat <= dLat; j++ {
			a, b := stopped[i], stopped[j]
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
			if until.Sub(from) < e.cfg.Meeting || tracker.DistanceM(a.at.Lat, a.at.Lon, b.at.Lat, b.at.Lon) > e.cfg.MeetingRadiusM {
				continue
			}
			a.vs.mu.Lock()
			done := a.vs.met[b.vs.id]
			if !done {
				if a.vs.met == nil {
					a.vs.met = map[string]bool{}
				}
				a.vs.met[b.vs.id] = true
			}
			al := a.vs.alert(tracker.AlertMeeting, tracker.SeverityWarning, fmt.Sprintf("meeting:%s:%s:%d", a.vs.id, b.vs.id, from.Unix()), from, a.at.Lat, a.at.Lon)
			a.vs.mu.Unlock()
			if done {
				continue
			}
			e.m.alerts.WithLabelValues(tracker.AlertMeeting).Inc()
			al.UpdatedAt = until
			al.Active = true
			al.Message = fmt.Sprintf("stopped next to %s for %s", b.vs.id, until.Sub(from).Round(time.Second))
			al.Evidence = evidence(map[string]any{"vehicles": []string{a.vs.id, b.vs.id}, "stops": []point{a.at, b.at},
				"from": from, "until": until, "distance_m": tracker.DistanceM(a.at.Lat, a.at.Lon, b.at.Lat, b.at.Lon)})
			alerts = append(alerts, al)
		}
	}
	return alerts
}

// GateRead matches a gate read to a vehicle by plate or IC card, compares it with the
// vehicle's last GPS position and its declaration, and stores the gate_read event and any
// gate_mismatch through the attached pipeline. It implements mapui.GateHandler.
func (e *Engine) GateRead(ctx context.Context, g tracker.GateRead) (tracker.Event, []tracker.Alert, error) {
	e.mu.RLock()
	id := ""
	if g.CardID != "" {
		id = e.byCard[g.CardID]
	}
	if id == "" && g.Plate != "" {
		id = e.byPlate[normPlate(g.Plate)]
	}
	e.mu.RUnlock()
	ev := g.Event(id)
	gate, gerr := e.cfg.Store.Zone(ctx, g.GateZoneID)
	if gerr == nil {
		if c, ok := centroid(gate); ok {
			ev.Lat, ev.Lon = c[1], c[0]
		}
	}
	var alerts []tracker.Alert
	if id != "" {
		vs := e.state(id)
		vs.mu.Lock()
		var reasons []string
		evd := map[string]any{"gate_zone_id": g.GateZoneID, "plate": g.Plate, "card_id": g.CardID, "direction": g.Direction}
		if vs.hasLast && g.Time.Sub(vs.last.Time).Abs() <= e.cfg.GateMaxAge {
			if dist, err := e.cfg.Engine.DistanceM(ctx, g.GateZoneID, vs.last.Lat, vs.last.Lon); err == nil && dist > e.cfg.GateMaxDistanceM {
				reasons = append(reasons, fmt.Sprintf("last GPS position %.0f m from the gate", dist))
				evd["last_fix"] = vs.last
				evd["distance_m"] = dist
			}
		}
		port := g.GateZoneID
		if gerr == nil && gate.Kind != geofence.KindPort {
			if p, ok := gate.Properties["port_id"].(string); ok {
				port = p
			}
		}
		if d := vs.active(g.Time); d != nil && d.PortZoneID != "" && port != d.PortZoneID {
			reasons = append(reasons, fmt.Sprintf("read at %s, declared %s", port, d.PortZoneID))
			evd["declared_port_zone_id"] = d.PortZoneID
		}
		if vs.kind == tracker.KindResidentCar {
			switch g.Direction {
			case "in":
				vs.entered = true
				if vs.deadline.IsZero() {
					vs.deadline = g.Time.Add(e.cfg.ResidentMaxStay)
				}
			case "out":
				vs.entered, vs.deadline, vs.deadlineDecl, vs.overKey = false, time.Time{}, "", ""
			}
		}
		if len(reasons) > 0 {
			a := vs.alert(tracker.AlertGateMismatch, tracker.SeverityWarning, fmt.Sprintf("gate_mismatch:%s:%s:%d", id, g.GateZoneID, g.Time.Unix()), g.Time, ev.Lat, ev.Lon)
			a.ZoneID = strp(g.GateZoneID)
			a.Active = false
			a.Message = fmt.Sprint(reasons)
			evd["reasons"] = reasons
			a.Evidence = evidence(evd)
			e.m.alerts.WithLabelValues(tracker.AlertGateMismatch).Inc()
			alerts = append(alerts, a)
		}
		vs.mu.Unlock()
	}
	em := e.emitter()
	if em == nil {
		return ev, alerts, errors.New("rules: no pipeline attached")
	}
	if err := em.Emit(ctx, []tracker.Event{ev}, alerts); err != nil {
		return ev, nil, err
	}
	return ev, alerts, nil
}

func centroid(z geofence.Zone) ([2]float64, bool) {
	if z.Geometry == nil {
		return [2]float64{}, false
	}
	c := z.Geometry.Bound().Center()
	return [2]float64{c[0], c[1]}, true
}
