// Package tracker holds BorderWatch's domain (fixes, devices, vehicles, declarations, events,
// alerts), the pipeline that turns gateway fixes into stored tracks, events and alerts, and the
// store interface that the embedded and PostgreSQL stores implement.
package tracker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
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
// (e.g. "overspeed", "acc_on"); these are the ones the pipeline itself sets, and FlagSOS, which
// every gateway whose devices have an emergency button sets and the rules act on.
const (
	FlagSOS       = "sos"        // the emergency button was pressed (GT06 alarm 0x01, JT/T 808 alarm bit 0, JT600)
	FlagBlindArea = "blind_area" // uploaded from the terminal's buffer after a signal loss (JT/T 808 0x0704 type 1)
	FlagJump      = "jump"       // implied speed from the previous fix no vehicle can reach
	// FlagConflict marks a report of a device time the device had already reported at another
	// position: kept as evidence (a broken or cloned device), never as the vehicle's track.
	FlagConflict = "conflict"
	// FlagClockAhead marked, before fixes from a clock ahead were retimed (FlagRetimed), a fix
	// dated ahead of the server clock kept as evidence only. No longer set; stored ones stay
	// evidence, never the vehicle's newest (their time is the device's, ahead).
	FlagClockAhead = "clock_ahead"
	// FlagRetimed marks a fix whose device time was ahead of the server clock (see
	// PipelineConfig.MaxClockAhead): its Time is when the server received it, the device's time
	// is its attribute AttrDeviceTime. It is the vehicle's track like any other.
	FlagRetimed = "retimed"
)

// AttrDeviceTime is the attribute of a FlagRetimed fix holding the time its device claimed
// (RFC 3339, UTC), kept as evidence.
const AttrDeviceTime = "device_time"

// Evidence reports whether f is stored as evidence only, not as the vehicle's track: a
// conflicting report or one from ahead of the server clock. It never becomes the vehicle's
// newest fix nor its live position.
func (f *Fix) Evidence() bool { return f.HasFlag(FlagConflict) || f.HasFlag(FlagClockAhead) }

// report is what tells two reports of one device and device time apart: the position, and
// the flags and attributes, compared as sets.
type report struct {
	lat, lon, speed, heading float64
	valid                    bool
	received                 int64 // Unix nanoseconds: when the first of them arrived, for the evidence
	flags                    []string
	attrs                    map[string]any
}

func reportOf(f *Fix) report {
	return report{f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.Valid, f.ReceivedAt.UnixNano(), f.Flags, f.Attrs}
}

// samePosition: latitude and longitude to 1e-6° (about 0.1 m), speed, heading, validity.
func (r *report) samePosition(o *report) bool {
	return micro(r.lat) == micro(o.lat) && micro(r.lon) == micro(o.lon) &&
		r.speed == o.speed && r.heading == o.heading && r.valid == o.valid
}

func micro(deg float64) int64 { return int64(math.Round(deg * 1e6)) }

// conflictM: two reports of one device time farther apart than this put the device in two
// places (a broken or cloned device); nearer, they are one position told twice with different
// rounding or extras (a JT701 lock event and its location report of the same second), kept
// and merged, never a conflict. A forged copy this near moves nothing an officer acts on.
const conflictM = 30

// near: the same validity, and the positions within conflictM.
func (r *report) near(o *report) bool {
	if r.valid != o.valid {
		return false
	}
	kx, ky := geofence.MetresPerDegree(r.lat)
	return math.Hypot((r.lon-o.lon)*kx, (r.lat-o.lat)*ky) <= conflictM
}

// covers: the same position, and each of o's flags and attributes among r's. The flags the
// pipeline sets are no part of what a device reported.
func (r *report) covers(o *report) bool {
	if !r.samePosition(o) {
		return false
	}
	for _, fl := range o.flags {
		if fl != FlagJump && fl != FlagConflict && fl != FlagClockAhead && fl != FlagRetimed && !slices.Contains(r.flags, fl) {
			return false
		}
	}
	for k, v := range o.attrs {
		w, ok := r.attrs[k]
		if !ok || !sameValue(v, w) {
			return false
		}
	}
	return true
}

// Covers reports whether f already says all that g reports: the same position, and each of
// g's flags and attributes among f's. A report that a stored one of the same device and
// device time covers is a retransmission of it.
func (f *Fix) Covers(g *Fix) bool {
	rf, rg := reportOf(f), reportOf(g)
	return rf.covers(&rg)
}

// MergeFrom adds to f the flags and attributes of g that f lacks (f's values stay): the record
// of a report that repeats g's position with an alarm added then holds both. f's flags and
// attributes are copied before they change; g's are never changed.
func (f *Fix) MergeFrom(g *Fix) {
	var flags []string
	for _, fl := range g.Flags {
		if !f.HasFlag(fl) && !slices.Contains(flags, fl) {
			flags = append(flags, fl)
		}
	}
	if len(flags) > 0 {
		f.Flags = append(slices.Clip(f.Flags), flags...)
	}
	var attrs map[string]any
	for k, v := range g.Attrs {
		if _, ok := f.Attrs[k]; ok {
			continue
		}
		if attrs == nil {
			attrs = make(map[string]any, len(f.Attrs)+len(g.Attrs))
			for k, v := range f.Attrs {
				attrs[k] = v
			}
		}
		attrs[k] = v
	}
	if attrs != nil {
		f.Attrs = attrs
	}
}

// AgainstStored judges f, a report of a device and device time of which stored holds the
// reports already stored: it returns the index of one that covers f (f is a retransmission
// and is not stored again), or -1 with f made ready for a record of its own: merged with the
// first stored report near its position (within conflictM), or, with none there, flagged
// FlagConflict. Both stores
// apply it, so what the pipeline decides holds against what is stored, after a restart too.
func AgainstStored(f *Fix, stored []Fix) int {
	for i := range stored {
		if stored[i].Covers(f) {
			return i
		}
	}
	rf := reportOf(f)
	for i := range stored {
		if rs := reportOf(&stored[i]); rs.near(&rf) {
			f.MergeFrom(&stored[i])
			return -1
		}
	}
	if len(stored) > 0 && !f.HasFlag(FlagConflict) {
		f.Flags = append(slices.Clip(f.Flags), FlagConflict)
	}
	return -1
}

// sameValue compares attribute values as a store gives them back: numbers as numbers whatever
// their Go type, nested values as their JSON.
func sameValue(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		if y, ok := b.(string); ok {
			return x == y
		}
	}
	ja, err := json.Marshal(a)
	if err != nil {
		return false
	}
	jb, err := json.Marshal(b)
	return err == nil && bytes.Equal(ja, jb)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	}
	return 0, false
}

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
	ReasonAncientTime    = "ancient_time"
	ReasonUnknownDevice  = "unknown_device"
)

// RefusedError reports fixes that were refused for good (bad coordinates, a time before
// 2000); the other fixes of the same Submit were stored. Gateways acknowledge such frames
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

// ErrUnavailable: what would judge or store the request is not reachable now (in a cluster,
// no tracker owns the vehicle's partition); nothing was done, try again.
var ErrUnavailable = errors.New("unavailable")
