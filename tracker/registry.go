package tracker

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
)

// Protocols a device may speak.
const (
	ProtocolJT808  = "jt808"
	ProtocolGT06   = "gt06"
	ProtocolOsmAnd = "osmand"
	ProtocolJT600  = "jt600" // Jointech JT600/JT701 trackers and e-seals
)

// Device is a terminal that reports positions. Its ID is the JT/T 808 phone number without
// leading zeros, the GT06 IMEI, the JT600 terminal id without leading zeros, or the OsmAnd id.
//
// TerminalID, Maker and Model are what a JT/T 808 terminal must say about itself when it
// registers (0x0100); empty ones are not checked. RegisteredAt is set by the first accepted
// registration and cleared only by an administrator (ResetRegistration): while it is set,
// another registration is refused, so nobody else is handed the auth code.
type Device struct {
	ID           string    `json:"id"`
	Protocol     string    `json:"protocol"`
	VehicleID    string    `json:"vehicle_id"`
	AuthCode     string    `json:"auth_code,omitempty"`
	TerminalID   string    `json:"terminal_id,omitempty"`
	Maker        string    `json:"maker,omitempty"`
	Model        string    `json:"model,omitempty"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
}

// Vehicle is what customs tracks: a truck, a border resident's car, a patrol vehicle.
type Vehicle struct {
	ID        string         `json:"id"`
	Plate     string         `json:"plate"`
	Kind      string         `json:"kind"`
	CardID    string         `json:"card_id,omitempty"` // IC card read at gates
	Name      string         `json:"name,omitempty"`
	Attrs     map[string]any `json:"attributes,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// Vehicle kinds.
const (
	KindTruck       = "truck"
	KindResidentCar = "resident_car"
	KindPatrol      = "patrol"
)

// DeviceLookup finds a registered device.
type DeviceLookup interface {
	Device(ctx context.Context, id string) (Device, error)
}

// ErrUnknownDevice is returned by Admission for a device nobody registered.
var ErrUnknownDevice = errors.New("unknown device")

// ErrWrongProtocol is returned by Admission when a device is registered for another protocol.
var ErrWrongProtocol = errors.New("device registered for another protocol")

// Admission applies the contract's device rules: a registered device reports; an unregistered
// one is refused unless unknown devices are accepted, in which case it is its own vehicle.
// Gateways call Admit once per connection (or request) and keep the answer.
type Admission struct {
	Devices DeviceLookup
	// Registrations records JT/T 808 registrations (Register); nil: they are checked against
	// the device record only, not recorded, and a terminal may register again.
	Registrations Registrar
	AcceptUnknown bool
}

// Admit returns the device to attribute fixes to. The returned device's VehicleID is never
// empty: a device without a vehicle reports as a vehicle of its own id.
func (a *Admission) Admit(ctx context.Context, protocol, id string) (Device, error) {
	d, err := a.Devices.Device(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		if !a.AcceptUnknown {
			return Device{}, ErrUnknownDevice
		}
		d = Device{ID: id, Protocol: protocol}
	case err != nil:
		return Device{}, err
	case d.Protocol != "" && d.Protocol != protocol:
		return Device{}, ErrWrongProtocol
	}
	if d.VehicleID == "" {
		d.VehicleID = d.ID
	}
	return d, nil
}

// Registration is what a JT/T 808 terminal says about itself in its registration (0x0100).
type Registration struct {
	TerminalID string
	Maker      string
	Model      string
	Plate      string
}

// Registration refusals, each answered with its own 0x8100 result.
var (
	ErrAlreadyRegistered = errors.New("terminal already registered")
	ErrTerminalMismatch  = errors.New("terminal differs from its pre-registered record")
	ErrPlateMismatch     = errors.New("plate differs from the vehicle's")
)

// Registrar records registrations in the device registry.
type Registrar interface {
	Vehicle(ctx context.Context, id string) (Vehicle, error)
	// MarkRegistered sets the device's RegisteredAt to at unless it is set already
	// (ErrAlreadyRegistered); ErrNotFound when there is no such device. It is atomic: of two
	// registrations at once, one wins.
	MarkRegistered(ctx context.Context, id string, at time.Time) error
}

// Register decides a registration of the admitted device d: it must match d's pre-registered
// terminal ID, maker and model where they are set, and the plate of d's vehicle when both are
// known; and d must not be registered already. An accepted registration is recorded at at
// through Registrations; with none, it is only checked. A device admitted as unknown
// (AcceptUnknown) has no record to match or mark.
func (a *Admission) Register(ctx context.Context, d Device, r Registration, at time.Time) error {
	if !d.RegisteredAt.IsZero() {
		return ErrAlreadyRegistered
	}
	for _, f := range [...]struct{ want, got string }{{d.TerminalID, r.TerminalID}, {d.Maker, r.Maker}, {d.Model, r.Model}} {
		if f.want != "" && !strings.EqualFold(strings.TrimSpace(f.want), strings.TrimSpace(f.got)) {
			return ErrTerminalMismatch
		}
	}
	if a.Registrations == nil {
		return nil
	}
	v, err := a.Registrations.Vehicle(ctx, d.VehicleID)
	switch {
	case errors.Is(err, ErrNotFound): // a vehicle of its own: no plate to compare
	case err != nil:
		return err
	case v.Plate != "" && NormalPlate(v.Plate) != NormalPlate(r.Plate):
		return ErrPlateMismatch
	}
	err = a.Registrations.MarkRegistered(ctx, d.ID, at)
	if errors.Is(err, ErrNotFound) && a.AcceptUnknown {
		return nil
	}
	if errors.Is(err, ErrNotFound) {
		return ErrUnknownDevice
	}
	return err
}

// NormalPlate is a plate as compared: upper case, without spaces and the separator dot
// printed on plates ("蒙A·12345" and "蒙a 12345" are "蒙A12345").
func NormalPlate(p string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '·' || r == '•' {
			return -1
		}
		return unicode.ToUpper(r)
	}, p)
}

// Change is an edit of the zones, a declaration or a vehicle, as the store logs it for the
// nodes of a cluster to catch up from: Kind is "zones", "declaration" or "vehicle", Ref the
// declaration's or vehicle's id ("" for zones).
type Change struct {
	Seq  int64
	Kind string
	Ref  string
}
