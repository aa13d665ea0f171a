package rules

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// E-seals: a customs seal on a truck's cargo reports its state with the truck's fixes (the
// tracker.AttrSeal* attributes). An opening — an unlock, a cut rope, an opened shell — is an
// event reported as one (a seal event) or a state that follows a locked one. Every opening is
// a seal_unlocked event on the vehicle; on a declaration, an opening outside the declared yard
// and port is also a critical seal_opened alert with the place and how it was opened.
//
// One opening is one incident until the seal reports locked again: what later fixes add (the
// lock event naming the card after the status that showed the seal open, a rope cut after the
// unlock) updates the incident's alert rather than raising another.
//
// A backfilled fix older than the newest seal report cannot be placed in the sequence of
// states: its seal event still counts (an alert marked late), its state alone does not.
//
// Each seal device is followed on its own (a truck may carry two containers), and only the
// gateways of seals set these attributes: those of OsmAnd fixes, whose clients may send any
// key, are not believed.

// sealState is what the rules know of a vehicle's e-seal.
type sealState struct {
	state string    // the newest reported state, "" unknown
	at    time.Time // the time of the fix that reported it
	// The opening not yet closed by a lock: its alert key ("" none), and the alert when one was
	// raised, for updates.
	key     string
	alerted bool
	alert   tracker.Alert
	ev      map[string]any
}

// sealReport is what fix f says of a seal; ok is false when it says nothing to be believed.
func sealReport(f *tracker.Fix) (state, event string, ok bool) {
	if f.Protocol == tracker.ProtocolOsmAnd {
		return "", "", false
	}
	state, _ = f.Attrs[tracker.AttrSealState].(string)
	event, _ = f.Attrs[tracker.AttrSealEvent].(string)
	return state, event, state != "" || event != ""
}

// sealOf is the state of the vehicle's seal device id.
func (vs *vstate) sealOf(id string) *sealState {
	s := vs.rare().seals[id]
	if s == nil {
		o := vs.rareMut()
		if o.seals == nil {
			o.seals = map[string]*sealState{}
		}
		s = &sealState{}
		o.seals[id] = s
	}
	return s
}

// seedSeal takes a seal's state from the vehicle's newest stored fix, after a restart: an
// opening reported first thing after it is still an opening.
func (vs *vstate) seedSeal(f *tracker.Fix) {
	state, event, ok := sealReport(f)
	if !ok {
		return
	}
	if tracker.SealOpen(event) {
		state = event
	}
	if state != "" {
		s := vs.sealOf(f.DeviceID)
		s.state, s.at = state, f.Time
	}
}

// seal follows the vehicle's e-seal through fix f.
func (e *Engine) seal(ctx context.Context, vs *vstate, f *tracker.Fix, out *tracker.Outcome) error {
	state, event, ok := sealReport(f)
	if !ok {
		return nil
	}
	s := vs.sealOf(f.DeviceID)
	inOrder := s.at.IsZero() || !f.Time.Before(s.at)
	opening := ""
	switch {
	case tracker.SealOpen(event):
		opening = event
	case inOrder && tracker.SealOpen(state) && s.state == tracker.SealLocked:
		opening = state
	}
	if inOrder {
		switch {
		case opening != "":
			s.state, s.at = opening, f.Time
		case state != "":
			s.state, s.at = state, f.Time
		}
		if s.state == tracker.SealLocked {
			s.key, s.alerted, s.ev = "", false, nil
		}
	}
	if opening == "" {
		return nil
	}
	method, _ := f.Attrs[tracker.AttrUnlockMethod].(string)
	if inOrder && s.key != "" {
		// The incident goes on: an alert learns what this fix adds.
		if s.alerted && (method != "" && s.ev["method"] == nil || opening != tracker.SealUnlocked && s.ev["seal_state"] != opening) {
			s.update(f, opening, method)
			out.Alerts = append(out.Alerts, s.alert)
		}
		return nil
	}
	return e.sealOpened(ctx, vs, s, f, opening, method, inOrder, out)
}

