package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// decl is an active declaration with what the rules derived from its zones.
type decl struct {
	tracker.Declaration
	widthM float64
	grace  time.Duration
	// passedPort (inbound) and reachedPort (outbound) bound where the corridor holds.
	passedPort  bool
	reachedPort bool
	crossedIn   bool // into China, at any port, while the inbound declaration was active
}

// hist is one recent fix, kept to place late fixes between their neighbours. Every vehicle
// keeps History of them and more, so each is 16 bytes: its device time in Unix nanoseconds
// (fix times are UTC) and its position in 1e-7 degrees (about 1 cm: exact for every position
// a terminal reports, JT/T 808 and the others carry 1e-6). The rare crossing note on the
// segment ending at a fix is kept beside the history (followed.notes), not in every entry.
//
// Whether a silence came before the fix (gapEdge and more since the fix before it, which trim
// may have dropped since: its neighbour in the history then is no measure) rides in the low
// bit of latg, the latitude shifted left one: ±90° in 1e-7 is ±9e8, so twice it fits an
// int32, and a field of its own would take the entry to 24 bytes.
type hist struct {
	t         int64
	latg, lon int32
}

// degE7 is a degree in the history's fixed point: ±180° fits an int32.
const degE7 = 1e7

// histOf is a fix for the history; gap says a silence came before it.
func histOf(t time.Time, lat, lon float64, gap bool) hist {
	h := hist{t: t.UnixNano(), latg: int32(math.Round(lat*degE7)) << 1, lon: int32(math.Round(lon * degE7))}
	h.setGap(gap)
	return h
}

// gap reports whether a silence of more than gapEdge came before the fix.
func (h *hist) gap() bool { return h.latg&1 != 0 }

func (h *hist) setGap(gap bool) {
	h.latg &^= 1
	if gap {
		h.latg |= 1
	}
}

// at is the fix's device time.
func (h *hist) at() time.Time { return time.Unix(0, h.t).UTC() }

// position is where the fix was, in degrees.
func (h *hist) position() (lat, lon float64) {
	return float64(h.latg>>1) / degE7, float64(h.lon) / degE7
}

// point is the fix as a point of the track.
func (h *hist) point() point {
	lat, lon := h.position()
	return point{Time: h.at(), Lat: lat, Lon: lon}
}

// histAt orders the history by device time, for binary searches.
func histAt(x hist, t time.Time) int { return cmp.Compare(x.t, t.UnixNano()) }

// histNote is the crossing recorded on the segment of the history ending at the fix of time t.
type histNote struct {
	t int64
	n crossNote
}

// note is the crossing recorded on the segment ending at the history's fix of time t (the
// zero note for none).
func (f *followed) note(t int64) crossNote {
	for i := range f.notes {
		if f.notes[i].t == t {
			return f.notes[i].n
		}
	}
	return crossNote{}
}

// setNote records n on the segment ending at the history's fix of time t.
func (f *followed) setNote(t int64, n crossNote) {
	i := slices.IndexFunc(f.notes, func(x histNote) bool { return x.t == t })
	switch {
	case n == (crossNote{}) && i >= 0:
		f.notes = slices.Delete(f.notes, i, i+1)
	case n == (crossNote{}):
	case i >= 0:
		f.notes[i].n = n
	default:
		f.notes = append(f.notes, histNote{t, n})
	}
}

// pruneNotes drops the notes of fixes no longer in the history.
func (f *followed) pruneNotes() {
	f.notes = slices.DeleteFunc(f.notes, func(x histNote) bool {
		_, found := slices.BinarySearchFunc(f.history, x.t, func(h hist, t int64) int { return cmp.Compare(h.t, t) })
		return !found
	})
	if len(f.notes) == 0 {
		f.notes = nil
	}
}

// crossNote is a recorded border crossing: its port ("" for none) and the alert raised for it.
type crossNote struct {
	has      bool
	port     string
	key, typ string
}

type timedNote struct {
	t time.Time
	n crossNote
}

// stopState follows a stop: the live one of a vehicle, or one replayed from a blind-area upload.
type stopState struct {
	anchor     point
	anchorKx   float64 // metres per degree of longitude at the anchor
	anchorKy   float64 // and of latitude
	anchorLast time.Time
	stopKey    string // unauthorized_stop alert raised for this stop
	// The small fields share a word: every vehicle holds a stopState, and 8 bytes more put a
	// vehicle's whole state (vstate, 568 bytes and the allocator's 8-byte header) in the next
	// size class. anchorN stops at anchorFixes, outliers at 1.
	anchorN     int16 // fixes averaged into the anchor
	outliers    int16 // consecutive fixes beyond the radius
	stopped     bool
	stopAllowed bool
	stopLate    bool // the stop's beginning is known from late fixes: its alert is late
}

// detourState follows a stretch off the declared corridor.
type detourState struct {
	offSince   time.Time
	offFrom    point
	offLast    time.Time // the latest fix off the corridor
	offMaxM    float64
	offPoints  int
	detourKey  string
	detourLast time.Time
	detourLate bool // the stretch's beginning is known from late fixes: its alert is late
}

// vstate is one vehicle: the pipeline's state and the rules'. Its lock (VehicleState's) is
// held by the pipeline while it evaluates a fix, and taken by the timers and the handlers of
// gate reads and registry changes.
type vstate struct {
	tracker.VehicleState
	e                 *Engine
	id                string
	kind, plate, card string
	decls             []*decl
	// stay is a resident car's deadline, nil for other vehicles and a car without one.
	stay *residentStay

	followed
}

