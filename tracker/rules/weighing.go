package rules

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Weighbridges (地磅): a declared truck is weighed at customs' scale house in the port, at
// the yard's scale, or both. A reading is matched to the vehicle (card, then plate) and to
// the declaration it travels on: the one active at the reading's time, or, for a reading taken
// within WeighingGrace after the truck arrived in its yard (which completes the declaration),
// that one. It raises
//   - weight_mismatch: net weight off the declared one by more than the cargo's tolerance;
//   - double_weighing: two scales' gross readings of the truck on one trip differ by more than
//     ScaleTolerancePct; the alert names the scale whose readings disagree with the others
//     systematically over DriftDays (tracker.Drift), if one does;
//   - weighing_skipped: on the timer, WeighingGrace after an inbound declared truck with a
//     declared net weight arrived in its yard having crossed in at a port, when no reading of
//     that trip is stored. Judged then rather than at the arrival itself, so that the yard's
//     own scale at its gate has time to weigh the truck; the store is asked, so that a reading
//     taken before a restart counts.

// weighTrip is what the rules follow of one declaration's weighings.
type weighTrip struct {
	decl     tracker.Declaration
	readings []tracker.Weighing
	seeded   bool      // the readings stored before (a restart) are in readings
	arrived  time.Time // arrival in the yard; zero: not yet
	lat, lon float64   // where it arrived
	mismatch bool      // weight_mismatch raised for this trip
}

// arrivedReason begins the status reason of a declaration its truck's arrival in the yard
// completed: restoreTrips knows the trips that arrived by it.
const arrivedReason = "arrived in yard "

// restoreTrips gives back what the rules follow of inbound trips beyond the fixes a take-over
// replays (or none, at a restart): that the truck of an active weighed declaration crossed in,
// and the trips that arrived in their yard within WeighingGrace. The arrival completed the
// declaration, so neither the active declarations nor a replay of the arrival's fixes bring the
// trip back: without it a reading in the grace would match no declaration, and weighing_skipped
// would never be raised.
func (e *Engine) restoreTrips(ctx context.Context, active []tracker.Declaration, match func(vehicleID string) bool) error {
	now := e.cfg.Now()
	for i := range active {
		d := &active[i]
		if !weighed(d) {
			continue
		}
		crossed, err := e.crossedIn(ctx, d, now)
		if err != nil {
			return err
		}
		if crossed {
			vs := e.vehicles.Get(d.VehicleID)
			vs.Lock()
			if di := vs.activeByID(d.ID); di != nil {
				di.crossedIn = true
			}
			vs.Unlock()
		}
	}
	done, err := e.cfg.Store.Declarations(ctx, tracker.DeclarationQuery{Status: tracker.DeclarationCompleted, ClosedFrom: now.Add(-e.cfg.WeighingGrace)})
	if err != nil {
		return fmt.Errorf("rules: trips arrived in their yard: %w", err)
	}
	for i := range done {
		d := &done[i]
		if !match(d.VehicleID) || !weighed(d) || d.ClosedAt == nil || !strings.HasPrefix(d.StatusReason, arrivedReason) {
			continue
		}
		crossed, err := e.crossedIn(ctx, d, *d.ClosedAt)
		if err != nil {
			return err
		}
		if !crossed {
			continue
		}
		lat, lon, err := e.arrivedAt(ctx, d)
		if err != nil {
			return err
		}
		vs := e.vehicles.Get(d.VehicleID)
		vs.Lock()
		if t := vs.trip(*d); t.arrived.IsZero() {
			t.arrived, t.lat, t.lon = *d.ClosedAt, lat, lon
		}
		vs.Unlock()
	}
	return nil
}

// crossedIn reports whether d's truck crossed into China while d was active, before until.
func (e *Engine) crossedIn(ctx context.Context, d *tracker.Declaration, until time.Time) (bool, error) {
	if d.ValidTo.Before(until) {
		until = d.ValidTo
	}
	evs, err := e.cfg.Store.Events(ctx, tracker.EventQuery{VehicleID: d.VehicleID, Type: tracker.EventBorderCross,
		From: d.ValidFrom, To: until.Add(time.Microsecond)})
	if err != nil {
		return false, fmt.Errorf("rules: crossings of declaration %s: %w", d.ID, err)
	}
	return slices.ContainsFunc(evs, func(ev tracker.Event) bool { return ev.Attrs["direction"] == geofence.Inbound }), nil
}

