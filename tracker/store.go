package tracker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
)

// Batch is what the pipeline makes durable in one transaction: fixes together with the events
// and alert changes they caused, so that after a crash either all of them exist or none do.
type Batch struct {
	Fixes  []Fix   // IDs are assigned by Commit
	Events []Event // an event's FixSeq names its fix in Fixes by Seq; Commit sets FixID from it
	Alerts []Alert // upserted by DedupKey; IDs are assigned by Commit
	// Duplicates reports, after Commit, which fixes were already stored (same device and device time).
	Duplicates []bool
}

// EventFixes returns, for each event, the index in Fixes of the fix its FixSeq names, or -1
// when it names none (nil when there are no events). An event naming a fix outside the batch
// is an error: Commit then stores nothing.
func (b *Batch) EventFixes() ([]int, error) {
	if len(b.Events) == 0 {
		return nil, nil
	}
	idx := make([]int, len(b.Events))
	next := 0
	for i := range b.Events {
		idx[i] = -1
		seq := b.Events[i].FixSeq
		if seq == 0 {
			continue
		}
		k := b.fixIndex(seq, next)
		if k < 0 {
			return nil, fmt.Errorf("event %d names fix %d, which is not in the batch", i, seq)
		}
		idx[i], next = k, k
	}
	return idx, nil
}

// fixIndex is the index of the fix with Seq seq, looked for from index from on, then before it:
// the pipeline's events follow their fixes' order, so a batch is resolved in one pass.
func (b *Batch) fixIndex(seq uint64, from int) int {
	for k := from; k < len(b.Fixes); k++ {
		if b.Fixes[k].Seq == seq {
			return k
		}
	}
	for k := range from {
		if b.Fixes[k].Seq == seq {
			return k
		}
	}
	return -1
}

// FixStore keeps positions.
type FixStore interface {
	// Commit stores the batch in one transaction. Fixes already stored (same device and device
	// time) are skipped, marked in b.Duplicates and given the stored copy's ID; every new fix
	// gets a new ID. The events of a fix already stored are skipped too (their ID stays 0): they
	// were stored with it, and a commit retried after its reply was lost must not store them
	// twice.
	Commit(ctx context.Context, b *Batch) error
	// Track returns a vehicle's fixes with from <= time < to, in device-time order.
	Track(ctx context.Context, vehicleID string, from, to time.Time) ([]Fix, error)
	// LatestFixes returns the newest fix of every vehicle.
	LatestFixes(ctx context.Context) ([]Fix, error)
	// SearchArea returns fixes inside the box over the period, at most limit, in time order.
	SearchArea(ctx context.Context, box Box, from, to time.Time, limit int) ([]Fix, error)
}

// Box is a latitude/longitude rectangle.
type Box struct{ MinLat, MinLon, MaxLat, MaxLon float64 }

// RegistryStore keeps vehicles and devices.
type RegistryStore interface {
	DeviceLookup
	CreateDevice(ctx context.Context, d Device) error
	UpdateDevice(ctx context.Context, d Device) error
	DeleteDevice(ctx context.Context, id string) error
	Devices(ctx context.Context) ([]Device, error)
	CreateVehicle(ctx context.Context, v Vehicle) error
	UpdateVehicle(ctx context.Context, v Vehicle) error
	DeleteVehicle(ctx context.Context, id string) error
	Vehicle(ctx context.Context, id string) (Vehicle, error)
	Vehicles(ctx context.Context) ([]Vehicle, error)
}

// ZoneStore keeps geofences. PutZones replaces or adds all zones in one transaction, so an
// import is all-or-nothing; each stored zone's Version is incremented.
type ZoneStore interface {
	PutZones(ctx context.Context, zones []geofence.Zone) ([]geofence.Zone, error)
	DeleteZone(ctx context.Context, id string) error
	Zone(ctx context.Context, id string) (geofence.Zone, error)
	Zones(ctx context.Context) ([]geofence.Zone, error)
}

// EventQuery selects events; empty fields match everything.
type EventQuery struct {
	VehicleID string
	Type      string
	From, To  time.Time
	Limit     int
}

// AlertQuery selects alerts; empty fields match everything.
type AlertQuery struct {
	VehicleID string
	Type      string
	Status    string
	From, To  time.Time
	Limit     int
}

// EventStore and AlertStore read what Commit wrote.
type EventStore interface {
	Events(ctx context.Context, q EventQuery) ([]Event, error)
}

// AlertStore reads alerts and changes their lifecycle.
type AlertStore interface {
	Alerts(ctx context.Context, q AlertQuery) ([]Alert, error)
	Alert(ctx context.Context, id int64) (Alert, error)
	// SetAlertStatus moves an alert along open → acknowledged → resolved.
	SetAlertStatus(ctx context.Context, id int64, status, user, note string, at time.Time) (Alert, error)
}

// User is a person who logs in. Hash is the password's hash, never the password.
type User struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled,omitempty"`
}

// Session is a bearer token's server side. The token itself is never stored, only its hash.
type Session struct {
	TokenHash string
	Username  string
	Role      string
	CreatedAt time.Time
	ExpiresAt time.Time
	LastSeen  time.Time
}

// UserStore keeps users and sessions.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, username string) error
	User(ctx context.Context, username string) (User, error)
	Users(ctx context.Context) ([]User, error)
	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, tokenHash string) (Session, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteUserSessions(ctx context.Context, username string) error
}

// AuditRecord is one line of the audit log. Hash chains it to the previous record:
// Hash = SHA-256(PrevHash || canonical JSON of the record without Hash).
type AuditRecord struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Object   string          `json:"object"`
	Result   string          `json:"result"`
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// AuditStore is append-only: there is no update or delete.
type AuditStore interface {
	// AppendAudit sets Seq, PrevHash and Hash and stores the record.
	AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error)
	Audit(ctx context.Context, afterSeq int64, limit int) ([]AuditRecord, error)
}

// Store is everything BorderWatch keeps. The embedded SQLite store and the PostgreSQL store
// implement it and pass the same conformance suite.
type Store interface {
	FixStore
	RegistryStore
	ZoneStore
	EventStore
	AlertStore
	DeclarationStore
	UserStore
	AuditStore
	// Ping reports whether the store can take writes now (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}
