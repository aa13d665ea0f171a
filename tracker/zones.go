package tracker

import (
	"context"

	"github.com/borderwatch/borderwatch/geofence"
)

// ZoneEvaluator turns a vehicle's valid fixes into zone and border events with a geofence
// engine. Fixes without a GNSS position and jumps stay out of geofencing: they would put the
// vehicle where it never was.
type ZoneEvaluator struct {
	engine   geofence.Engine
	vehicles *VehicleMap[*zoneVehicle]
}

// NewZoneEvaluator returns a ZoneEvaluator using engine.
func NewZoneEvaluator(engine geofence.Engine) *ZoneEvaluator {
	z := &ZoneEvaluator{engine: engine}
	z.vehicles = NewVehicleMap(func(string) *zoneVehicle { return &zoneVehicle{z: z} })
	return z
}

// Vehicle implements Evaluator.
func (z *ZoneEvaluator) Vehicle(id string) VehicleEvaluator { return z.vehicles.Get(id) }

// zoneVehicle is a vehicle of a ZoneEvaluator: the geofence engine keeps what it knows of it.
type zoneVehicle struct {
	VehicleState
	z *ZoneEvaluator
}

func (v *zoneVehicle) State() *VehicleState { return &v.VehicleState }

// Evaluate appends the zone events of f to out.
func (v *zoneVehicle) Evaluate(ctx context.Context, f *Fix, out *Outcome) error {
	if !f.Valid || f.HasFlag(FlagJump) || f.Late {
		return nil
	}
	evs, err := v.z.engine.Update(ctx, geofence.Position{VehicleID: f.VehicleID, Time: f.Time, Lat: f.Lat, Lon: f.Lon})
	if err != nil {
		return err
	}
	for _, e := range evs {
		out.Events = append(out.Events, ZoneEvent(f.VehicleID, e, f.Seq, f.Late))
	}
	return nil
}

// ZoneEvent converts a geofence event into a stored event.
// fixSeq names the fix that caused it (0: none).
func ZoneEvent(vehicleID string, e geofence.Event, fixSeq uint64, late bool) Event {
	attrs := map[string]any{"zone_kind": string(e.Kind)}
	if e.Type == geofence.BorderCross {
		if e.PortZoneID != "" {
			attrs["port_zone_id"] = e.PortZoneID
		} else {
			attrs["port_zone_id"] = nil
		}
		attrs["direction"] = e.Direction
	}
	return Event{Type: string(e.Type), Time: e.Time.UTC(), VehicleID: vehicleID, ZoneID: e.ZoneID, Lat: e.Lat, Lon: e.Lon, FixSeq: fixSeq, Late: late, Attrs: attrs}
}