// residentStay is a resident car's deadline to leave China: its inbound declaration's end,
// which outlives it, or ResidentMaxStay after it entered without one. Few vehicles have one,
// so it is held apart: inline, its 40 bytes put every vehicle in a larger size class.
type residentStay struct {
	deadline time.Time
	decl     string // the inbound declaration whose end it is, "" for none
}

// enteredAt starts a resident car's stay at t, unless a declaration set its deadline.
func (vs *vstate) enteredAt(t time.Time, maxStay time.Duration) {
	switch {
	case vs.stay == nil:
		vs.stay = &residentStay{deadline: t.Add(maxStay)}
	case vs.stay.deadline.IsZero():
		vs.stay.deadline = t.Add(maxStay)
	}
}

// followed is what the rules learned from a vehicle's fixes, timers and gate reads: Forget
// drops it when another process takes the vehicle over, and replay rebuilds it.
type followed struct {
	hasLast bool
	// resident cars: in China since entered, until deadline
	entered bool
	// histEdges is how many fixes at the start of history are gap edges kept by trim.
	histEdges int32
	// The small counters share a word: every vehicle holds them.
	controlZones int32 // control zones the vehicle is in
	detourN      int32
	last         point     // newest valid fix the rules followed (the pipeline's state counts others too)
	lastRecv     time.Time // when the rules saw the newest fix, on the Now clock the timer judges by
	history      []hist
	notes        []histNote // the crossings noted on the history's segments, few

	ports []string // port zones the vehicle is in

	stopState
	// det follows a stretch off the declared corridor, nil while there is none: most vehicles
	// never leave one, and it is one of the larger parts of a vehicle.
	det *detourState

	// Stops outside allowed zones, for meetings: the current one and those that ended lately,
	// so that a meeting is found even when no timer check fell while both vehicles stood.
	cur  *stopRec
	past []*stopRec

	// occ is what only some vehicles ever need, nil until one does: read it through rare,
	// change it through rareMut.
	occ *occasional
}

// occasional is the part of what the rules follow of a vehicle that most vehicles never use.
// Behind one pointer it costs those 8 bytes instead of its 256: every vehicle holds a followed.
type occasional struct {
	// gaps are the recent silences a blind-area upload may fill, the longest kept (see late.go).
	gaps []*gapRec

	// signal loss raised by the timer, closed by the next fix
	lostKey string

	// resident cars: the overstay raised, until the car leaves China
	overKey string

	outbox []tracker.Alert // alert updates made outside a rule's own output (declaration closed)

	gates []*pendingGate // gate reads waiting for the fixes of their time

	seals map[string]*sealState // the e-seals on the cargo, by device (seal.go)

	driver driverState // the driver's card in the terminal's reader (driver.go)

	sos sosState // the newest SOS incident (sos.go)

	weighs map[string]*weighTrip // weighbridge readings by declaration (weighing.go)

	emergencies []*emergencyWindow // emergency declarations' windows (emergency.go)
}

// noOccasional is what rare returns for a vehicle without any: all empty, never written.
var noOccasional occasional

// rare is the vehicle's occasional state for reading; it must not be changed through.
func (f *followed) rare() *occasional {
	if f.occ == nil {
		return &noOccasional
	}
	return f.occ
}

// rareMut is the vehicle's occasional state for changing, made on first use.
func (f *followed) rareMut() *occasional {
	if f.occ == nil {
		f.occ = &occasional{}
	}
	return f.occ
}

// active is the newest declaration active at t: an older one may linger until it expires (a
// truck that entered at the wrong port never reaches the declared yard).
func (vs *vstate) active(t time.Time) *decl {
	for i := len(vs.decls) - 1; i >= 0; i-- {
		if d := vs.decls[i]; d.ActiveAt(t) {
			return d
		}
	}
	return nil
}

// activeDir is the newest declaration of the direction active at t.
func (vs *vstate) activeDir(t time.Time, dir string) *decl {
	for i := len(vs.decls) - 1; i >= 0; i-- {
		if d := vs.decls[i]; d.Direction == dir && d.ActiveAt(t) {
			return d
		}
	}
	return nil
}

// State implements tracker.VehicleEvaluator.
func (vs *vstate) State() *tracker.VehicleState { return &vs.VehicleState }

// Evaluate implements tracker.VehicleEvaluator.
func (vs *vstate) Evaluate(ctx context.Context, f *tracker.Fix, out *tracker.Outcome) error {
	from := len(out.Alerts)
	err := vs.e.evaluate(ctx, vs, f, out)
	out.Alerts = vs.suspend(out.Alerts, from, &out.Events)
	return err
}