// arrivedAt is where d's truck entered its yard: its zone_enter event, else the yard's centre.
func (e *Engine) arrivedAt(ctx context.Context, d *tracker.Declaration) (lat, lon float64, err error) {
	evs, err := e.cfg.Store.Events(ctx, tracker.EventQuery{VehicleID: d.VehicleID, Type: tracker.EventZoneEnter,
		From: *d.ClosedAt, To: d.ClosedAt.Add(time.Microsecond)})
	if err != nil {
		return 0, 0, fmt.Errorf("rules: arrival of declaration %s: %w", d.ID, err)
	}
	for _, ev := range evs {
		if ev.ZoneID == d.YardZoneID {
			return ev.Lat, ev.Lon, nil
		}
	}
	if z, err := e.cfg.Store.Zone(ctx, d.YardZoneID); err == nil {
		if c, ok := centroid(z); ok {
			return c[1], c[0], nil
		}
	}
	return 0, 0, nil
}

// trip is the vehicle's weighTrip of d, made on first use.
func (vs *vstate) trip(d tracker.Declaration) *weighTrip {
	o := vs.rareMut()
	if o.weighs == nil {
		o.weighs = map[string]*weighTrip{}
	}
	t := o.weighs[d.ID]
	if t == nil {
		t = &weighTrip{decl: d}
		o.weighs[d.ID] = t
	}
	return t
}

// weighed: a declaration whose truck should cross a scale on its way from port to yard.
func weighed(d *tracker.Declaration) bool {
	return d.Direction == tracker.Inbound && d.YardZoneID != "" && d.DeclaredNetKg != nil && d.Type != tracker.DeclarationEmergency
}

// arrivedInYard notes an inbound declared truck's arrival in its yard, for weighing_skipped.
func (vs *vstate) arrivedInYard(d *decl, at time.Time, lat, lon float64) {
	if !weighed(&d.Declaration) || !d.crossedIn {
		return
	}
	t := vs.trip(d.Declaration)
	t.arrived, t.lat, t.lon = at, lat, lon
}

// Weighing matches a weighbridge reading to its vehicle and declaration, and returns the
// reading so matched with what it raises for the caller to commit (the weighing event and the
// alerts). It implements mapui.WeighingHandler.
func (e *Engine) Weighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, tracker.Outcome) {
	e.mu.RLock()
	if w.CardID != "" {
		w.VehicleID = e.byCard[w.CardID]
	}
	if w.VehicleID == "" && w.Plate != "" {
		w.VehicleID = e.byPlate[normPlate(w.Plate)]
	}
	e.mu.RUnlock()
	var lat, lon float64
	if z, err := e.cfg.Store.Zone(ctx, w.ZoneID); err == nil {
		if c, ok := centroid(z); ok {
			lat, lon = c[1], c[0]
		}
	}
	if w.VehicleID == "" {
		return w, tracker.Outcome{Events: []tracker.Event{w.Event(lat, lon)}}
	}
	vs := e.vehicles.Get(w.VehicleID)
	vs.Lock()
	defer vs.Unlock()
	t := e.tripOf(vs, w.Time)
	if t == nil {
		return w, tracker.Outcome{Events: []tracker.Event{w.Event(lat, lon)}}
	}
	w.DeclarationID = t.decl.ID
	out := tracker.Outcome{Events: []tracker.Event{w.Event(lat, lon)}}
	if !t.seeded {
		t.seeded = true
		if ws, err := e.cfg.Store.Weighings(ctx, tracker.WeighingQuery{DeclarationID: t.decl.ID}); err == nil {
			t.readings = append(ws, t.readings...)
		} else {
			e.log.Warn("rules: earlier weighings of the trip not read; compared with this server's only", "declaration", t.decl.ID, "err", err)
		}
	}
	if a, ok := e.weightMismatch(vs, t, w, lat, lon); ok {
		out.Alerts = append(out.Alerts, a)
	}
	if a, ok := e.doubleWeighing(ctx, vs, t, w, lat, lon); ok {
		out.Alerts = append(out.Alerts, a)
	}
	t.readings = append(t.readings, w)
	return w, out
}