// sealOpened records a new opening: the event, and the alert where the seal must not open.
func (e *Engine) sealOpened(ctx context.Context, vs *vstate, s *sealState, f *tracker.Fix, opening, method string, inOrder bool, out *tracker.Outcome) error {
	lat, lon, source := vs.sealPlace(f)
	place := map[string]any{"time": f.Time.UTC(), "lat": lat, "lon": lon, "source": source}
	d := vs.active(f.Time)
	inside := ""
	if source != "unknown" {
		zs, err := e.cfg.Engine.Containing(ctx, lat, lon)
		if err != nil {
			return err
		}
		var names []string
		for _, z := range zs {
			names = append(names, cmp.Or(z.Name, z.ID))
			if d != nil && (z.ID == d.YardZoneID || z.ID == d.PortZoneID) {
				inside = z.ID
			}
		}
		if len(names) > 0 {
			place["zones"] = names
		}
	}
	key := fmt.Sprintf("%s:%s:%s:%d", tracker.AlertSealOpened, vs.id, f.DeviceID, f.Time.Unix())
	card, _ := f.Attrs[tracker.AttrUnlockCard].(string)
	attrs := map[string]any{"seal_state": opening}
	for k, v := range map[string]string{"method": method, "card": card, "protocol": f.Protocol, "device_id": f.DeviceID} {
		if v != "" {
			attrs[k] = v
		}
	}
	if d != nil {
		attrs["declaration_id"] = d.ID
	}
	raise := d != nil && inside == ""
	attrs["alert"] = raise
	out.Events = append(out.Events, tracker.Event{Type: tracker.EventSealUnlocked, Time: f.Time.UTC(), VehicleID: vs.id,
		ZoneID: inside, Lat: lat, Lon: lon, FixSeq: f.Seq, Late: f.Late, Attrs: attrs})
	if inOrder {
		s.key, s.alerted, s.ev = key, false, nil
	}
	if !raise {
		return nil
	}
	for _, z := range []string{d.YardZoneID, d.PortZoneID} {
		if z == "" || source == "unknown" {
			continue
		}
		if m, err := e.cfg.Engine.DistanceM(ctx, z, lat, lon); err == nil && (place["nearest_zone_m"] == nil || m < place["nearest_zone_m"].(float64)) {
			place["nearest_zone_id"], place["nearest_zone_m"] = z, math.Round(m)
		}
	}
	if id, ok := place["nearest_zone_id"].(string); ok {
		place["nearest_zone"] = id
		if z, err := e.cfg.Store.Zone(ctx, id); err == nil && z.Name != "" {
			place["nearest_zone"] = z.Name
		}
	}
	ev := map[string]any{"place": place, "seal_state": opening, "declaration_id": d.ID, "yard_zone_id": d.YardZoneID,
		"port_zone_id": d.PortZoneID, "device_id": f.DeviceID, "protocol": f.Protocol, "late": f.Late}
	if method != "" {
		ev["method"] = method
	}
	if card != "" {
		ev["card"] = card
	}
	e.m.alerts.WithLabelValues(tracker.AlertSealOpened).Inc()
	a := vs.alert(tracker.AlertSealOpened, tracker.SeverityCritical, key, f.Time, lat, lon)
	a.DeclarationID = strp(d.ID)
	a.Late = f.Late
	a.Message = sealMessage(ev)
	a.Evidence = evidence(ev)
	out.Alerts = append(out.Alerts, a)
	if inOrder {
		s.alerted, s.alert, s.ev = true, a, ev
	}
	return nil
}

// update adds to the open incident's alert what f tells of it.
func (s *sealState) update(f *tracker.Fix, opening, method string) {
	if method != "" && s.ev["method"] == nil {
		s.ev["method"] = method
		if card, _ := f.Attrs[tracker.AttrUnlockCard].(string); card != "" {
			s.ev["card"] = card
		}
	}
	if opening != tracker.SealUnlocked {
		s.ev["seal_state"] = opening // a cut rope or an opened shell says more than an unlock
	}
	s.alert.UpdatedAt = f.Time.UTC()
	s.alert.Message = sealMessage(s.ev)
	s.alert.Evidence = evidence(s.ev)
}

func sealMessage(ev map[string]any) string {
	msg := fmt.Sprintf("seal %s", ev["seal_state"])
	if m, ok := ev["method"].(string); ok {
		msg += " by " + m
	}
	place := ev["place"].(map[string]any)
	if place["source"] == "unknown" {
		return msg + " where no position was known, on declaration " + ev["declaration_id"].(string)
	}
	msg += fmt.Sprintf(" at %.5f, %.5f outside the declared yard and port", place["lat"], place["lon"])
	if m, ok := place["nearest_zone_m"].(float64); ok {
		msg += fmt.Sprintf(", %.1f km from %s", m/1000, place["nearest_zone"])
	}
	return msg
}

// sealPlace is where the seal opened: the fix's position, or where the vehicle was last seen
// at or before the fix's time when the fix has no trustworthy one (seals report events without
// a GNSS fix), or nowhere known.
func (vs *vstate) sealPlace(f *tracker.Fix) (lat, lon float64, source string) {
	if f.Valid && !f.HasFlag(tracker.FlagJump) {
		return f.Lat, f.Lon, "fix"
	}
	i, found := slices.BinarySearchFunc(vs.history, f.Time, histAt)
	if found {
		i++
	}
	switch {
	case i > 0 && i == len(vs.history) && vs.hasLast && vs.history[i-1].t == vs.last.Time.UnixNano():
		// The newest: the rules hold it to the last digit, the history to 1e-7°.
		return vs.last.Lat, vs.last.Lon, "last_valid_fix"
	case i > 0:
		lat, lon := vs.history[i-1].position()
		return lat, lon, "last_valid_fix"
	}
	return 0, 0, "unknown"
}