// evaluate runs the rules over one fix of vs, locked by the pipeline.
func (e *Engine) evaluate(ctx context.Context, vs *vstate, f *tracker.Fix, out *tracker.Outcome) error {
	// Before the checks of the position: a seal reports an opening, and a device an SOS,
	// with or without a fix.
	if err := e.seal(ctx, vs, f, out); err != nil {
		return err
	}
	if r, ok := sosOfFix(f); ok {
		if a, raised := e.sos(ctx, vs, r); raised {
			out.Alerts = append(out.Alerts, a)
		}
	}
	if !f.Valid || f.HasFlag(tracker.FlagJump) {
		return nil
	}
	if f.Late && vs.hasLast && !f.Time.After(vs.last.Time) {
		return e.late(ctx, vs, f, out)
	}
	// A backfilled fix newer than all before it (a blind-area upload after the signal came
	// back) continues the track: it is evaluated in order, like a live one, or the segment
	// from the last live fix across the whole gap would be judged instead.
	if len(vs.rare().gaps) > 0 {
		if err := e.settleLate(ctx, vs, out); err != nil {
			return err
		}
	}
	evs, err := e.cfg.Engine.Update(ctx, geofence.Position{VehicleID: f.VehicleID, Time: f.Time, Lat: f.Lat, Lon: f.Lon})
	if err != nil {
		return err
	}
	var g *gapRec
	if vs.hasLast {
		if f.Time.Sub(vs.last.Time) > gapEdge {
			g = vs.openGap(pt(f), e.cfg.History)
		}
		if a, ev, ok := e.gap(vs, f, out); ok && g != nil {
			g.lost, g.lostEv, g.hasLost = a, ev, true
		}
	}
	var crossed []timedNote // this fix's live crossings, to note on the history
	for _, ge := range evs {
		if err := e.zoneEvent(ctx, vs, f, ge, out, &crossed); err != nil {
			return err
		}
	}
	e.stop(ctx, vs, f, out)
	if d := vs.active(f.Time); d != nil {
		if err := e.detour(ctx, vs, d, f, out); err != nil {
			return err
		}
	}
	if g != nil {
		// What the live rules made of the fix after the silence, for the replay to join.
		g.liveAnchor, g.liveOff = vs.anchor.Time, vs.offCorridor().offSince
	}
	if o := vs.rare(); len(o.outbox) > 0 {
		out.Alerts = append(out.Alerts, o.outbox...)
		o.outbox = o.outbox[:0]
	}
	// Not f.ReceivedAt: a gateway stamps it with its own clock, which need not be Now (the demo
	// runs the server on a simulated one).
	vs.last, vs.hasLast, vs.lastRecv = pt(f), true, e.cfg.Now()
	vs.push(f.Time, f.Lat, f.Lon, e.cfg.History, crossed)
	out.Alerts = e.settleGates(ctx, vs, out.Alerts)
	return nil
}

// gapEdge: fixes this far from a neighbour border a gap a backfill may fill later.
const gapEdge = 2 * time.Minute

// trim drops the fixes before the newest keep, except the fixes at the edges of silences: a
// blind-area upload lands there, hours later maybe. It returns how many edges it kept. A fix's
// silence is the flag it was given when placed, not the distance to its neighbour here: once
// fixes are dropped, the edge kept before them and the fix after them lie minutes apart, and
// measuring that kept a false edge every gapEdge of driving, until they pushed the silence's
// own edges out. A fix whose silence followed it keeps the fix after it, flagged, so that fix
// is its neighbour here.
//
// Beyond maxEdges edges the shortest silences are forgotten first, not the oldest: a terminal
// going dark for a little more than gapEdge, again and again, would push out the long silence
// before them (the one hiding a trip across the border) ahead of its upload.
func trim(h []hist, keep, maxEdges int) ([]hist, int) {
	old := len(h) - keep
	edge := func(i int) bool { return h[i].gap() || i+1 < len(h) && h[i+1].gap() }
	for {
		n := 0
		for i := range old {
			if edge(i) {
				n++
			}
		}
		if n <= maxEdges {
			break
		}
		forgetShortestSilence(h[:min(old+1, len(h))])
	}
	out := h[:0]
	for i := range h[:old] {
		if edge(i) {
			out = append(out, h[i])
		}
	}
	edges := len(out)
	return append(out, h[old:]...), edges
}

// forgetShortestSilence clears the flag of the shortest silence in h, the oldest of equal
// ones; a silence before the oldest fix, whose length is not known, first.
func forgetShortestSilence(h []hist) {
	best, bestLen := -1, int64(math.MaxInt64)
	for j := range h {
		if !h[j].gap() {
			continue
		}
		var l int64
		if j > 0 {
			l = h[j].t - h[j-1].t
		}
		if l < bestLen {
			best, bestLen = j, l
		}
	}
	h[best].setGap(false)
}

// fit makes room in the history for one more fix, live or late: once it holds n fixes besides
// the gap edges (at most n/2, see trim), the oldest of them goes. Its array is sized by hand
// to exactly that: append would double it, and every vehicle holds one (n = 32 is 512 bytes,
// a size class of its own; an eighth more to trim only every n/8 fixes, as it was, took the
// next class, 576). What the exact size costs is a copy of n-1 entries per fix (496 bytes); an
// array outgrown by edges is given back once they go.
func (vs *vstate) fit(n int) {
	if len(vs.history) >= n+int(vs.histEdges) {
		var edges int
		vs.history, edges = trim(vs.history, n-1, n/2)
		vs.histEdges = int32(edges)
		vs.pruneNotes()
	}
	if limit := n + int(vs.histEdges); len(vs.history) == cap(vs.history) || cap(vs.history) > limit {
		c := max(min(2*cap(vs.history), limit), min(4, limit), len(vs.history)+1)
		vs.history = append(make([]hist, 0, c), vs.history...)
	}
}

