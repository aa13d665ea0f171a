package tracker

import (
	"context"

	"github.com/borderwatch/borderwatch/geofence"
)

// ZoneEvaluator turns a vehicle's valid fixes into zone and border events with a geofence
// engine. Fixes without a GNSS position and jumps stay out of geofencing: they would put the
// vehicle where it never was.
type ZoneEvaluator struct {
	Engine geofence.Engine
}

// Evaluate appends the zone events of f to out.
func (z *ZoneEvaluator) Evaluate(ctx context.Context, st *VehicleState, f *Fix, out *Outcome) error {
	if !f.Valid || f.HasFlag(FlagJump) || f.Late {
		return nil
	}
	evs, err := z.Engine.Update(ctx, geofence.Position{VehicleID: f.VehicleID, Time: f.Time, Lat: f.Lat, Lon: f.Lon})
	if err != nil {
		return err
	}
	for _, e := range evs {
		out.Events = append(out.Events, ZoneEvent(f.VehicleID, e, 1, f.Late))
	}
	return nil
}

// ZoneEvent converts a geofence event into a stored event.
func ZoneEvent(vehicleID string, e geofence.Event, fixRef int, late bool) Event {
	attrs := map[string]any{"zone_kind": string(e.Kind)}
	if e.Type == geofence.BorderCross {
		if e.PortZoneID != "" {
			attrs["port_zone_id"] = e.PortZoneID
		} else {
			attrs["port_zone_id"] = nil
		}
		attrs["direction"] = e.Direction
	}
	return Event{Type: string(e.Type), Time: e.Time.UTC(), VehicleID: vehicleID, ZoneID: e.ZoneID, Lat: e.Lat, Lon: e.Lon, FixRef: fixRef, Late: late, Attrs: attrs}
}
