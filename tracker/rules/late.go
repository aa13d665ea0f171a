package rules

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Late data: a terminal that loses its network keeps fixing and uploads the buffer when the
// network returns (JT/T 808 0x0704), often after its first live fix. The live rules then judged
// the silence as one straight segment; the buffer shows what really happened in it.
//
// A buffer uploaded oldest first is replayed over its gap with the live rules' own logic, on a
// copy of the vehicle's rule state as it was when the silence began: stops (stop_start and
// stop_end at their true times, unauthorized_stop), stretches off the declared corridor (detour),
// zones visited only while dark (zone_enter and zone_exit, tested geometrically: the geofence
// engine's per-vehicle state is never moved back in time), stops outside allowed zones for
// meetings; border crossings are placed by late itself. Whatever the replay raises is late,
// names the blind-area fixes that show it, and uses the live dedup keys where the incident is
// one the live rules could have raised, so one incident stays one alert.
//
// What a late fix can change: it raises alerts and events for incidents inside the gap; an
// incident that runs on past the gap's end is joined to the live one (the live rules adopt its
// earlier start and finish it); the gap's signal_lost gains the distance driven while dark; a
// live crossing alert the buffer disproves is closed (late).
//
// What it cannot change: it never re-opens or rewrites an alert the live rules raised (a
// resolved one stays resolved, and the signal_lost is left alone once resolved), never moves
// the geofence engine's state, never completes or closes a declaration (arriving in the yard
// while dark does not end the trip; the live fixes do), and never withdraws live events (a
// stop the live rules ended at the last fix before the silence keeps that stop_end). Fixes
// uploaded newest first, or into a gap already settled, are checked for crossings only.

// gapRec is a silence between two live fixes that a blind-area upload may fill, with the rule
// state as it was when the silence began and the replay of the fixes uploaded so far.
type gapRec struct {
	from, to point // the live fixes around the silence

	// the gap's signal_lost alert, if the live rules raised one
	lost    tracker.Alert
	lostEv  map[string]any
	hasLost bool

	// the live rules' view after the fix that ended the silence
	liveAnchor time.Time // stop anchor
	liveOff    time.Time // start of the stretch off the corridor, zero when on it
	// alerts the live rules raised later for a stop or stretch that began at to
	toStopKey, toDetourKey string

	// the replay
	d               *decl // the declaration active at the gap
	passed, reached bool  // its corridor bounds (see decl)
	stop            stopState
	seedStopped     bool // the stop at the gap's start had been reported live
	cur             *stopRec
	det             detourState
	edge            map[string]bool // zones containing from or to: the live rules' business
	zones           []*zoneVisit
	last            point // the newest fix replayed (from before any)
	n               int   // fixes replayed
	pathM           float64
	fixes           []time.Time
	fedAt           time.Time // Now when a fix was last replayed
	done            bool
}

// zoneVisit is a zone a replayed fix was in.
type zoneVisit struct {
	id       string
	kind     geofence.Kind
	out      bool  // seen outside since, exit not yet confirmed
	outSince point // the first fix outside
}

// maxGaps is how many silences a vehicle keeps for uploads, the longest of its recent ones;
// maxGapFixes how many fix times a gap keeps for evidence.
const (
	maxGaps     = 8
	maxGapFixes = 2048
)

// lateQuiet: a replay fed nothing for this long on the Now clock is settled although its
// upload did not reach the gap's end.
const lateQuiet = time.Minute

