// Package tracker holds BorderWatch's domain (fixes, devices, vehicles, declarations, events,
// alerts), the pipeline that turns gateway fixes into stored tracks, events and alerts, and the
// store interface that the embedded and PostgreSQL stores implement.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Fix is one position report of a device, normalised by its gateway.
// Time is the device's GNSS time in UTC; ReceivedAt is the server's clock. Seq is the fix's
// identity from the pipeline to the store (an event names its fix by it); ID is the stored
// fix's, set by Commit.
type Fix struct {
	ID         int64          `json:"id,omitempty"`
	Seq        uint64         `json:"-"`
	VehicleID  string         `json:"vehicle_id"`
	DeviceID   string         `json:"device_id"`
	Protocol   string         `json:"protocol,omitempty"`
	Time       time.Time      `json:"time"`
	ReceivedAt time.Time      `json:"received_at"`
	Lat        float64        `json:"lat"`
	Lon        float64        `json:"lon"`
	SpeedKmh   float64        `json:"speed_kmh"`
	Heading    float64        `json:"heading"`
	AltitudeM  float64        `json:"altitude_m"`
	Valid      bool           `json:"valid"`
	Late       bool           `json:"late"`
	Flags      []string       `json:"flags"`
	Attrs      map[string]any `json:"attributes,omitempty"`
}

// HasFlag reports whether f carries the named flag.
func (f *Fix) HasFlag(name string) bool {
	for _, fl := range f.Flags {
		if fl == name {
			return true
		}
	}
	return false
}

// Flag names shared by every gateway. Protocol-specific alarms use their own names
// (e.g. "sos", "overspeed", "acc_on"); these are the ones the pipeline itself sets.
const (
	FlagBlindArea = "blind_area" // uploaded from the terminal's buffer after a signal loss (JT/T 808 0x0704 type 1)
	FlagJump      = "jump"       // implied speed from the previous fix no vehicle can reach
)

// Sink accepts fixes from gateways. Submit returns nil only once every fix is durably stored
// (or refused for a reason retrying cannot fix, reported as *RefusedError); only then may a
// gateway acknowledge to the device. Any other error means nothing may be acknowledged: the
// device keeps its buffer and resends.
type Sink interface {
	Submit(ctx context.Context, fixes []Fix) error
}

// Refusal reasons, used as the "reason" label of bw_fixes_rejected_total.
const (
	ReasonBadCoordinates = "bad_coordinates"
	ReasonFutureTime     = "future_time"
	ReasonAncientTime    = "ancient_time"
	ReasonUnknownDevice  = "unknown_device"
)

// RefusedError reports fixes that were refused for good (bad coordinates, a time far in the
// future); the other fixes of the same Submit were stored. Gateways acknowledge such frames
// (resending cannot help) and OsmAnd answers 400 with the reason.
type RefusedError struct {
	Refused []Refusal
}

// Refusal is one refused fix and why.
type Refusal struct {
	Index  int    // position in the submitted slice
	Reason string // one of the Reason constants
}

func (e *RefusedError) Error() string {
	if len(e.Refused) == 1 {
		return fmt.Sprintf("fix refused: %s", e.Refused[0].Reason)
	}
	return fmt.Sprintf("%d fixes refused, first: %s", len(e.Refused), e.Refused[0].Reason)
}

// ErrNotFound is returned by stores and registries for a missing object.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when an object with the same id already exists.
var ErrConflict = errors.New("already exists")
