package geofence

import (
	"context"
	"errors"
	"time"
)

// Position is one fix of a vehicle, as the engine needs it.
type Position struct {
	VehicleID string
	Time      time.Time // device time
	Lat, Lon  float64
}

// EventType is what happened.
type EventType string

// Event types; the same strings as the external contract's event types.
const (
	ZoneEnter   EventType = "zone_enter"
	ZoneExit    EventType = "zone_exit"
	BorderCross EventType = "border_cross"
)

// Border crossing directions.
const (
	Inbound  = "inbound"  // into the domestic side
	Outbound = "outbound" // out of it
)

// Event is a zone enter or exit or a border crossing. Time and Lat/Lon are where the vehicle
// crossed the fence (interpolated along the segment between two fixes), not where the
// hysteresis confirmed it, so an exit confirmed a minute after the fact still carries the
// moment the vehicle left.
type Event struct {
	Type       EventType
	ZoneID     string
	Kind       Kind
	Time       time.Time
	Lat, Lon   float64
	PortZoneID string // border_cross: the port zone containing the crossing point, "" if none
	Direction  string // border_cross: Inbound or Outbound
}

// Engine turns vehicles' movements into zone events. It keeps per-vehicle state: Update must
// be called in device-time order for each vehicle, and may be called concurrently for
// different vehicles.
type Engine interface {
	// SetZones replaces the whole zone set atomically. A vehicle inside a zone that changed
	// or vanished gets the events the new geometry implies at its next Update.
	SetZones(ctx context.Context, zones []Zone) error
	// Update moves the vehicle to p and returns its events in time order, hysteresis
	// applied. A position older than the vehicle's last one is refused with ErrOutOfOrder.
	Update(ctx context.Context, p Position) ([]Event, error)
	// Crossings returns the raw border crossings of the segment from→to, without touching
	// any vehicle's state: for late (backfilled) data.
	Crossings(ctx context.Context, from, to Position) ([]Event, error)
	// Containing returns the area zones and corridors containing the point, by ID.
	Containing(ctx context.Context, lat, lon float64) ([]Zone, error)
	// DistanceM returns the metres from the point to the zone: 0 inside an area, the
	// distance to the centre line for a corridor and to the line for the border.
	DistanceM(ctx context.Context, zoneID string, lat, lon float64) (float64, error)
	// Forget drops a vehicle's state.
	Forget(vehicleID string)
	Close() error
}

// Prefetcher is an Engine that can prepare one vehicle's coming Updates ahead, all in one
// round trip to a remote server (Tile38): ps are positions the vehicle is about to be moved
// to, in order. Tile38 asks for the zones around all of them at once; each Update then uses
// that answer if its move lies within the area asked about and the zones did not change
// meanwhile, and asks as usual otherwise: a prefetch never changes what an Update returns,
// only how long it takes. ps is the caller's again once Prefetch returns.
type Prefetcher interface {
	Prefetch(ctx context.Context, ps []Position)
}

// Errors of the engines.
var (
	ErrUnknownZone = errors.New("geofence: unknown zone")
	ErrOutOfOrder  = errors.New("geofence: position older than the vehicle's last")
	ErrClosed      = errors.New("geofence: engine closed")
)

// Hysteresis keeps GPS noise at a fence from flapping. A raw crossing of the fence is held
// pending and becomes an event once the vehicle is far enough on the new side (EnterM metres
// inside for an enter, ExitM metres outside for an exit) or has stayed on the new side for
// Dwell; it is dropped if the vehicle comes back first. A zero margin confirms at once; a zero
// Dwell never confirms by time.
//
// For the border line a crossing counts once the vehicle is max(EnterM, ExitM) beyond the line
// or has stayed Dwell on the other side.
type Hysteresis struct {
	EnterM float64
	ExitM  float64
	Dwell  time.Duration
}

// DefaultHysteresis returns the hysteresis used for kind when Options names none.
//
// Areas and corridors: an enter counts at once (EnterM 0), an exit once the vehicle is 30 m
// outside or has stayed outside for three minutes. GPS jitter of ±20 m at an edge thus gives
// one enter and no exit (a run of eighteen 10-second fixes all on the outside is needed before
// time alone confirms), while a truck driving through a zone gives both (it is 30 m out within
// seconds). The border: 30 m beyond the line or three minutes on the other side, so a vehicle
// waiting at the line does not cross back and forth, and one stopped just past it still
// crosses.
func DefaultHysteresis(kind Kind) Hysteresis {
	if kind == KindBorder {
		return Hysteresis{EnterM: 30, ExitM: 30, Dwell: 3 * time.Minute}
	}
	return Hysteresis{ExitM: 30, Dwell: 3 * time.Minute}
}

// Options configure an engine.
type Options struct {
	// Hysteresis per zone kind; kinds not named get DefaultHysteresis.
	Hysteresis map[Kind]Hysteresis
}

func (o Options) hysteresis(k Kind) Hysteresis {
	if h, ok := o.Hysteresis[k]; ok {
		return h
	}
	return DefaultHysteresis(k)
}