// openGap records a silence ending at to, with the state the replay starts from.
func (vs *vstate) openGap(to point, history int) *gapRec {
	g := &gapRec{from: vs.last, to: to, last: vs.last, stop: vs.stopState, seedStopped: vs.stopped, cur: vs.cur, det: vs.offCorridor()}
	g.d = vs.active(vs.last.Time)
	if g.d == nil {
		g.d = vs.active(to.Time)
	}
	if g.d != nil {
		g.passed, g.reached = g.d.passedPort, g.d.reachedPort
	}
	o := vs.rareMut()
	if len(o.gaps) >= maxGaps {
		// The shortest silence goes, the oldest of equal ones, as in the history (see trim): a
		// terminal going dark briefly again and again must not drop the long silence before.
		i := 0
		for j, x := range o.gaps {
			if x.to.Time.Sub(x.from.Time) < o.gaps[i].to.Time.Sub(o.gaps[i].from.Time) {
				i = j
			}
		}
		o.gaps = slices.Delete(o.gaps, i, i+1)
	}
	o.gaps = append(o.gaps, g)
	return g
}

// gapEndingAt is the recent gap whose silence ended at t.
func (vs *vstate) gapEndingAt(t time.Time) *gapRec {
	for _, g := range vs.rare().gaps {
		if g.to.Time.Equal(t) {
			return g
		}
	}
	return nil
}

// onDecl reports whether the gap's declaration was active at t.
func (g *gapRec) onDecl(t time.Time) bool { return g.d != nil && g.d.ActiveAt(t) }

// fixesIn are the replayed fix times from a to b, for evidence.
func (g *gapRec) fixesIn(a, b time.Time) []time.Time {
	i, _ := slices.BinarySearchFunc(g.fixes, a, func(x, t time.Time) int { return x.Compare(t) })
	j, _ := slices.BinarySearchFunc(g.fixes, b, func(x, t time.Time) int { return x.Compare(t) })
	if j < len(g.fixes) && g.fixes[j].Equal(b) {
		j++
	}
	return slices.Clone(g.fixes[i:j])
}

// replay runs the rules over one late fix, already placed in the history, if it continues its
// gap's upload in time order.
func (e *Engine) replay(ctx context.Context, vs *vstate, f *tracker.Fix, crossings []geofence.Event, out *tracker.Outcome) error {
	var g *gapRec
	for _, x := range vs.rare().gaps {
		if f.Time.After(x.from.Time) && f.Time.Before(x.to.Time) {
			g = x
			break
		}
	}
	if g == nil || g.done || !f.Time.After(g.last.Time) {
		return nil
	}
	p := pt(f)
	if g.edge == nil {
		if err := e.edgeZones(ctx, g); err != nil {
			return err
		}
	}
	g.pathM += geofence.GreatCircleM(g.last.Lat, g.last.Lon, p.Lat, p.Lon)
	g.n++
	if len(g.fixes) < maxGapFixes {
		g.fixes = append(g.fixes, p.Time)
	}
	g.fedAt = e.cfg.Now()
	for _, c := range crossings {
		if g.d != nil && g.d.Direction == tracker.Inbound && c.Direction == geofence.Inbound && c.PortZoneID == g.d.PortZoneID {
			g.passed = true
		}
	}
	zs, err := e.cfg.Engine.Containing(ctx, p.Lat, p.Lon)
	if err != nil {
		return err
	}
	inPort := false
	for _, z := range zs {
		if g.d != nil && z.ID == g.d.PortZoneID {
			inPort = true
			g.reached = g.reached || g.d.Direction == tracker.Outbound
		}
	}
	if err := e.replayZones(ctx, vs, g, zs, p, out); err != nil {
		return err
	}
	e.replayStop(ctx, vs, g, p, out)
	if g.onDecl(p.Time) {
		e.replayDetour(ctx, vs, g, inPort, p, out)
	}
	step := p.Time.Sub(g.last.Time)
	g.last = p
	if g.to.Time.Sub(p.Time) <= step*3/2 {
		// The upload reached the end of the silence (one report interval short of it at most):
		// nothing more is due.
		return e.settle(ctx, vs, g, out)
	}
	return nil
}

// edgeSamples bounds the points tested along the straight segment across a gap.
const edgeSamples = 64

