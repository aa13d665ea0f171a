package tracker

import (
	"context"
	"errors"
	"time"
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
type Device struct {
	ID        string    `json:"id"`
	Protocol  string    `json:"protocol"`
	VehicleID string    `json:"vehicle_id"`
	AuthCode  string    `json:"auth_code,omitempty"`
	CreatedAt time.Time `json:"created_at"`
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
	Devices       DeviceLookup
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
