package rules

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Drivers: a JT/T 808 terminal reports the driver's IC card when it is inserted and when it is
// removed (tracker.EventDriverIdentity). A declaration may name the driver (DriverCard: the
// certificate number or the national ID number on the card); another driver's card in the
// reader on that declaration's trip is a driver_mismatch alert, one per declaration and card.
// It is judged when the card is inserted and, by the timer, when the declaration begins or
// arrives while the card is already in. A removed card, or one the terminal could not read,
// names nobody and is no mismatch.

// driverState is what the rules know of the vehicle's driver.
type driverState struct {
	card *driverCard // the card in the reader: the newest report's, nil when it named no one
	at   time.Time   // the time of the newest report
	// alerted holds the mismatches raised, with the time of the report each was raised for.
	alerted map[mismatchKey]time.Time
}

// driverCard is a card a terminal read.
type driverCard struct {
	id, idNumber string // the certificate number (the card's id) and the national ID number, normalised
	name         string
	authority    string
	deviceID     string
	since        time.Time
	lat, lon     float64 // where the terminal was when it read the card; 0, 0: not known
}

type mismatchKey struct{ decl, card string }

// normCard is how card numbers are compared: typed by hand on one side, read off a card on
// the other.
func normCard(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// cardOf is the card an inserted-card report names; ok is false for a removal or a card
// that could not be read.
func cardOf(ev *tracker.Event) (c driverCard, ok bool) {
	str := func(k string) string { s, _ := ev.Attrs[k].(string); return s }
	if inserted, _ := ev.Attrs["inserted"].(bool); !inserted {
		return c, false
	}
	c = driverCard{id: normCard(str("card_id")), idNumber: normCard(str("id_number")), name: str("driver_name"),
		authority: str("authority"), deviceID: str("device_id"), since: ev.Time, lat: ev.Lat, lon: ev.Lon}
	c.id = cmp.Or(c.id, c.idNumber)
	return c, c.id != ""
}

// Event judges what a terminal reported that is not a position (driver identity, waybills,
// alarms without a position: an SOS among them, see sos.go) and returns what to commit: the event itself and the alerts it raises. Like GateRead, it
// commits nothing: the caller does, so that the event and its alerts are stored and published
// together.
func (e *Engine) Event(ctx context.Context, ev tracker.Event) tracker.Outcome {
	out := tracker.Outcome{Events: []tracker.Event{ev}}
	if ev.VehicleID == "" {
		return out
	}
	if ev.Type == tracker.EventDeviceAlarm {
		if r, ok := sosOfEvent(&ev); ok {
			vs := e.vehicles.Get(ev.VehicleID)
			vs.Lock()
			defer vs.Unlock()
			if a, raised := e.sos(ctx, vs, r); raised {
				out.Alerts = append(out.Alerts, a)
			}
		}
		return out
	}
	if ev.Type != tracker.EventDriverIdentity {
		return out
	}
	vs := e.vehicles.Get(ev.VehicleID)
	vs.Lock()
	defer vs.Unlock()
	c, ok := cardOf(&ev)
	if !ev.Time.Before(vs.rare().driver.at) {
		dr := &vs.rareMut().driver
		dr.at, dr.card = ev.Time, nil
		if ok {
			dr.card = &c
		}
	}
	// A report older than the newest still says who drove then.
	if ok {
		if a, raised := e.driverMismatch(ctx, vs, &c, ev.Time, true); raised {
			out.Alerts = append(out.Alerts, a)
		}
	}
	return out
}

// checkDriver, on the timer, raises the mismatch of a card that was in the reader before its
// declaration began or was known, and forgets the mismatches of declarations that ended.
func (e *Engine) checkDriver(ctx context.Context, vs *vstate, now time.Time, alerts []tracker.Alert) []tracker.Alert {
	maps.DeleteFunc(vs.rare().driver.alerted, func(k mismatchKey, _ time.Time) bool {
		return !slices.ContainsFunc(vs.decls, func(d *decl) bool { return d.ID == k.decl })
	})
	c := vs.rare().driver.card
	d := vs.active(now)
	if c == nil || d == nil {
		return alerts
	}
	if a, raised := e.driverMismatch(ctx, vs, c, maxTime(c.since, d.ValidFrom), false); raised {
		alerts = append(alerts, a)
	}
	return alerts
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// driverMismatch raises driver_mismatch when card c, in the reader at time at, is not the
// driver the declaration active then names. Each declaration and card raise it once; again
// (a report sent again, whose first commit failed) raises the same alert again for the same
// report time, to be stored once by its key.
func (e *Engine) driverMismatch(ctx context.Context, vs *vstate, c *driverCard, at time.Time, again bool) (tracker.Alert, bool) {
	d := vs.active(at)
	if d == nil || d.DriverCard == "" {
		return tracker.Alert{}, false
	}
	if want := normCard(d.DriverCard); want == c.id || want == c.idNumber {
		return tracker.Alert{}, false
	}
	k := mismatchKey{decl: d.ID, card: c.id}
	if first, seen := vs.rare().driver.alerted[k]; seen && !(again && first.Equal(at)) {
		return tracker.Alert{}, false
	} else if !seen {
		dr := &vs.rareMut().driver
		if dr.alerted == nil {
			dr.alerted = map[mismatchKey]time.Time{}
		}
		dr.alerted[k] = at
		e.m.alerts.WithLabelValues(tracker.AlertDriverMismatch).Inc()
	}
	place := e.driverPlace(ctx, vs, c, at)
	presented := map[string]any{"card_id": c.id, "inserted_at": c.since.UTC()}
	for k, v := range map[string]string{"id_number": c.idNumber, "driver_name": c.name, "authority": c.authority, "device_id": c.deviceID} {
		if v != "" {
			presented[k] = v
		}
	}
	ev := map[string]any{"declaration_id": d.ID, "declared_card": d.DriverCard, "presented_card": presented,
		"driver_name": c.name, "place": place}
	key := fmt.Sprintf("%s:%s:%s:%s", tracker.AlertDriverMismatch, vs.id, d.ID, c.id)
	a := vs.alert(tracker.AlertDriverMismatch, tracker.SeverityWarning, key, at, place["lat"].(float64), place["lon"].(float64))
	a.DeclarationID = strp(d.ID)
	name := ""
	if c.name != "" {
		name = " (" + c.name + ")"
	}
	a.Message = fmt.Sprintf("driver card %s%s in the reader since %s, but declaration %s names driver card %s",
		c.id, name, c.since.UTC().Format(time.RFC3339), d.ID, d.DriverCard)
	a.Evidence = evidence(ev)
	return a, true
}

// driverPlace is where the vehicle was at the mismatch: where the terminal read the card, or
// the last valid fix the rules followed, or nowhere known.
func (e *Engine) driverPlace(ctx context.Context, vs *vstate, c *driverCard, at time.Time) map[string]any {
	place := map[string]any{"time": at.UTC(), "lat": 0.0, "lon": 0.0, "source": "unknown"}
	switch {
	case c.lat != 0 || c.lon != 0:
		place["lat"], place["lon"], place["source"] = c.lat, c.lon, "report"
	case vs.hasLast:
		place["lat"], place["lon"], place["source"] = vs.last.Lat, vs.last.Lon, "last_valid_fix"
	default:
		return place
	}
	e.addZones(ctx, place)
	return place
}

// addZones names the zones around a place's lat and lon in it, for the officer to know where
// that is without a map.
func (e *Engine) addZones(ctx context.Context, place map[string]any) {
	if zs, err := e.cfg.Engine.Containing(ctx, place["lat"].(float64), place["lon"].(float64)); err == nil {
		var names []string
		for _, z := range zs {
			names = append(names, cmp.Or(z.Name, z.ID))
		}
		if len(names) > 0 {
			place["zones"] = names
		}
	}
}

// loadDrivers restores, after a restart or a take-over, the card in the reader of each
// vehicle match selects (the newest driver identity it reported) and the mismatches already
// raised on the active declarations ds, so that a card inserted before is still judged, once.
func (e *Engine) loadDrivers(ctx context.Context, ds []tracker.Declaration, match func(vehicleID string) bool) error {
	evs, err := e.cfg.Store.LatestEvents(ctx, tracker.EventDriverIdentity)
	if err != nil {
		return fmt.Errorf("rules: drivers: %w", err)
	}
	for _, ev := range evs {
		if !match(ev.VehicleID) {
			continue
		}
		vs := e.vehicles.Get(ev.VehicleID)
		vs.Lock()
		dr := &vs.rareMut().driver
		dr.at, dr.card = ev.Time, nil
		if c, ok := cardOf(&ev); ok {
			dr.card = &c
		}
		vs.Unlock()
	}
	if len(ds) == 0 {
		return nil
	}
	from := ds[0].ValidFrom
	for _, d := range ds[1:] {
		if d.ValidFrom.Before(from) {
			from = d.ValidFrom
		}
	}
	raised, err := e.cfg.Store.Alerts(ctx, tracker.AlertQuery{Type: tracker.AlertDriverMismatch, From: from})
	if err != nil {
		return fmt.Errorf("rules: driver mismatches: %w", err)
	}
	for _, a := range raised {
		var ev struct {
			Declaration string `json:"declaration_id"`
			Presented   struct {
				Card string `json:"card_id"`
			} `json:"presented_card"`
		}
		if !match(a.VehicleID) || json.Unmarshal(a.Evidence, &ev) != nil {
			continue
		}
		vs := e.vehicles.Get(a.VehicleID)
		vs.Lock()
		dr := &vs.rareMut().driver
		if dr.alerted == nil {
			dr.alerted = map[mismatchKey]time.Time{}
		}
		dr.alerted[mismatchKey{decl: ev.Declaration, card: ev.Presented.Card}] = a.Time
		vs.Unlock()
	}
	return nil
}
