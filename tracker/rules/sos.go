package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// SOS: someone in the vehicle pressed the device's emergency button. A fix flagged
// tracker.FlagSOS, or a tracker.EventDeviceAlarm naming it (a GT06 alarm packet that carries
// a cell and no position), is a critical sos alert on the vehicle: at the reported position,
// or, when the report has none or an invalid one, at the vehicle's last known position with
// "unknown in the report" in the evidence.
//
// Devices repeat an SOS: a GT06 resends its alarm until acknowledged and sends one per press,
// and a JT/T 808 terminal keeps alarm bit 0 set in every report until the platform confirms
// it. SOS reports less than sosGap apart are one incident and one alert, updated only when a
// report gives the position the incident's alert lacked. A backfilled SOS outside the
// incident is an alert of its own, marked late.

// sosGap is the silence after which an SOS is a new incident.
const sosGap = 30 * time.Minute

// positionUnknown is the evidence's "position" of an SOS whose report had none.
const positionUnknown = "unknown in the report"

// sosState is the vehicle's newest SOS incident.
type sosState struct {
	key         string    // its alert's key; "" none
	first, last time.Time // the times of its first and newest report
	located     bool      // its alert has a reported position
}

// sosReport is one report of an SOS: a fix's or an alarm's without position.
type sosReport struct {
	at       time.Time
	deviceID string
	lat, lon float64
	located  bool // lat, lon are a valid position from the report
	late     bool
	detail   map[string]any // what else the report said (flags, alarm code, cell), for the evidence
}

// sosOfFix is the SOS that fix f reports, if it does.
func sosOfFix(f *tracker.Fix) (sosReport, bool) {
	if !f.HasFlag(tracker.FlagSOS) {
		return sosReport{}, false
	}
	r := sosReport{at: f.Time, deviceID: f.DeviceID, late: f.Late, detail: map[string]any{"flags": f.Flags}}
	if f.Valid && !f.HasFlag(tracker.FlagJump) {
		r.lat, r.lon, r.located = f.Lat, f.Lon, true
	}
	if code, ok := f.Attrs["alarm_code"]; ok {
		r.detail["alarm_code"] = code
	}
	return r, true
}

// sosOfEvent is the SOS that a device's alarm without position reports, if it does.
func sosOfEvent(ev *tracker.Event) (sosReport, bool) {
	var flags []string
	switch fl := ev.Attrs["flags"].(type) {
	case []string:
		flags = fl
	case []any: // read back from the store
		for _, x := range fl {
			if s, ok := x.(string); ok {
				flags = append(flags, s)
			}
		}
	}
	if !slices.Contains(flags, tracker.FlagSOS) {
		return sosReport{}, false
	}
	dev, _ := ev.Attrs["device_id"].(string)
	r := sosReport{at: ev.Time, deviceID: dev, detail: map[string]any{"flags": flags}}
	for _, k := range []string{"alarm_code", "mcc", "mnc", "lac", "cell_id"} {
		if v, ok := ev.Attrs[k]; ok {
			r.detail[k] = v
		}
	}
	return r, true
}

// sos raises or updates the alert of SOS report r, or says nothing for a repeat.
func (e *Engine) sos(ctx context.Context, vs *vstate, r sosReport) (tracker.Alert, bool) {
	s := &vs.rareMut().sos
	key, first := "", r.at
	switch {
	case s.key != "" && !r.at.Before(s.first.Add(-sosGap)) && !r.at.After(s.last.Add(sosGap)):
		// The incident goes on. The report that raised it, sent again (its first commit may
		// have failed), raises the same alert, stored once by its key.
		again := r.at.Equal(s.first) && r.located == s.located
		if r.at.After(s.last) {
			s.last = r.at
		}
		if !again && (s.located || !r.located) {
			return tracker.Alert{}, false
		}
		s.located = s.located || r.located
		key, first = s.key, s.first
	case s.key == "" || r.at.After(s.last):
		key = fmt.Sprintf("%s:%s:%d", tracker.AlertSOS, vs.id, r.at.Unix())
		*s = sosState{key: key, first: r.at, last: r.at, located: r.located}
		e.m.alerts.WithLabelValues(tracker.AlertSOS).Inc()
	default:
		// An older incident, backfilled: its own alert; the newest incident is still followed.
		key = fmt.Sprintf("%s:%s:%d", tracker.AlertSOS, vs.id, r.at.Unix())
		e.m.alerts.WithLabelValues(tracker.AlertSOS).Inc()
	}

	place := map[string]any{"time": r.at.UTC(), "lat": r.lat, "lon": r.lon, "source": "report"}
	ev := map[string]any{"device_id": r.deviceID, "reported_at": r.at.UTC(), "place": place}
	for k, v := range r.detail {
		ev[k] = v
	}
	where := fmt.Sprintf("at %.5f, %.5f", r.lat, r.lon)
	if !r.located {
		ev["position"] = positionUnknown
		switch {
		case vs.hasLast:
			place["lat"], place["lon"], place["time"], place["source"] = vs.last.Lat, vs.last.Lon, vs.last.Time.UTC(), "last_valid_fix"
			where = fmt.Sprintf("position unknown in the report; last known %.5f, %.5f at %s",
				vs.last.Lat, vs.last.Lon, vs.last.Time.UTC().Format(time.RFC3339))
		default:
			place["lat"], place["lon"], place["source"] = 0.0, 0.0, "unknown"
			where = "position unknown in the report and no earlier position known"
		}
	}
	if place["source"] != "unknown" {
		e.addZones(ctx, place)
	}
	a := vs.alert(tracker.AlertSOS, tracker.SeverityCritical, key, first, place["lat"].(float64), place["lon"].(float64))
	a.UpdatedAt = r.at.UTC()
	a.Late = r.late
	a.Message = fmt.Sprintf("SOS from device %s at %s, %s", r.deviceID, r.at.UTC().Format(time.RFC3339), where)
	a.Evidence = evidence(ev)
	return a, true
}

// seedSOS takes the newest unresolved SOS incident of each vehicle match selects from the
// store (after a restart, a take-over), so that the device repeating it does not raise it again.
func (e *Engine) seedSOS(ctx context.Context, match func(vehicleID string) bool) error {
	as, err := e.cfg.Store.Alerts(ctx, tracker.AlertQuery{Type: tracker.AlertSOS, From: e.cfg.Now().Add(-24 * time.Hour)})
	if err != nil {
		return fmt.Errorf("rules: sos alerts: %w", err)
	}
	for _, a := range as {
		if a.Status == tracker.StatusResolved || !match(a.VehicleID) {
			continue
		}
		vs := e.vehicles.Get(a.VehicleID)
		vs.Lock()
		if vs.rare().sos.key == "" || a.Time.After(vs.rare().sos.first) {
			located := evidenceString(a.Evidence, "position") != positionUnknown
			vs.rareMut().sos = sosState{key: a.DedupKey, first: a.Time, last: a.UpdatedAt, located: located}
		}
		vs.Unlock()
	}
	return nil
}

// evidenceString is the string at key in an alert's evidence, "" when there is none.
func evidenceString(ev []byte, key string) string {
	var m map[string]any
	if json.Unmarshal(ev, &m) != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}