// tripOf is the trip a reading at time at belongs to: the active declaration's, or the one
// that arrived in its yard within WeighingGrace before.
func (e *Engine) tripOf(vs *vstate, at time.Time) *weighTrip {
	if d := vs.active(at); d != nil {
		return vs.trip(d.Declaration)
	}
	var best *weighTrip
	for _, t := range vs.rare().weighs {
		if !t.arrived.IsZero() && !at.Before(t.arrived.Add(-time.Minute)) && at.Sub(t.arrived) <= e.cfg.WeighingGrace &&
			(best == nil || t.arrived.After(best.arrived)) {
			best = t
		}
	}
	return best
}

// tolerancePct is the weight tolerance of a cargo: the CargoTolerancePct entry whose key is the
// longest found in the declared cargo, else WeightTolerancePct.
func (e *Engine) tolerancePct(cargo string) float64 {
	tol, keyLen := e.cfg.WeightTolerancePct, 0
	for k, v := range e.cfg.CargoTolerancePct {
		if k != "" && len(k) > keyLen && strings.Contains(cargo, k) {
			tol, keyLen = v, len(k)
		}
	}
	return tol
}

func (e *Engine) weightMismatch(vs *vstate, t *weighTrip, w tracker.Weighing, lat, lon float64) (tracker.Alert, bool) {
	d := t.decl
	if d.DeclaredNetKg == nil || *d.DeclaredNetKg <= 0 {
		return tracker.Alert{}, false
	}
	declared := *d.DeclaredNetKg
	pct := 100 * (w.NetKg - declared) / declared
	tol := e.tolerancePct(d.Cargo)
	if math.Abs(pct) <= tol {
		return tracker.Alert{}, false
	}
	key := fmt.Sprintf("%s:%s", tracker.AlertWeightMismatch, d.ID)
	if !t.mismatch {
		t.mismatch = true
		e.m.alerts.WithLabelValues(tracker.AlertWeightMismatch).Inc()
	}
	a := vs.alert(tracker.AlertWeightMismatch, tracker.SeverityWarning, key, w.Time, lat, lon)
	a.DeclarationID, a.ZoneID = strp(d.ID), strp(w.ZoneID)
	a.Message = fmt.Sprintf("net %.0f kg on scale %s, declared %.0f kg (%+.1f%%, tolerance %.1f%%)", w.NetKg, w.ScaleID, declared, pct, tol)
	a.Evidence = evidence(map[string]any{"scale_id": w.ScaleID, "zone_id": w.ZoneID, "time": w.Time.UTC(), "gross_kg": w.GrossKg, "tare_kg": w.TareKg,
		"net_kg": w.NetKg, "declared_net_kg": declared, "difference_kg": w.NetKg - declared, "difference_pct": pct, "tolerance_pct": tol,
		"cargo": d.Cargo, "operator": w.Operator})
	return a, true
}