// push appends the fix of t to the history, flagged if a silence came before it, and notes
// this fix's crossings on the segment each happened in (a crossing confirmed by hysteresis may
// lie a few fixes back).
func (vs *vstate) push(t time.Time, lat, lon float64, n int, crossed []timedNote) {
	vs.fit(n)
	h := histOf(t, lat, lon, false)
	if k := len(vs.history); k > 0 {
		h.setGap(h.t-vs.history[k-1].t > int64(gapEdge))
	}
	vs.history = append(vs.history, h)
	for _, c := range crossed {
		j, _ := slices.BinarySearchFunc(vs.history, c.t, histAt)
		if j < len(vs.history) {
			vs.setNote(vs.history[j].t, c.n)
		}
	}
}

// gap closes a signal_lost alert, or raises a closed one for a gap the timer did not see, and
// returns it with its evidence.
func (e *Engine) gap(vs *vstate, f *tracker.Fix, out *tracker.Outcome) (tracker.Alert, map[string]any, bool) {
	dark := f.Time.Sub(vs.last.Time)
	if f.Late {
		// A buffered fix: the terminal had no signal from its last live fix until now, however
		// close together the buffer's fixes lie.
		dark = max(dark, e.cfg.Now().Sub(vs.lastRecv))
	}
	if vs.rare().lostKey == "" && (dark <= e.cfg.SignalLost || !vs.watched(vs.last.Time) && !vs.watched(f.Time)) {
		return tracker.Alert{}, nil, false
	}
	key := vs.rare().lostKey
	if key == "" {
		key = fmt.Sprintf("signal_lost:%s:%d", vs.id, vs.last.Time.Unix())
		e.m.alerts.WithLabelValues(tracker.AlertSignalLost).Inc()
	}
	if vs.occ != nil {
		vs.occ.lostKey = ""
	}
	distM := geofence.GreatCircleM(vs.last.Lat, vs.last.Lon, f.Lat, f.Lon)
	a := vs.alert(tracker.AlertSignalLost, tracker.SeverityWarning, key, vs.last.Time, vs.last.Lat, vs.last.Lon)
	a.UpdatedAt = f.Time
	a.Message = fmt.Sprintf("no fix for %s; %.0f m covered while dark", dark.Round(time.Second), distM)
	ev := map[string]any{"last_fix": vs.last, "next_fix": pt(f), "duration_s": dark.Seconds(), "distance_m": distM}
	a.Evidence = evidence(ev)
	out.Alerts = append(out.Alerts, a)
	return a, ev, true
}

// watched: signal loss matters on a declaration or inside a control zone. A gap is watched
// when it begins or ends so: a terminal may go dark just as its declaration starts.
func (vs *vstate) watched(t time.Time) bool {
	return vs.controlZones > 0 || vs.active(t) != nil
}

func (vs *vstate) alert(typ, sev, key string, t time.Time, lat, lon float64) tracker.Alert {
	a := tracker.Alert{Type: typ, Severity: sev, Status: tracker.StatusOpen, VehicleID: vs.id, Time: t.UTC(), UpdatedAt: t.UTC(),
		Lat: lat, Lon: lon, DedupKey: key, Active: false}
	if d := vs.active(t); d != nil {
		a.DeclarationID = strp(d.ID)
	}
	return a
}

// zoneEvent records one geofence event, applies it to the vehicle's state and raises crossing
// alerts; a border crossing is added to crossed, for push to note on the history.
func (e *Engine) zoneEvent(ctx context.Context, vs *vstate, f *tracker.Fix, ge geofence.Event, out *tracker.Outcome, crossed *[]timedNote) error {
	in, outb := vs.activeDir(f.Time, tracker.Inbound), vs.activeDir(f.Time, tracker.Outbound)
	// A crossing is judged against the declaration of its own direction only.
	d := in
	if ge.Direction == geofence.Outbound {
		d = outb
	}
	var gap *crossGap
	if ge.Type == geofence.BorderCross {
		from, to := vs.around(ge.Time, pt(f))
		gap = e.placeCrossing(d, &ge, from, to)
	}
	out.Events = append(out.Events, crossEvent(f.VehicleID, ge, f.Seq, f.Late, gap))
	switch ge.Type {
	case geofence.ZoneEnter:
		switch ge.Kind {
		case geofence.KindControlZone:
			vs.controlZones++
		case geofence.KindPort:
			vs.ports = append(vs.ports, ge.ZoneID)
		}
		if outb != nil && ge.ZoneID == outb.PortZoneID {
			outb.reachedPort = true
		}
		if in != nil && ge.ZoneID == in.YardZoneID {
			vs.entered = true
			vs.arrivedInYard(in, ge.Time, ge.Lat, ge.Lon)
			e.complete(ctx, vs, in, arrivedReason+ge.ZoneID, ge.Time)
		}
	case geofence.ZoneExit:
		switch ge.Kind {
		case geofence.KindControlZone:
			vs.controlZones = max(0, vs.controlZones-1)
		case geofence.KindPort:
			vs.ports = slices.DeleteFunc(vs.ports, func(id string) bool { return id == ge.ZoneID })
		}
	case geofence.BorderCross:
		key, typ := e.crossing(vs, d, ge, f.Late, "", gap, out)
		*crossed = append(*crossed, timedNote{ge.Time, crossNote{has: true, port: ge.PortZoneID, key: key, typ: typ}})
		if ge.Direction == geofence.Inbound {
			vs.entered = true
			if vs.kind == tracker.KindResidentCar {
				vs.enteredAt(ge.Time, e.cfg.ResidentMaxStay)
			}
			if in != nil {
				in.crossedIn = true
				in.passedPort = in.passedPort || ge.PortZoneID == in.PortZoneID
			}
		} else {
			vs.entered, vs.stay = false, nil
			if vs.occ != nil {
				vs.occ.overKey = ""
			}
			if outb != nil {
				e.complete(ctx, vs, outb, "exited at "+ge.PortZoneID, ge.Time)
			}
			if in != nil && in.crossedIn {
				// Back out of China: the inbound trip is over (a resident car's exit write-off,
				// or a truck that entered elsewhere than declared and never reached the yard).
				e.complete(ctx, vs, in, "exited again at "+ge.PortZoneID, ge.Time)
			}
		}
	}
	return nil
}

