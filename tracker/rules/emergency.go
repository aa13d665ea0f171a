package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Emergencies: an emergency declaration (a patient, the injured) lets its vehicle cross without
// the corridor and stop rules (tracker.EmergencySuspends) from its valid_from until its
// valid_to, or until it is completed or cancelled before. What those rules raise for the
// vehicle in the window is kept instead of alerted, and when the window ends it is summarised
// in one emergency_review alert for an officer to look at; nothing would have alerted: no
// review. After the window the vehicle is under the ordinary rules again; an incident that began
// in the window (a stop that goes on past it) stays the window's: its updates are held back
// for a day after the window, not alerted as a new incident.

// emergencyWindow is one emergency declaration's window and what it held back.
type emergencyWindow struct {
	decl     tracker.Declaration
	from, to time.Time
	held     []tracker.Alert // the latest version of each alert held back, in the order first held
	reviewed bool            // the window ended and its review was raised
}

// heldAfter is how long after its window an incident held back stays held back.
const heldAfter = 24 * time.Hour

// openEmergency starts following an emergency declaration, once.
func (vs *vstate) openEmergency(d tracker.Declaration) {
	for _, w := range vs.rare().emergencies {
		if w.decl.ID == d.ID {
			return
		}
	}
	o := vs.rareMut()
	o.emergencies = append(o.emergencies, &emergencyWindow{decl: d, from: d.ValidFrom, to: d.ValidTo})
}

// endEmergency shortens the window of a declaration closed at at.
func (vs *vstate) endEmergency(id string, at time.Time) {
	for _, w := range vs.rare().emergencies {
		if w.decl.ID == id && at.Before(w.to) {
			w.to = at
		}
	}
}

// suspend removes from alerts[from:] those the vehicle's emergency windows suspend, keeping
// them for the review, and appends to events an emergency_held event for each kept: what the
// window held survives a restart (restoreEmergencies).
func (vs *vstate) suspend(alerts []tracker.Alert, from int, events *[]tracker.Event) []tracker.Alert {
	if len(vs.rare().emergencies) == 0 {
		return alerts
	}
	out := alerts[:from]
	for _, a := range alerts[from:] {
		if w := vs.windowOf(&a); w != nil {
			if w.hold(a) {
				*events = append(*events, heldEvent(w, a))
			}
			continue
		}
		out = append(out, a)
	}
	clear(alerts[len(out):])
	return out
}

// windowOf is the emergency window that suspends a, nil if none does.
func (vs *vstate) windowOf(a *tracker.Alert) *emergencyWindow {
	if a.VehicleID != vs.id || !slices.Contains(tracker.EmergencySuspends, a.Type) {
		return nil
	}
	for _, w := range vs.rare().emergencies {
		if !a.Time.Before(w.from) && a.Time.Before(w.to) {
			return w
		}
	}
	for _, w := range vs.rare().emergencies {
		if slices.ContainsFunc(w.held, func(h tracker.Alert) bool { return h.DedupKey == a.DedupKey }) {
			return w
		}
	}
	return nil
}

// hold keeps a back, reporting whether it did; after the review, updates are dropped: the
// review showed the incident.
func (w *emergencyWindow) hold(a tracker.Alert) bool {
	if w.reviewed {
		return false
	}
	w.keep(a)
	return true
}

// keep puts a in the held list: in place of its earlier version, or at the end.
func (w *emergencyWindow) keep(a tracker.Alert) {
	for i := range w.held {
		if w.held[i].DedupKey == a.DedupKey {
			w.held[i] = a
			return
		}
	}
	w.held = append(w.held, a)
}

func heldEvent(w *emergencyWindow, a tracker.Alert) tracker.Event {
	at := a.UpdatedAt
	if at.IsZero() {
		at = a.Time
	}
	var alert map[string]any
	if b, err := json.Marshal(a); err == nil {
		_ = json.Unmarshal(b, &alert) // an Alert's JSON is an object
	}
	return tracker.Event{Type: tracker.EventEmergencyHeld, Time: at, VehicleID: a.VehicleID, Lat: a.Lat, Lon: a.Lon, Late: a.Late,
		Attrs: map[string]any{"declaration_id": w.decl.ID, "alert": alert}}
}

// maxWindow is the longest emergency window a declaration may have (BW_EMERGENCY_WINDOW is at
// most 12 h; an officer's own valid_to as well): with heldAfter, how far back held events
// can still matter.
const maxWindow = 12 * time.Hour