// doubleWeighing compares the reading with the trip's readings at other scales.
func (e *Engine) doubleWeighing(ctx context.Context, vs *vstate, t *weighTrip, w tracker.Weighing, lat, lon float64) (tracker.Alert, bool) {
	var other *tracker.Weighing
	var pct float64
	for i := range t.readings {
		r := &t.readings[i]
		if r.ScaleID == w.ScaleID || r.GrossKg <= 0 {
			continue
		}
		if p := 100 * (w.GrossKg - r.GrossKg) / r.GrossKg; math.Abs(p) > e.cfg.ScaleTolerancePct && math.Abs(p) > math.Abs(pct) {
			other, pct = r, p
		}
	}
	if other == nil {
		return tracker.Alert{}, false
	}
	ev := map[string]any{"readings": []tracker.Weighing{*other, w}, "difference_kg": w.GrossKg - other.GrossKg, "difference_pct": pct,
		"tolerance_pct": e.cfg.ScaleTolerancePct}
	msg := fmt.Sprintf("gross %.0f kg on scale %s, %.0f kg on scale %s (%+.1f%%): load changed between the scales?", w.GrossKg, w.ScaleID, other.GrossKg, other.ScaleID, pct)
	since := w.Time.Add(-time.Duration(e.cfg.DriftDays) * 24 * time.Hour)
	if ws, err := e.cfg.Store.Weighings(ctx, tracker.WeighingQuery{From: since, To: w.Time}); err == nil {
		var drifting []tracker.ScaleDrift
		var pair *tracker.ScaleDrift // this scale's systematic difference from the other, when only the two were compared
		for _, sd := range tracker.Drift(append(ws, w), e.cfg.ScaleTolerancePct) {
			if sd.Drifting && (sd.ScaleID == w.ScaleID || sd.ScaleID == other.ScaleID) {
				drifting = append(drifting, sd)
			}
			if sd.ScaleID == w.ScaleID && sd.Others == 1 && sd.Trips >= tracker.DriftMinTrips &&
				math.Abs(sd.MeanPct)-e.cfg.ScaleTolerancePct > 2*sd.SpreadPct/math.Sqrt(float64(sd.Trips)) {
				pair = &sd
			}
		}
		if pair != nil && len(drifting) == 0 {
			ev["scale_pair"] = pair
			msg = fmt.Sprintf("gross %.0f kg on scale %s, %.0f kg on scale %s (%+.1f%%): the two have disagreed by %+.1f%% on %d trips: one of them drifts (no third scale to tell which)",
				w.GrossKg, w.ScaleID, other.GrossKg, other.ScaleID, pct, pair.MeanPct, pair.Trips)
		}
		if len(drifting) > 0 {
			ev["drifting_scales"] = drifting
			sd := drifting[0]
			msg = fmt.Sprintf("gross %.0f kg on scale %s, %.0f kg on scale %s (%+.1f%%): scale %s reads %+.1f%% against other scales over %d trips: calibrate it",
				w.GrossKg, w.ScaleID, other.GrossKg, other.ScaleID, pct, sd.ScaleID, sd.BiasPct, sd.Trips)
		}
	} else {
		e.log.Warn("rules: scale drift not read", "err", err)
	}
	key := fmt.Sprintf("%s:%s", tracker.AlertDoubleWeighing, t.decl.ID)
	e.m.alerts.WithLabelValues(tracker.AlertDoubleWeighing).Inc()
	a := vs.alert(tracker.AlertDoubleWeighing, tracker.SeverityWarning, key, w.Time, lat, lon)
	a.DeclarationID, a.ZoneID = strp(t.decl.ID), strp(w.ZoneID)
	a.Message = msg
	a.Evidence = evidence(ev)
	return a, true
}

// checkWeighings, on the timer, raises weighing_skipped for trips that arrived in their yard
// WeighingGrace ago without a reading, and forgets trips that are over.
func (e *Engine) checkWeighings(ctx context.Context, vs *vstate, now time.Time, alerts []tracker.Alert) []tracker.Alert {
	o := vs.rare()
	for id, t := range o.weighs {
		if t.arrived.IsZero() {
			if vs.activeByID(id) == nil {
				delete(o.weighs, id) // ended without reaching the yard: nothing to weigh against
			}
			continue
		}
		if now.Sub(t.arrived) <= e.cfg.WeighingGrace {
			continue
		}
		if len(t.readings) == 0 {
			ws, err := e.cfg.Store.Weighings(ctx, tracker.WeighingQuery{DeclarationID: id, Limit: 1})
			if err != nil {
				e.log.Warn("rules: weighings of an arrived trip not read; judged at the next check", "declaration", id, "err", err)
				continue
			}
			if len(ws) == 0 {
				alerts = append(alerts, e.weighingSkipped(vs, t))
			}
		}
		delete(o.weighs, id)
	}
	return alerts
}

func (e *Engine) weighingSkipped(vs *vstate, t *weighTrip) tracker.Alert {
	d := t.decl
	e.m.alerts.WithLabelValues(tracker.AlertWeighingSkipped).Inc()
	a := vs.alert(tracker.AlertWeighingSkipped, tracker.SeverityWarning, fmt.Sprintf("%s:%s", tracker.AlertWeighingSkipped, d.ID), t.arrived, t.lat, t.lon)
	a.DeclarationID, a.ZoneID = strp(d.ID), strp(d.YardZoneID)
	a.Message = fmt.Sprintf("arrived in yard %s from port %s with no weighbridge reading within %s", d.YardZoneID, d.PortZoneID, e.cfg.WeighingGrace)
	a.Evidence = evidence(map[string]any{"port_zone_id": d.PortZoneID, "yard_zone_id": d.YardZoneID, "arrived": t.arrived.UTC(),
		"grace_s": e.cfg.WeighingGrace.Seconds(), "declared_net_kg": *d.DeclaredNetKg, "cargo": d.Cargo})
	return a
}

// activeByID is the vehicle's active declaration with the ID, nil if it has none.
func (vs *vstate) activeByID(id string) *decl {
	for _, d := range vs.decls {
		if d.ID == id {
			return d
		}
	}
	return nil
}
