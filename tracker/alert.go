package tracker

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ErrTransition is returned for a lifecycle change the alert's status does not allow
// (anything after resolved, or acknowledging twice).
var ErrTransition = errors.New("alert status change not allowed")

// CanTransition reports whether an alert may move from one status to another.
func CanTransition(from, to string) bool {
	switch to {
	case StatusAcknowledged:
		return from == StatusOpen
	case StatusResolved:
		return from == StatusOpen || from == StatusAcknowledged
	}
	return false
}

// Alert types of the first version.
const (
	AlertDetour                    = "detour"
	AlertUnauthorizedStop          = "unauthorized_stop"
	AlertCrossingMismatch          = "crossing_mismatch"
	AlertBorderCrossingOutsidePort = "border_crossing_outside_port"
	AlertSignalLost                = "signal_lost"
	AlertGateMismatch              = "gate_mismatch"
	AlertOverstay                  = "overstay"
	AlertMeeting                   = "meeting"
	// AlertDeviceConflict: one device reported two different positions for the same device
	// time, a broken device or a cloned one; both reports are stored (the second flagged
	// FlagConflict). One alert per device and hour of device time.
	AlertDeviceConflict = "device_conflict"
	// AlertDeviceClockAhead: a device reported times more than the pipeline's MaxClockAhead
	// ahead of the server clock; its fixes are evaluated as of their receipt (FlagRetimed). A
	// warning, one per vehicle and episode (tracker/clockahead.go).
	AlertDeviceClockAhead = "device_clock_ahead"
	// AlertSealOpened: an e-seal unlocked or tampered with outside its declaration's yard and
	// port (tracker/rules/seal.go).
	AlertSealOpened = "seal_opened"
	// AlertDriverMismatch: on a declaration that names the driver (DriverCard), another
	// driver's card is in the terminal's reader (tracker/rules/driver.go). One alert per
	// declaration and card.
	AlertDriverMismatch = "driver_mismatch"
	// AlertSOS: someone pressed the device's emergency button (the fix flag FlagSOS, or an
	// EventDeviceAlarm naming it), critical; one alert per incident (tracker/rules/sos.go).
	AlertSOS = "sos"
	// AlertBorderCrossingUnverified: the border was crossed between two fixes so far apart in
	// time that the vehicle could have driven through a port (or longer apart than the rules'
	// CrossingGapMax): where it crossed is unknown. A warning, with the gap and both fixes.
	AlertBorderCrossingUnverified = "border_crossing_unverified"
	// AlertWeightMismatch: a weighbridge's net weight differs from the declared one by more
	// than the cargo's tolerance; one per declaration (tracker/rules/weighing.go).
	AlertWeightMismatch = "weight_mismatch"
	// AlertWeighingSkipped: a declared truck went from port to yard without a weighbridge
	// reading; one per declaration.
	AlertWeighingSkipped = "weighing_skipped"
	// AlertDoubleWeighing: two scales weighed one truck on one trip differently beyond the
	// scales' tolerance: a load changed on the way, or a scale that drifted (named in the
	// evidence when its readings disagree with the others systematically). One per declaration.
	AlertDoubleWeighing = "double_weighing"
	// AlertEmergencyCrossing: an emergency declaration was made (a patient, the injured): the
	// on-duty officers of its port are told at once (critical, so the wall and tablets sound and
	// webhooks page). One per declaration.
	AlertEmergencyCrossing = "emergency_crossing"
	// AlertEmergencyReview: an emergency window ended and the vehicle did, during it, what the
	// suspended rules would have alerted for; the evidence lists each. One per declaration.
	AlertEmergencyReview = "emergency_review"
)

// Severities, lowest first.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Alert lifecycle: open → acknowledged → resolved.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Alert is a rule's finding about a vehicle. DedupKey makes one incident one alert: a rule
// that sees the same incident again updates the alert with that key instead of adding one.
type Alert struct {
	ID            int64           `json:"id"`
	Type          string          `json:"type"`
	Severity      string          `json:"severity"`
	Status        string          `json:"status"`
	VehicleID     string          `json:"vehicle_id"`
	Time          time.Time       `json:"time"`
	UpdatedAt     time.Time       `json:"updated_at"`
	ZoneID        *string         `json:"zone_id"`
	DeclarationID *string         `json:"declaration_id"`
	Late          bool            `json:"late"`
	Lat           float64         `json:"lat"`
	Lon           float64         `json:"lon"`
	Message       string          `json:"message"`
	DedupKey      string          `json:"dedup_key"`
	Active        bool            `json:"active"` // the condition still holds (e.g. still off the corridor)
	Evidence      json.RawMessage `json:"evidence"`
	AckedBy       string          `json:"acked_by,omitempty"`
	AckedAt       *time.Time      `json:"acked_at,omitempty"`
	ResolvedBy    string          `json:"resolved_by,omitempty"`
	ResolvedAt    *time.Time      `json:"resolved_at,omitempty"`
	Note          string          `json:"note,omitempty"`
}

// Confirmation is an officer's word that an alert was an offence (POST /alerts/:id/confirm):
// the alert is resolved with it, and the vehicle counts as a repeat offender (tracker/risk).
type Confirmation struct {
	AlertID   int64     `json:"alert_id"`
	VehicleID string    `json:"vehicle_id"`
	Plate     string    `json:"plate"` // the vehicle's plate when confirmed: a later vehicle with it inherits
	Type      string    `json:"type"`  // the alert's
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Note      string    `json:"note,omitempty"`
}

// ConfirmedNote is what a confirmation appends to its alert's note.
func ConfirmedNote(note string) string {
	if note = strings.TrimSpace(note); note != "" {
		return "confirmed as an offence: " + note
	}
	return "confirmed as an offence"
}