// edgeZones finds the zones the live rules saw across the gap: those containing the fixes
// around it, and those the straight segment between them passes through (sampled every 50 m
// or at edgeSamples points), for which the live geofence reported an enter and an exit.
func (e *Engine) edgeZones(ctx context.Context, g *gapRec) error {
	g.edge = map[string]bool{}
	n := int(min(edgeSamples, geofence.GreatCircleM(g.from.Lat, g.from.Lon, g.to.Lat, g.to.Lon)/50))
	for i := 0; i <= n+1; i++ {
		k := float64(i) / float64(n+1)
		zs, err := e.cfg.Engine.Containing(ctx, g.from.Lat+k*(g.to.Lat-g.from.Lat), g.from.Lon+k*(g.to.Lon-g.from.Lon))
		if err != nil {
			return err
		}
		for _, z := range zs {
			g.edge[z.ID] = true
		}
	}
	return nil
}

// replayZones follows the zones the replayed fixes are in, with the live hysteresis for exits.
func (e *Engine) replayZones(ctx context.Context, vs *vstate, g *gapRec, zs []geofence.Zone, p point, out *tracker.Outcome) error {
	for _, z := range zs {
		if z.Kind == geofence.KindCorridor || g.edge[z.ID] {
			continue
		}
		i := slices.IndexFunc(g.zones, func(v *zoneVisit) bool { return v.id == z.ID })
		if i >= 0 {
			g.zones[i].out = false
			continue
		}
		g.zones = append(g.zones, &zoneVisit{id: z.ID, kind: z.Kind})
		out.Events = append(out.Events, zoneEvent(vs.id, geofence.ZoneEnter, z.ID, z.Kind, p))
	}
	keep := g.zones[:0]
	for _, v := range g.zones {
		if slices.ContainsFunc(zs, func(z geofence.Zone) bool { return z.ID == v.id }) {
			keep = append(keep, v)
			continue
		}
		if !v.out {
			v.out, v.outSince = true, p
		}
		h := geofence.DefaultHysteresis(v.kind)
		dist, err := e.cfg.Engine.DistanceM(ctx, v.id, p.Lat, p.Lon)
		if err != nil {
			continue // the zone was deleted
		}
		if dist >= h.ExitM || h.Dwell > 0 && p.Time.Sub(v.outSince.Time) >= h.Dwell {
			out.Events = append(out.Events, zoneEvent(vs.id, geofence.ZoneExit, v.id, v.kind, v.outSince))
			continue
		}
		keep = append(keep, v)
	}
	clear(g.zones[len(keep):])
	g.zones = keep
	return nil
}

func zoneEvent(vehicleID string, typ geofence.EventType, zoneID string, kind geofence.Kind, p point) tracker.Event {
	return tracker.ZoneEvent(vehicleID, geofence.Event{Type: typ, ZoneID: zoneID, Kind: kind, Time: p.Time, Lat: p.Lat, Lon: p.Lon}, 0, true)
}

// replayStop follows stops through the replayed fixes. Its alert is decided when the stop ends,
// so that it is raised once, complete, and not where the live rules own the stop.
func (e *Engine) replayStop(ctx context.Context, vs *vstate, g *gapRec, p point, out *tracker.Outcome) {
	s := &g.stop
	step, ended, started := e.stepStop(ctx, s, p)
	switch step {
	case stopOutlier:
		return
	case stopLeft:
		s.stopLate = true
		e.stopEnded(vs, g, &ended, out)
		g.cur = nil
		return
	}
	if started && !g.liveAnchor.Equal(s.anchor.Time) {
		// (A stop the live rules continue after the silence they reported stopped already.)
		out.Events = append(out.Events, vs.stopStart(s, true))
	}
	if s.stopped && !s.stopAllowed {
		if g.cur == nil {
			g.cur = &stopRec{late: true}
			vs.past = append(vs.past, g.cur)
		}
		g.cur.at, g.cur.until = s.anchor, later(g.cur.until, s.anchorLast)
	}
}