// restoreEmergencies gives the emergency windows of the last maxWindow+heldAfter back what
// they held before a restart, from their emergency_held events: those of active declarations
// (opened by Restore), and of windows closed since, whose review may still be due (or was raised
// already: then the review is not raised again, and later updates of what it listed stay held).
func (e *Engine) restoreEmergencies(ctx context.Context, match func(vehicleID string) bool) error {
	now := e.cfg.Now()
	evs, err := e.cfg.Store.Events(ctx, tracker.EventQuery{Type: tracker.EventEmergencyHeld, From: now.Add(-maxWindow - heldAfter)})
	if err != nil {
		return fmt.Errorf("rules: emergency windows: %w", err)
	}
	byVehicle := map[string][]tracker.Event{}
	var order []string
	for _, ev := range evs {
		if match != nil && !match(ev.VehicleID) {
			continue
		}
		if _, ok := byVehicle[ev.VehicleID]; !ok {
			order = append(order, ev.VehicleID)
		}
		byVehicle[ev.VehicleID] = append(byVehicle[ev.VehicleID], ev)
	}
	for _, id := range order {
		if err := e.restoreVehicleEmergencies(ctx, id, byVehicle[id], now); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) restoreVehicleEmergencies(ctx context.Context, vehicleID string, evs []tracker.Event, now time.Time) error {
	decls, err := e.cfg.Store.Declarations(ctx, tracker.DeclarationQuery{VehicleID: vehicleID})
	if err != nil {
		return fmt.Errorf("rules: emergency windows of %s: %w", vehicleID, err)
	}
	reviews, err := e.cfg.Store.Alerts(ctx, tracker.AlertQuery{VehicleID: vehicleID, Type: tracker.AlertEmergencyReview, From: now.Add(-maxWindow - heldAfter)})
	if err != nil {
		return fmt.Errorf("rules: emergency reviews of %s: %w", vehicleID, err)
	}
	vs := e.vehicles.Get(vehicleID)
	vs.Lock()
	defer vs.Unlock()
	for _, ev := range evs {
		declID, _ := ev.Attrs["declaration_id"].(string)
		w := vs.window(declID, decls)
		if w == nil {
			continue
		}
		var a tracker.Alert
		b, err := json.Marshal(ev.Attrs["alert"])
		if err != nil || json.Unmarshal(b, &a) != nil || a.DedupKey == "" {
			e.log.Warn("emergency_held event without its alert", "event", ev.ID)
			continue
		}
		w.keep(a)
		w.reviewed = w.reviewed || slices.ContainsFunc(reviews, func(r tracker.Alert) bool {
			return r.DedupKey == fmt.Sprintf("%s:%s", tracker.AlertEmergencyReview, declID)
		})
	}
	o := vs.rareMut()
	o.emergencies = slices.DeleteFunc(o.emergencies, func(w *emergencyWindow) bool { return now.Sub(w.to) > heldAfter })
	return nil
}

// window is the vehicle's window of the emergency declaration id, opened from decls when the
// declaration is no longer active; nil if it is no emergency of the vehicle's.
func (vs *vstate) window(id string, decls []tracker.Declaration) *emergencyWindow {
	for _, w := range vs.rare().emergencies {
		if w.decl.ID == id {
			return w
		}
	}
	i := slices.IndexFunc(decls, func(d tracker.Declaration) bool { return d.ID == id })
	if i < 0 || decls[i].Type != tracker.DeclarationEmergency {
		return nil
	}
	d := decls[i]
	vs.openEmergency(d)
	ws := vs.rare().emergencies
	w := ws[len(ws)-1]
	if d.ClosedAt != nil && d.ClosedAt.Before(w.to) {
		w.to = *d.ClosedAt
	}
	return w
}

// endEmergencies raises the review of each window that has ended by now, and forgets windows
// heldAfter after their end.
func (e *Engine) endEmergencies(vs *vstate, now time.Time, alerts []tracker.Alert) []tracker.Alert {
	if vs.occ == nil {
		return alerts
	}
	o := vs.occ
	keep := o.emergencies[:0]
	for _, w := range o.emergencies {
		if !now.Before(w.to) && !w.reviewed {
			w.reviewed = true
			if len(w.held) > 0 {
				alerts = append(alerts, e.emergencyReview(vs, w))
			}
		}
		if now.Sub(w.to) <= heldAfter {
			keep = append(keep, w)
		}
	}
	clear(o.emergencies[len(keep):])
	o.emergencies = keep
	return alerts
}

func (e *Engine) emergencyReview(vs *vstate, w *emergencyWindow) tracker.Alert {
	e.m.alerts.WithLabelValues(tracker.AlertEmergencyReview).Inc()
	type held struct {
		Type     string          `json:"type"`
		Time     time.Time       `json:"time"`
		Until    time.Time       `json:"until"`
		Lat      float64         `json:"lat"`
		Lon      float64         `json:"lon"`
		ZoneID   *string         `json:"zone_id"`
		Message  string          `json:"message"`
		Evidence json.RawMessage `json:"evidence"`
	}
	list := make([]held, len(w.held))
	types := make([]string, len(w.held))
	for i, a := range w.held {
		list[i] = held{Type: a.Type, Time: a.Time, Until: a.UpdatedAt, Lat: a.Lat, Lon: a.Lon, ZoneID: a.ZoneID, Message: a.Message, Evidence: a.Evidence}
		types[i] = a.Type
	}
	first := w.held[0]
	a := vs.alert(tracker.AlertEmergencyReview, tracker.SeverityWarning, fmt.Sprintf("%s:%s", tracker.AlertEmergencyReview, w.decl.ID), w.to, first.Lat, first.Lon)
	a.DeclarationID, a.ZoneID = strp(w.decl.ID), strp(w.decl.PortZoneID)
	a.Message = fmt.Sprintf("emergency window %s–%s over: %d held back for review (%s)", w.from.UTC().Format(time.RFC3339), w.to.UTC().Format(time.RFC3339),
		len(list), strings.Join(types, ", "))
	a.Evidence = evidence(map[string]any{"declaration_id": w.decl.ID, "from": w.from.UTC(), "to": w.to.UTC(),
		"suspended_rules": tracker.EmergencySuspends, "would_have_alerted": list})
	return a
}
