package tracker

import (
	"errors"
	"time"
)

// ErrStale is returned when an object changed since it was read (its Version moved on): the
// caller reads it again and decides again.
var ErrStale = errors.New("changed by someone else meanwhile; read it again")

// TargetOrder is a targeting order (布控指令): this vehicle is to be inspected, for this
// reason, at this place, until this time. Package tracker/targeting runs its lifecycle.
type TargetOrder struct {
	ID        string `json:"id"`
	VehicleID string `json:"vehicle_id,omitempty"`
	// Plate targets a vehicle not (yet) registered; a registered vehicle's is filled in too.
	Plate string `json:"plate,omitempty"`
	// Reason is why: TargetReasonAlert (AlertID names it), risk list, intelligence or a random draw.
	Reason  string `json:"reason"`
	AlertID int64  `json:"alert_id,omitempty"`
	// Source is what the hit statistics count it under: the alert's type for an alert, else
	// the reason.
	Source string `json:"source"`
	Action string `json:"action"`
	Level  string `json:"level"` // TargetLevelDistrict or TargetLevelPort: who issued it
	// PortID is the port zone whose teams act: the issuing port's; for a district order the one
	// it named, else the port where it fired ("" until then).
	PortID     string    `json:"port_id"`
	IssuedBy   string    `json:"issued_by"`
	Note       string    `json:"note,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ValidUntil time.Time `json:"valid_until"`
	Status     string    `json:"status"`
	// FiredAt, FiredVia and FiredZoneID say where the vehicle was found: a gate read, an
	// arrival by GPS, a declaration, or the issue itself (intercept now).
	FiredAt     *time.Time `json:"fired_at,omitempty"`
	FiredVia    string     `json:"fired_via,omitempty"`
	FiredZoneID string     `json:"fired_zone_id,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	ClosedBy    string     `json:"closed_by,omitempty"`
	// Photos are the SHA-256 (hex) of the inspection's photos, uploaded before the result.
	Photos []string `json:"photos,omitempty"`
	// Result is the inspection's, once reported.
	Result *InspectionResult `json:"result,omitempty"`
	// TakenOverBy and TakenOverAt say a district user took over this port order (its Level
	// became the district's); TakeOverNote is why.
	TakenOverBy  string     `json:"taken_over_by,omitempty"`
	TakenOverAt  *time.Time `json:"taken_over_at,omitempty"`
	TakeOverNote string     `json:"take_over_note,omitempty"`
	// Version counts the order's changes: an update must name the version it read.
	Version int `json:"version"`
}

// Targeting order reasons.
const (
	TargetReasonAlert        = "alert"
	TargetReasonRisk         = "risk"
	TargetReasonIntelligence = "intelligence"
	TargetReasonRandom       = "random"
)

// Targeting order actions.
const (
	TargetInspectNextCrossing = "inspect_next_crossing"
	TargetInspectAtYard       = "inspect_at_yard"
	TargetInterceptNow        = "intercept_now"
)

// Levels of the two-level command: the district (直属关) and a port (隶属关).
const (
	TargetLevelDistrict = "district"
	TargetLevelPort     = "port"
)

// Targeting order statuses: active until the vehicle is found (fired), then closed by an
// inspection result; or cancelled, or expired unfound at ValidUntil.
const (
	TargetActive    = "active"
	TargetFired     = "fired"
	TargetClosed    = "closed"
	TargetCancelled = "cancelled"
	TargetExpired   = "expired"
)

// InspectionResult is what an inspection found.
type InspectionResult struct {
	Found    bool      `json:"found"`
	Category string    `json:"category"`
	Note     string    `json:"note,omitempty"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Inspection result categories.
const (
	FindingUndeclaredGoods = "undeclared_goods"
	FindingProhibitedItems = "prohibited_items"
	FindingMisdeclared     = "misdeclared_grade_or_weight"
	FindingNone            = "none"
)

// TargetQuery selects orders; empty fields match everything. From and To bound CreatedAt.
type TargetQuery struct {
	Status    string
	VehicleID string
	Plate     string
	PortID    string
	From, To  time.Time
	Limit     int
}

// Assignment sends a port team or a patrol user to an order's vehicle.
type Assignment struct {
	ID      string `json:"id"`
	OrderID string `json:"order_id"`
	PortID  string `json:"port_id"`
	// Team is the port unit sent (any of its patrols may accept); User a patrol user by name.
	Team       string     `json:"team,omitempty"`
	User       string     `json:"user,omitempty"`
	Status     string     `json:"status"`
	AssignedBy string     `json:"assigned_by"`
	AssignedAt time.Time  `json:"assigned_at"`
	AcceptedBy string     `json:"accepted_by,omitempty"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	ArrivedAt  *time.Time `json:"arrived_at,omitempty"`
	ReportedAt *time.Time `json:"reported_at,omitempty"`
	// Escalation is how far an unaccepted assignment went up: "" not yet, then
	// TargetLevelPort (the port's command), then TargetLevelDistrict.
	Escalation  string     `json:"escalation,omitempty"`
	EscalatedAt *time.Time `json:"escalated_at,omitempty"`
	Version     int        `json:"version"`
}

// Assignment statuses, in order; cancelled when its order is cancelled or expires.
const (
	AssignmentAssigned  = "assigned"
	AssignmentAccepted  = "accepted"
	AssignmentArrived   = "arrived"
	AssignmentReported  = "reported"
	AssignmentCancelled = "cancelled"
)

// AssignmentQuery selects assignments; empty fields match everything.
type AssignmentQuery struct {
	OrderID string
	Status  string
	Limit   int
}

// Photo is an inspection photo, named by the SHA-256 of its bytes.
type Photo struct {
	OrderID     string    `json:"order_id"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Data        []byte    `json:"-"`
}
