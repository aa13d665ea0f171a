package jt600

import (
	"maps"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// ToFix turns record i of r, from device d, into a fix received at receivedAt. The seal's
// state, event, unlock method and card and a low battery go into the attributes under the
// tracker.AttrSeal* keys; "report" names the report kind. Records re-uploaded from the
// device's memory are late and flagged tracker.FlagBlindArea.
func ToFix(r *Report, i int, d tracker.Device, receivedAt time.Time) tracker.Fix {
	rec := &r.Records[i]
	f := tracker.Fix{
		VehicleID:  d.VehicleID,
		DeviceID:   d.ID,
		Protocol:   tracker.ProtocolJT600,
		Time:       rec.Time,
		ReceivedAt: receivedAt.UTC(),
		Lat:        rec.Lat,
		Lon:        rec.Lon,
		SpeedKmh:   rec.SpeedKmh,
		Heading:    rec.Course,
		AltitudeM:  rec.AltitudeM,
		Valid:      rec.Valid,
		Flags:      append([]string{}, rec.Flags...),
		Attrs:      maps.Clone(rec.Attrs),
	}
	if f.Attrs == nil {
		f.Attrs = map[string]any{}
	}
	f.Attrs["report"] = r.Kind
	if r.Reuploaded() {
		f.Late = true
		f.Flags = append(f.Flags, tracker.FlagBlindArea)
	}
	s := rec.Seal
	for k, v := range map[string]string{tracker.AttrSealState: s.State, tracker.AttrSealEvent: s.Event,
		tracker.AttrUnlockMethod: s.Method, tracker.AttrUnlockCard: s.Card} {
		if v != "" {
			f.Attrs[k] = v
		}
	}
	if s.BatteryLow {
		f.Attrs[tracker.AttrBatteryLow] = true
	}
	return f
}