// crossEvent is the event of a geofence event; a crossing hidden in a gap says so.
func crossEvent(vehicleID string, ge geofence.Event, fixSeq uint64, late bool, gap *crossGap) tracker.Event {
	ev := tracker.ZoneEvent(vehicleID, ge, fixSeq, late)
	if gap != nil {
		ev.Attrs["port_unknown"] = true
		ev.Attrs["gap_s"] = gap.gap.Seconds()
	}
	return ev
}

// crossing raises the alerts of a border crossing: outside every port, or at a port other
// than the declared one, or, when gap is set, somewhere unknown. key, when set, is the alert a
// late fix refines.
func (e *Engine) crossing(vs *vstate, d *decl, ge geofence.Event, late bool, key string, gap *crossGap, out *tracker.Outcome) (string, string) {
	var typ, msg string
	switch {
	case gap != nil:
		typ, msg = tracker.AlertBorderCrossingUnverified, unverifiedMessage(ge.Direction, gap)
	case ge.PortZoneID == "":
		typ, msg = tracker.AlertBorderCrossingOutsidePort, "border crossed outside every port ("+ge.Direction+")"
	case d != nil && d.PortZoneID != "" && ge.PortZoneID != d.PortZoneID:
		typ, msg = tracker.AlertCrossingMismatch, fmt.Sprintf("border crossed at %s, declared %s", ge.PortZoneID, d.PortZoneID)
	default:
		return "", ""
	}
	if key == "" {
		key = fmt.Sprintf("%s:%s:%d", typ, vs.id, ge.Time.Unix())
		e.m.alerts.WithLabelValues(typ).Inc()
	}
	a := vs.alert(typ, crossingSeverity(typ), key, ge.Time, ge.Lat, ge.Lon)
	a.Late = late
	a.Message = msg
	a.ZoneID = strp(ge.PortZoneID)
	if a.ZoneID == nil {
		a.ZoneID = strp(ge.ZoneID)
	}
	ev := map[string]any{"crossing": point{ge.Time, ge.Lat, ge.Lon}, "border_zone_id": ge.ZoneID, "port_zone_id": nilIfEmpty(ge.PortZoneID),
		"direction": ge.Direction, "late": late}
	if d != nil {
		ev["declared_port_zone_id"] = d.PortZoneID
	}
	if gap != nil {
		ev["gap_s"], ev["last_fix"], ev["next_fix"] = gap.gap.Seconds(), gap.from, gap.to
		ev["nearest_port_zone_id"], ev["via_port_s"] = nilIfEmpty(gap.port), gap.viaPort.Seconds()
	}
	a.Evidence = evidence(ev)
	out.Alerts = append(out.Alerts, a)
	return key, typ
}

