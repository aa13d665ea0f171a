package tracker

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// A device whose clock is ahead of the server's: its fixes are evaluated as of when they were
// received, so that it stays in the live rules and on the map, and an officer is told once per
// episode (AlertDeviceClockAhead). Dated as the device claims, its fixes would be the vehicle's
// newest for minutes and make the real ones late; kept out as evidence only, a terminal always
// ahead was never evaluated at all (README, Clock ahead).

const (
	// clockAheadQuiet ends a vehicle's clock-ahead episode: once its device's fixes have been
	// within the tolerance this long, a new lead is a new episode and a new alert.
	clockAheadQuiet = 10 * time.Minute
	// maxShiftAll: a clock ahead by up to this moves all the fixes of a submission back by its
	// lead. Beyond, only those ahead of the server clock move, each to at most maxRetimedSpread
	// before the receipt: a far-future frame (a glitch, a forgery) among real fixes cannot push
	// them back by hours, out of the live rules.
	maxShiftAll      = 10 * time.Minute
	maxRetimedSpread = 10 * time.Minute
)

// clockEpisode is a vehicle's time with a device clock ahead.
type clockEpisode struct {
	lastAhead time.Time // server time of the latest fix beyond the tolerance
}

// newestAhead returns, for each device with a fix of fixes dated after now, its newest device
// time among them; nil (no allocation) when none is: the common case costs one comparison a fix.
func newestAhead(fixes []Fix, now time.Time) map[string]time.Time {
	var newest map[string]time.Time
	for i := range fixes {
		f := &fixes[i]
		if !f.Time.After(now) {
			continue
		}
		if newest == nil {
			newest = map[string]time.Time{}
		}
		if t, ok := newest[f.DeviceID]; !ok || f.Time.After(t) {
			newest[f.DeviceID] = f.Time
		}
	}
	return newest
}

// retime places f, the vehicle locked, as of its receipt when its device's clock is ahead.
// newest is the newest device time of f's device in its submission: its lead over now is
// the clock's lead (the freshest reading), and when it is beyond MaxClockAhead, or ahead at
// all while the vehicle is in an episode (a clock hovering at the tolerance would otherwise
// zigzag between the two times), every fix of the submission is moved back by it: a
// blind-area upload from that clock keeps its order and spacing, its older fixes included.
// A lead beyond maxShiftAll (a clock far off, or a glitch or forgery among real fixes) moves
// only the fixes ahead of now, to at most maxRetimedSpread before the receipt. The device's
// time stays on the fix (AttrDeviceTime) and in the pipeline's key for it, by which its
// resends are known. A fix beyond the tolerance starts an episode, raising
// AlertDeviceClockAhead into out; one within it ends the episode after clockAheadQuiet.
//
// A report merged with the retimed record of its time (an alarm re-sent with the time
// unchanged) already carries FlagRetimed: it is placed at its receipt at least, whatever the
// clock says by now, so that its flag and its time agree.
func (p *Pipeline) retime(st *VehicleState, f *Fix, now, newest time.Time, out *Outcome) {
	ahead := f.Time.Sub(now)
	beyond := ahead > p.cfg.MaxClockAhead
	switch {
	case beyond:
		p.episodeAhead(st, f, now, ahead, out)
	case st.clockAhead:
		p.endEpisode(st, f.VehicleID, now)
	}
	lead := newest.Sub(now)
	var at time.Time
	switch {
	case (lead > p.cfg.MaxClockAhead || st.clockAhead && lead > 0) && lead <= maxShiftAll:
		at = f.Time.Add(-lead)
	case lead > maxShiftAll && ahead > 0:
		at = now.Add(-min(newest.Sub(f.Time), maxRetimedSpread))
	case f.HasFlag(FlagRetimed):
		at = now
	default:
		return
	}
	f.Attrs = maps.Clone(f.Attrs) // the gateway's map may be shared with its other fixes
	if f.Attrs == nil {
		f.Attrs = map[string]any{}
	}
	f.Attrs[AttrDeviceTime] = f.Time.Format(time.RFC3339Nano)
	if !f.HasFlag(FlagRetimed) {
		f.Flags = append(slices.Clip(f.Flags), FlagRetimed)
	}
	f.Time = at
	p.m.flagged.WithLabelValues(FlagRetimed).Inc()
}