// stopEnded settles a replayed stop that ended at its anchorLast.
func (e *Engine) stopEnded(vs *vstate, g *gapRec, s *stopState, out *tracker.Outcome) {
	if !s.stopped {
		return
	}
	if g.liveAnchor.Equal(s.anchor.Time) {
		return // the live rules think the stop goes on: theirs to end
	}
	seeded := !s.anchor.Time.After(g.from.Time)
	if !seeded || !g.seedStopped {
		// A stop the live rules never reported; one they had reported they ended at the gap's start.
		out.Events = append(out.Events, vs.stopEnd(s, true))
	}
	if s.stopKey != "" || s.stopAllowed || s.anchorLast.Sub(s.anchor.Time) <= e.cfg.UnauthorizedStop || !g.onDecl(s.anchorLast) {
		return
	}
	key := stopKey(vs.id, s.anchor.Time)
	if key == g.toStopKey {
		return
	}
	e.m.alerts.WithLabelValues(tracker.AlertUnauthorizedStop).Inc()
	a := vs.stopAlert(s, key, s.anchorLast, false, g.fixesIn(s.anchor.Time, s.anchorLast))
	a.Late = true
	a.DeclarationID = strp(g.d.ID)
	out.Alerts = append(out.Alerts, a)
}

// replayDetour follows stretches off the corridor through the replayed fixes; like a stop, a
// stretch's alert is decided when it ends.
func (e *Engine) replayDetour(ctx context.Context, vs *vstate, g *gapRec, inPort bool, p point, out *tracker.Outcome) {
	by, ok := e.corridorOff(ctx, g.d, g.passed, g.reached, inPort, p.Lat, p.Lon)
	if !ok {
		return
	}
	s := &g.det
	if by <= 0 {
		if !s.offSince.IsZero() {
			e.detourEnded(vs, g, out)
		}
		g.det = detourState{}
		return
	}
	if s.offSince.IsZero() {
		s.offSince, s.offFrom = p.Time, p
	}
	s.offLast = p.Time
	s.offMaxM = max(s.offMaxM, by)
	s.offPoints++
}

// detourEnded settles a replayed stretch off the corridor that ended at its offLast.
func (e *Engine) detourEnded(vs *vstate, g *gapRec, out *tracker.Outcome) {
	s := &g.det
	if !s.offSince.After(g.from.Time) && (s.detourKey != "" || g.liveOff.Equal(s.offSince)) {
		return // begun before the silence and raised, or still followed, by the live rules
	}
	if s.offLast.Sub(s.offSince) <= g.d.grace {
		return
	}
	s.detourKey = fmt.Sprintf("detour:%s:late:%d", g.d.ID, s.offSince.Unix())
	s.detourLate = true
	e.m.alerts.WithLabelValues(tracker.AlertDetour).Inc()
	out.Alerts = append(out.Alerts, vs.detourAlert(s, g.d, point{Time: s.offLast}, false, g.fixesIn(s.offSince, s.offLast)))
}

