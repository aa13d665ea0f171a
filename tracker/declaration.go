package tracker

import (
	"time"
)

// Declaration is a trip customs cleared: this vehicle, in this direction, through this port,
// along this corridor, to or from this yard, within this window.
type Declaration struct {
	ID             string    `json:"id"`
	VehicleID      string    `json:"vehicle_id"`
	Direction      string    `json:"direction"` // "inbound" into China or "outbound"
	PortZoneID     string    `json:"port_zone_id"`
	CorridorZoneID string    `json:"corridor_zone_id"`
	YardZoneID     string    `json:"yard_zone_id"`
	ValidFrom      time.Time `json:"valid_from"`
	ValidTo        time.Time `json:"valid_to"`
	// Type is DeclarationNormal or DeclarationEmergency (patients, the injured: handled fast):
	// during an emergency's validity the rules in SuspendedRules do not alert for the vehicle
	// (tracker/rules/emergency.go).
	Type  string `json:"type"`
	Cargo string `json:"cargo"` // what the truck carries, as declared
	Grade string `json:"grade"` // the cargo's grade or quality class, as declared
	// DeclaredNetKg is the declared net weight; nil: not declared.
	DeclaredNetKg *float64 `json:"declared_net_kg,omitempty"`
	// DriverCard is the qualification certificate number (or national ID number) on the IC card
	// of the driver named for the trip; "": any driver.
	DriverCard   string     `json:"driver_card"`
	SealID       string     `json:"seal_id"` // the e-seal on the cargo
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	// SuspendedRules lists the alert types an emergency declaration suspends; not stored: it
	// follows from Type (EmergencySuspends).
	SuspendedRules []string `json:"suspended_rules,omitempty"`
}

// EmergencySuspends are the rules an emergency crossing is exempt from: its corridor and its
// stops. Crossing at another port or outside one still alerts.
var EmergencySuspends = []string{AlertDetour, AlertUnauthorizedStop}

// WithSuspended is d with SuspendedRules filled in from its type.
func (d Declaration) WithSuspended() Declaration {
	d.SuspendedRules = nil
	if d.Type == DeclarationEmergency {
		d.SuspendedRules = append([]string{}, EmergencySuspends...)
	}
	return d
}

// Declaration statuses: active until completed (arrival at the yard inbound, exit at the
// port outbound), expired (past valid_to), or cancelled.
const (
	DeclarationActive    = "active"
	DeclarationCompleted = "completed"
	DeclarationExpired   = "expired"
	DeclarationCancelled = "cancelled"
)

// Declaration types.
const (
	DeclarationNormal    = "normal"
	DeclarationEmergency = "emergency"
)

// Directions of declarations and border crossings.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// ActiveAt reports whether d covers time t.
func (d *Declaration) ActiveAt(t time.Time) bool {
	return d.Status == DeclarationActive && !t.Before(d.ValidFrom) && t.Before(d.ValidTo)
}

// DeclarationQuery selects declarations; empty fields match everything.
type DeclarationQuery struct {
	VehicleID string
	Status    string
	// ClosedFrom: declarations closed at or after it (the rules restore the trips just over).
	ClosedFrom time.Time
	Limit      int
}