// episodeAhead notes a fix of the vehicle from ahead beyond the tolerance, starting its episode
// and raising its alert if it has none.
func (p *Pipeline) episodeAhead(st *VehicleState, f *Fix, now time.Time, ahead time.Duration, out *Outcome) {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	if ep := p.episodes[f.VehicleID]; ep != nil && st.clockAhead {
		ep.lastAhead = now
		return
	}
	p.episodes[f.VehicleID] = &clockEpisode{lastAhead: now}
	st.clockAhead = true
	key := fmt.Sprintf("%s:%s:%d", AlertDeviceClockAhead, f.VehicleID, now.UnixNano())
	out.Alerts = append(out.Alerts, p.clockAheadAlert(f, now, ahead, key))
}

// resumeEpisode takes up, the vehicle locked, the episode its newest stored fix f, retimed, was
// in when the server stopped or its partition moved here: a terminal whose clock is still
// ahead raises no second alert, and one back within the tolerance ends it after
// clockAheadQuiet as before. f's time, its receipt, stands for the episode's last lead.
func (p *Pipeline) resumeEpisode(st *VehicleState, f *Fix) {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	p.episodes[f.VehicleID] = &clockEpisode{lastAhead: f.Time}
	st.clockAhead = true
}

// endEpisode ends the vehicle's episode once its fixes have been within the tolerance for
// clockAheadQuiet.
func (p *Pipeline) endEpisode(st *VehicleState, vehicleID string, now time.Time) {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	if ep := p.episodes[vehicleID]; ep != nil && now.Sub(ep.lastAhead) < clockAheadQuiet {
		return
	}
	delete(p.episodes, vehicleID)
	st.clockAhead = false
}

// clockAheadAlert tells an officer that f's device clock is ahead by ahead (f not yet retimed).
func (p *Pipeline) clockAheadAlert(f *Fix, now time.Time, ahead time.Duration, key string) Alert {
	evidence, err := json.Marshal(map[string]any{
		"device_id":   f.DeviceID,
		"device_time": f.Time,
		"received_at": now,
		"ahead_s":     int64(ahead / time.Second),
		"protocol":    f.Protocol,
	})
	if err != nil {
		p.log.Error("device clock ahead evidence", "err", err) // strings, numbers and times only: cannot happen
	}
	return Alert{
		Type: AlertDeviceClockAhead,
		// A warning: a bad clock is usually a fault, and the vehicle is still evaluated; but a
		// forger who dates frames ahead to make real fixes late is shown here.
		Severity:  SeverityWarning,
		Status:    StatusOpen,
		VehicleID: f.VehicleID,
		Time:      now,
		UpdatedAt: now,
		Lat:       f.Lat,
		Lon:       f.Lon,
		Message: fmt.Sprintf("device %s's clock is %s ahead of the server's (it reported %s): its fixes are placed at the time they were received",
			f.DeviceID, ahead.Truncate(time.Second), f.Time.Format(time.DateTime)),
		DedupKey: key,
		Active:   true,
		Evidence: evidence,
	}
}

// lastClaimed reports whether the vehicle's newest fix was retimed from device time k: a
// resend of it once it is no longer in flight (after a restart) is known by that time.
func (s *VehicleState) lastClaimed(k fixKey) bool {
	if len(s.last.flags) == 0 || k.device != s.last.key.device || !slices.Contains(s.last.flags, FlagRetimed) {
		return false
	}
	for _, a := range s.last.attrs {
		if a.k == AttrDeviceTime {
			str, _ := a.v.(string)
			t, err := time.Parse(time.RFC3339Nano, str)
			return err == nil && t.UnixNano() == k.t
		}
	}
	return false
}