// settle ends a gap's replay: what was still going on at its last replayed fix either ended
// before the fix after the silence or goes on into the live track, where the live rules take
// it over. The gap's signal_lost gains the distance driven while dark.
func (e *Engine) settle(ctx context.Context, vs *vstate, g *gapRec, out *tracker.Outcome) error {
	if g.done {
		return nil
	}
	g.done = true
	if g.n == 0 {
		return nil
	}
	for _, v := range g.zones {
		at := g.to
		if v.out {
			at = v.outSince
		}
		out.Events = append(out.Events, zoneEvent(vs.id, geofence.ZoneExit, v.id, v.kind, at))
	}
	g.zones = nil

	if s := &g.stop; s.anchorN > 0 && !g.liveAnchor.Equal(s.anchor.Time) {
		near := s.fromAnchorM(g.to.Lat, g.to.Lon) <= e.cfg.StopRadiusM
		switch {
		case near && vs.anchor.Time.Equal(g.to.Time):
			vs.adoptStop(g)
		case near:
			// Stopped on past the silence, in a stop the live rules have ended since.
			if s.stopped && g.toStopKey == "" {
				s.anchorLast = g.to.Time
				e.stopEnded(vs, g, s, out)
			}
		default:
			e.stopEnded(vs, g, s, out)
		}
	}

	if s := &g.det; !s.offSince.IsZero() && g.d != nil {
		switch {
		case !g.liveOff.Equal(g.to.Time):
			e.detourEnded(vs, g, out) // back on the corridor by the end of the silence
		case vs.det != nil && vs.det.offSince.Equal(g.to.Time):
			// Off the corridor on into the live track: one stretch, begun while dark.
			v := vs.det
			v.offSince, v.offFrom = s.offSince, s.offFrom
			v.offMaxM = max(v.offMaxM, s.offMaxM)
			v.offPoints += s.offPoints
			v.detourLate = v.detourLate || v.detourKey == ""
		case g.toDetourKey == "":
			s.offLast = g.to.Time
			e.detourEnded(vs, g, out)
		}
	}

	if g.hasLost {
		open, err := e.lostOpen(ctx, g.lost)
		if err != nil {
			return err
		}
		if open {
			a := g.lost
			driven := g.pathM + geofence.GreatCircleM(g.last.Lat, g.last.Lon, g.to.Lat, g.to.Lon)
			a.Message += fmt.Sprintf("; %.0f m driven along %d blind-area fixes", driven, g.n)
			ev := maps.Clone(g.lostEv)
			ev["driven_m"] = driven
			ev["late_fixes"] = g.fixes
			a.Evidence = evidence(ev)
			out.Alerts = append(out.Alerts, a)
		}
	}
	g.fixes, g.edge = nil, nil
	return nil
}

// adoptStop hands a replayed stop that went on past the silence to the live rules, which had
// begun it anew at the fix after the silence.
func (vs *vstate) adoptStop(g *gapRec) {
	s := &g.stop
	vs.anchor, vs.anchorKx, vs.anchorKy, vs.anchorN = s.anchor, s.anchorKx, s.anchorKy, s.anchorN
	if s.stopped {
		vs.stopped, vs.stopAllowed = true, s.stopAllowed
	}
	vs.stopLate = vs.stopLate || vs.stopKey == ""
	if g.cur != nil {
		// One stop, one record for meetings.
		vs.past = slices.DeleteFunc(vs.past, func(r *stopRec) bool { return r == g.cur })
	}
	if vs.stopped && !vs.stopAllowed {
		if vs.cur == nil {
			vs.cur = &stopRec{}
		}
		vs.cur.at, vs.cur.until, vs.cur.late = vs.anchor, later(vs.anchorLast, vs.cur.until), true
	}
}

// lostOpen reports whether the signal_lost alert may still be updated: an update of a resolved
// alert would open a new one.
func (e *Engine) lostOpen(ctx context.Context, a tracker.Alert) (bool, error) {
	as, err := e.cfg.Store.Alerts(ctx, tracker.AlertQuery{VehicleID: a.VehicleID, Type: a.Type, From: a.Time, To: a.Time.Add(time.Second)})
	if err != nil {
		return false, fmt.Errorf("rules: signal_lost of a backfilled gap: %w", err)
	}
	open := true
	for _, x := range as {
		if x.DedupKey == a.DedupKey {
			if x.Status != tracker.StatusResolved {
				return true, nil
			}
			open = false
		}
	}
	return open, nil
}

// settleLate settles the replays no fix has continued for lateQuiet.
func (e *Engine) settleLate(ctx context.Context, vs *vstate, out *tracker.Outcome) error {
	var now time.Time
	for _, g := range vs.rare().gaps {
		if g.n == 0 || g.done {
			continue
		}
		if now.IsZero() {
			now = e.cfg.Now()
		}
		if now.Sub(g.fedAt) >= lateQuiet {
			if err := e.settle(ctx, vs, g, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