// crossingSeverity: a crossing seen outside a port or at the wrong one is critical; one whose
// place is unknown is a warning.
func crossingSeverity(typ string) string {
	if typ == tracker.AlertBorderCrossingUnverified {
		return tracker.SeverityWarning
	}
	return tracker.SeverityCritical
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// complete closes a fulfilled declaration. A store failure does not refuse the fix: the
// declaration stays active here and expires later at the latest.
func (e *Engine) complete(ctx context.Context, vs *vstate, d *decl, reason string, at time.Time) {
	if err := e.close(ctx, vs, d, tracker.DeclarationCompleted, reason, at); err != nil {
		e.log.Warn("rules: completing declaration failed", "declaration", d.ID, "err", err)
	}
}

// close ends a declaration in the store and forgets it.
func (e *Engine) close(ctx context.Context, vs *vstate, d *decl, status, reason string, at time.Time) error {
	_, err := e.cfg.Store.CloseDeclaration(ctx, d.ID, status, reason, at)
	switch {
	case errors.Is(err, tracker.ErrTransition):
		// Closed meanwhile (cancelled through the API): forget it as well.
	case err != nil:
		return fmt.Errorf("rules: close declaration %s: %w", d.ID, err)
	default:
		e.m.closed.WithLabelValues(status).Inc()
	}
	if d.Type == tracker.DeclarationEmergency {
		vs.endEmergency(d.ID, at)
	}
	if vs.det != nil && vs.det.detourKey != "" {
		// The trip is over: so is its detour.
		a := vs.detourAlert(vs.det, d, vs.det.offFrom, false, nil)
		a.UpdatedAt = at.UTC()
		a.Message += "; declaration " + status
		o := vs.rareMut()
		o.outbox = append(o.outbox, a)
		vs.det = nil
	}
	vs.decls = slices.DeleteFunc(vs.decls, func(x *decl) bool { return x == d })
	return nil
}

// stopStep is what one fix did to a stop tracker.
type stopStep int

const (
	stopOutlier stopStep = iota // one fix astray, held back: the next one decides
	stopLeft                    // beyond the radius: a new anchor at the fix
	stopStayed                  // within the radius
)

// stepStop advances a stop tracker by the fix at p. On stopLeft, ended is the tracker as it was
// before the new anchor; started reports that this fix made the vehicle stopped. Live fixes
// and replayed blind-area fixes go through it alike.
func (e *Engine) stepStop(ctx context.Context, s *stopState, p point) (step stopStep, ended stopState, started bool) {
	// No anchor yet: the first fix, or the first after a restart (Load knows the last position
	// but not the stop).
	far := s.anchorN == 0 || s.fromAnchorM(p.Lat, p.Lon) > e.cfg.StopRadiusM
	if far && s.anchorN >= 3 && s.outliers == 0 {
		// One fix astray is GPS noise more often than a departure: the next one decides.
		s.outliers++
		return stopOutlier, stopState{}, false
	}
	if far {
		ended = *s
		kx, ky := geofence.MetresPerDegree(p.Lat)
		*s = stopState{anchor: p, anchorLast: p.Time, anchorKx: kx, anchorKy: ky, anchorN: 1}
		return stopLeft, ended, false
	}
	s.outliers = 0
	if s.anchorN < anchorFixes {
		// The centre is the mean of the first fixes, not the first fix with its noise.
		s.anchorN++
		s.anchor.Lat += (p.Lat - s.anchor.Lat) / float64(s.anchorN)
		s.anchor.Lon += (p.Lon - s.anchor.Lon) / float64(s.anchorN)
	}
	s.anchorLast = p.Time
	if !s.stopped && p.Time.Sub(s.anchor.Time) >= e.cfg.StopMin {
		s.stopped = true
		s.stopAllowed = e.stopAllowed(ctx, s.anchor.Lat, s.anchor.Lon)
		started = true
	}
	return stopStayed, stopState{}, started
}

// stop tracks stops for every vehicle and raises unauthorized_stop for declared ones.
func (e *Engine) stop(ctx context.Context, vs *vstate, f *tracker.Fix, out *tracker.Outcome) {
	step, ended, started := e.stepStop(ctx, &vs.stopState, pt(f))
	switch step {
	case stopOutlier:
		return
	case stopLeft:
		if ended.stopped {
			out.Events = append(out.Events, vs.stopEnd(&ended, false))
			if ended.stopKey != "" {
				out.Alerts = append(out.Alerts, vs.stopAlert(&ended, ended.stopKey, ended.anchorLast, false, nil))
			}
		}
		if vs.cur != nil {
			vs.past = append(vs.past, vs.cur)
			vs.cur = nil
		}
		return
	}
	if started {
		out.Events = append(out.Events, vs.stopStart(&vs.stopState, false))
	}
	if vs.stopped && !vs.stopAllowed {
		if vs.cur == nil {
			vs.cur = &stopRec{late: vs.stopLate}
		}
		vs.cur.at, vs.cur.until = vs.anchor, vs.anchorLast
	}
	if vs.stopped && !vs.stopAllowed && vs.stopKey == "" && f.Time.Sub(vs.anchor.Time) > e.cfg.UnauthorizedStop && vs.active(f.Time) != nil {
		vs.stopKey = stopKey(vs.id, vs.anchor.Time)
		e.m.alerts.WithLabelValues(tracker.AlertUnauthorizedStop).Inc()
		out.Alerts = append(out.Alerts, vs.stopAlert(&vs.stopState, vs.stopKey, f.Time, true, nil))
		if g := vs.gapEndingAt(vs.anchor.Time); g != nil {
			g.toStopKey = vs.stopKey
		}
	}
}

func stopKey(vehicleID string, anchor time.Time) string {
	return fmt.Sprintf("unauthorized_stop:%s:%d", vehicleID, anchor.Unix())
}

func (vs *vstate) stopStart(s *stopState, late bool) tracker.Event {
	return tracker.Event{Type: tracker.EventStopStart, Time: s.anchor.Time, VehicleID: vs.id, Lat: s.anchor.Lat, Lon: s.anchor.Lon, Late: late,
		Attrs: map[string]any{"stop_allowed": s.stopAllowed}}
}

func (vs *vstate) stopEnd(s *stopState, late bool) tracker.Event {
	return tracker.Event{Type: tracker.EventStopEnd, Time: s.anchorLast, VehicleID: vs.id, Lat: s.anchor.Lat, Lon: s.anchor.Lon, Late: late,
		Attrs: map[string]any{"duration_s": s.anchorLast.Sub(s.anchor.Time).Seconds(), "stop_allowed": s.stopAllowed}}
}

// anchorFixes is how many fixes a stop's centre averages: enough to cancel noise, few enough
// that a vehicle crawling in a queue does not drag the centre along.
const anchorFixes = 12

// fromAnchorM is the distance from the stop's anchor, flat-earth: exact enough within a few
// hundred metres, and without the trigonometry of a great circle on every fix.
func (s *stopState) fromAnchorM(lat, lon float64) float64 {
	dx := (lon - s.anchor.Lon) * s.anchorKx
	dy := (lat - s.anchor.Lat) * s.anchorKy
	return math.Sqrt(dx*dx + dy*dy)
}

// stopAlert is the unauthorized_stop of the stop s until then; fixes, when set, are the
// blind-area fixes that show it.
func (vs *vstate) stopAlert(s *stopState, key string, until time.Time, active bool, fixes []time.Time) tracker.Alert {
	a := vs.alert(tracker.AlertUnauthorizedStop, tracker.SeverityWarning, key, s.anchor.Time, s.anchor.Lat, s.anchor.Lon)
	a.UpdatedAt = until.UTC()
	a.Active = active
	a.Late = s.stopLate
	dur := until.Sub(s.anchor.Time)
	a.Message = fmt.Sprintf("stopped %s outside any zone where stopping is allowed", dur.Round(time.Second))
	ev := map[string]any{"from": s.anchor, "until": until.UTC(), "duration_s": dur.Seconds()}
	if fixes != nil {
		ev["late_fixes"] = fixes
	}
	a.Evidence = evidence(ev)
	return a
}

// stopAllowed reports whether stopping at the point is allowed: abroad, or in a zone whose
// stop_allowed property says so, or by default in ports, yards and service areas.
func (e *Engine) stopAllowed(ctx context.Context, lat, lon float64) bool {
	if !e.border.domestic(lat, lon) {
		return true // beyond the border: queues at foreign mines are no customs matter
	}
	zs, err := e.cfg.Engine.Containing(ctx, lat, lon)
	if err != nil {
		return false
	}
	for _, z := range zs {
		if v, ok := z.Properties["stop_allowed"].(bool); ok {
			if v {
				return true
			}
			continue
		}
		switch z.Kind {
		case geofence.KindPort, geofence.KindYard, geofence.KindServiceArea:
			return true
		}
	}
	return false
}

// corridorOff is how far beyond its declared corridor the point lies; ok is false where the
// corridor does not hold: before an inbound vehicle has passed the port, after an outbound one
// has reached it, and inside the port (queues, inspection).
func (e *Engine) corridorOff(ctx context.Context, d *decl, passed, reached, inPort bool, lat, lon float64) (by float64, ok bool) {
	holds := d.widthM > 0 && (d.Direction == tracker.Inbound && passed || d.Direction == tracker.Outbound && !reached)
	if !holds || inPort {
		return 0, false
	}
	dist, err := e.cfg.Engine.DistanceM(ctx, d.CorridorZoneID, lat, lon)
	if err != nil {
		return 0, false // the corridor was deleted; nothing to compare with
	}
	return dist - d.widthM, true
}

// detour follows the vehicle against its declared corridor where the corridor holds.
func (e *Engine) detour(ctx context.Context, vs *vstate, d *decl, f *tracker.Fix, out *tracker.Outcome) error {
	by, ok := e.corridorOff(ctx, d, d.passedPort, d.reachedPort, slices.Contains(vs.ports, d.PortZoneID), f.Lat, f.Lon)
	if !ok {
		return nil
	}
	if by <= 0 {
		if vs.det != nil && vs.det.detourKey != "" {
			out.Alerts = append(out.Alerts, vs.detourAlert(vs.det, d, pt(f), false, nil))
		}
		vs.det = nil
		return nil
	}
	if vs.det == nil {
		vs.det = &detourState{}
	}
	s := vs.det
	if s.offSince.IsZero() {
		s.offSince, s.offFrom = f.Time, pt(f)
	}
	s.offLast = f.Time
	s.offMaxM = max(s.offMaxM, by)
	s.offPoints++
	switch {
	case s.detourKey == "" && f.Time.Sub(s.offSince) > d.grace:
		vs.detourN++
		s.detourKey = fmt.Sprintf("detour:%s:%d", d.ID, vs.detourN)
		e.m.alerts.WithLabelValues(tracker.AlertDetour).Inc()
		out.Alerts = append(out.Alerts, vs.detourAlert(s, d, pt(f), true, nil))
		s.detourLast = f.Time
		if g := vs.gapEndingAt(s.offSince); g != nil {
			g.toDetourKey = s.detourKey
		}
	case s.detourKey != "" && f.Time.Sub(s.detourLast) >= time.Minute:
		// Updated while it lasts, at most once a minute: a fix per alert write would load the store.
		out.Alerts = append(out.Alerts, vs.detourAlert(s, d, pt(f), true, nil))
		s.detourLast = f.Time
	}
	return nil
}

// offCorridor is the vehicle's stretch off the corridor, the zero one when there is none.
func (vs *vstate) offCorridor() detourState {
	if vs.det == nil {
		return detourState{}
	}
	return *vs.det
}

// detourAlert is the detour of the stretch s as of the fix f; fixes, when set, are the
// blind-area fixes that show it.
func (vs *vstate) detourAlert(s *detourState, d *decl, f point, active bool, fixes []time.Time) tracker.Alert {
	a := vs.alert(tracker.AlertDetour, tracker.SeverityWarning, s.detourKey, s.offSince, s.offFrom.Lat, s.offFrom.Lon)
	a.DeclarationID = strp(d.ID)
	a.ZoneID = strp(d.CorridorZoneID)
	a.UpdatedAt = f.Time.UTC()
	a.Active = active
	a.Late = s.detourLate
	a.Message = fmt.Sprintf("off corridor %s by up to %.0f m for %s", d.CorridorZoneID, s.offMaxM, f.Time.Sub(s.offSince).Round(time.Second))
	ev := map[string]any{"off_from": s.offFrom, "last": f, "back": !active, "max_off_m": s.offMaxM,
		"width_m": d.widthM, "fixes_off": s.offPoints, "corridor_zone_id": d.CorridorZoneID}
	if fixes != nil {
		ev["late_fixes"] = fixes
	}
	a.Evidence = evidence(ev)
	return a
}

// late places a backfilled fix between its neighbours, looks for border crossings the direct
// segment across the gap hid or misplaced, and replays the other rules over the gap (late.go).
// The segment prev→next was evaluated when next arrived; what it recorded (a border_cross
// event, maybe an alert) passes to whichever half of the split holds the crossing now, so that
// a buffer uploaded fix by fix refines one alert instead of raising one per fix, and a live
// alert the backfill disproves is closed.
func (e *Engine) late(ctx context.Context, vs *vstate, f *tracker.Fix, out *tracker.Outcome) error {
	h := vs.history
	i, found := slices.BinarySearchFunc(h, f.Time, histAt)
	if found {
		return nil
	}
	pos := func(x hist) geofence.Position {
		lat, lon := x.position()
		return geofence.Position{VehicleID: f.VehicleID, Time: x.at(), Lat: lat, Lon: lon}
	}
	me := histOf(f.Time, f.Lat, f.Lon, false)
	var known, nextKnown, meKnown crossNote
	if i < len(h) {
		known = vs.note(h[i].t)
		nextKnown = known
	}
	type half struct {
		from, to hist
		note     *crossNote
	}
	var halves []half
	if i > 0 {
		halves = append(halves, half{h[i-1], me, &meKnown})
	}
	if i < len(h) {
		nextKnown = crossNote{}
		halves = append(halves, half{me, h[i], &nextKnown})
	}
	var before []geofence.Event // the crossings on the segment from the previous fix
	for n, hf := range halves {
		cs, err := e.cfg.Engine.Crossings(ctx, pos(hf.from), pos(hf.to))
		if err != nil {
			return err
		}
		if n == 0 && i > 0 {
			before = cs
		}
		for _, c := range cs {
			prior := known
			known = crossNote{}
			d := vs.activeDir(c.Time, c.Direction)
			gap := e.placeCrossing(d, &c, hf.from.point(), hf.to.point())
			k, typ := e.crossing(vs, d, c, true, prior.key, gap, out)
			if k == "" && prior.key != "" {
				out.Alerts = append(out.Alerts, vs.disproved(prior, c))
			}
			if !prior.has || prior.port != c.PortZoneID {
				// A crossing nobody recorded, or recorded at the wrong place: record it for replay.
				out.Events = append(out.Events, crossEvent(f.VehicleID, c, f.Seq, true, gap))
			}
			*hf.note = crossNote{has: true, port: c.PortZoneID, key: k, typ: typ}
		}
	}
	if known.has && i < len(h) {
		nextKnown = known // not found again in either half: keep what was recorded
	}
	// Placed among the newest History fixes, then room made: the oldest may go, and with it
	// the next fix's segment if that was the oldest (its note goes with it).
	hasNext := i < len(h)
	var nextT int64
	if hasNext {
		nextT = h[i].t
	}
	vs.fit(e.cfg.History)
	i, _ = slices.BinarySearchFunc(vs.history, f.Time, histAt)
	vs.setNote(me.t, meKnown)
	vs.placeGap(i, &me)
	vs.history = slices.Insert(vs.history, i, me) // within the capacity fit made
	if hasNext && i+1 < len(vs.history) && vs.history[i+1].t == nextT {
		vs.setNote(nextT, nextKnown)
	}
	return e.replay(ctx, vs, f, before, out)
}

// placeGap flags me, a late fix going to index i of the history, and the fix it goes before,
// for the silences around it. Before a flagged fix its neighbour in the history is the fix
// that came before it; elsewhere fixes trim dropped may lie between them, and me followed one
// of those (or the neighbour) within gapEdge, as the next fix did: no silence. Before the
// oldest fix kept nothing is known, so a fix from the far past is no edge of its own either.
func (vs *vstate) placeGap(i int, me *hist) {
	h := vs.history
	if i > 0 {
		me.setGap((i == len(h) || h[i].gap()) && me.t-h[i-1].t > int64(gapEdge))
	}
	if i < len(h) {
		h[i].setGap(h[i].gap() && h[i].t-me.t > int64(gapEdge))
	}
}

// disproved closes a crossing alert that blind-area fixes show was a legitimate crossing.
func (vs *vstate) disproved(prior crossNote, c geofence.Event) tracker.Alert {
	a := vs.alert(prior.typ, crossingSeverity(prior.typ), prior.key, c.Time, c.Lat, c.Lon)
	a.Late = true
	a.Message = "blind-area fixes place the crossing at " + c.PortZoneID + ", where it was allowed"
	a.ZoneID = strp(c.PortZoneID)
	a.Evidence = evidence(map[string]any{"crossing": point{c.Time, c.Lat, c.Lon}, "port_zone_id": c.PortZoneID, "disproved_by_backfill": true})
	return a
}
