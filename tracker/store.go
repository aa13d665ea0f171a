package tracker

import (
	"encoding/json"
	"fmt"
	"time"
)

// Batch is what the pipeline makes durable in one transaction: fixes together with the events
// and alert changes they caused, so that after a crash either all of them exist or none do.
type Batch struct {
	Fixes  []Fix   // IDs are assigned by Commit
	Events []Event // an event's FixSeq names its fix in Fixes by Seq; Commit sets FixID from it
	Alerts []Alert // upserted by DedupKey; IDs are assigned by Commit
	// Duplicates reports, after Commit, which fixes were already stored: a stored report of the
	// same device and device time covers them (Fix.Covers). A report of a stored device time
	// that none covers is stored too (see AgainstStored).
	Duplicates []bool
	// Encoded, when it is as long as Fixes, holds each fix's encoding by the store's
	// FixEncoder, made by the pipeline on the submitting goroutines; a store that encodes
	// nothing ahead ignores it.
	Encoded [][]byte
}

// FixEncoder is a Committer that can encode a fix before its Commit. The pipeline then
// encodes each fix on the goroutine that submitted it, in parallel with the others, and the
// group commit, which every submitter of the group waits for, only copies the bytes.
type FixEncoder interface {
	// EncodeFix appends what Commit would encode of f to dst. It must be safe to call
	// concurrently with everything else, Commit included.
	EncodeFix(dst []byte, f *Fix) ([]byte, error)
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

// Box is a latitude/longitude rectangle.
type Box struct{ MinLat, MinLon, MaxLat, MaxLon float64 }

// EventQuery selects events; empty fields match everything.
type EventQuery struct {
	VehicleID string
	Type      string
	From, To  time.Time
	Limit     int
	// NewestFirst returns the newest first (and Limit keeps the newest) instead of the oldest.
	NewestFirst bool
}

// AlertQuery selects alerts; empty fields match everything.
type AlertQuery struct {
	VehicleID string
	Type      string
	Status    string
	From, To  time.Time
	Limit     int
	Severity  string
	// VehicleIDs: alerts of any of these vehicles (a plate search names several); empty: any.
	VehicleIDs []string
	// Zones: alerts at one of these zones, or on a declaration that names one of them as its
	// port, corridor or yard (a port's alerts: the port and the zones that belong to it).
	Zones []string
	// Offset skips that many alerts of the order (newest first), for paging.
	Offset int
}

// User is a person who logs in. Hash is the password's hash, never the password. User names
// are unique without regard to case.
type User struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled,omitempty"`
	// MustChange: the password was given to the user (generated on first start) and must be
	// changed before anything else.
	MustChange bool `json:"must_change,omitempty"`
	// PasswordChangedAt is when the password was set; passwords expire after a configured age.
	PasswordChangedAt time.Time `json:"password_changed_at"`
	// Unit is UnitDistrict or a port zone's id: command and patrol users of a port see only
	// what is in that port's area.
	Unit string `json:"unit"`
	// TOTPSecret is the base32 secret of the second factor (RFC 6238): pending until
	// TOTPConfirmed, and never shown again after enrolment.
	TOTPSecret    string `json:"-"`
	TOTPConfirmed bool   `json:"totp,omitempty"`
	// TOTPLastStep is the time step of the last code accepted: a code is good once.
	TOTPLastStep int64 `json:"-"`
	// TOTPRecovery are the hashes of the unused recovery codes.
	TOTPRecovery []string `json:"-"`
	// DeviceID is the registered device a patrol user's tablet reports its position under
	// (OsmAnd's id): the wall shows the patrol where that device's last fix is.
	DeviceID string `json:"device_id,omitempty"`
}

// LoginFailures counts the failed logins of one user name (lower case) from one address, in
// the window that began Since; Username "" counts the address's failures over every name.
type LoginFailures struct {
	Username string
	Addr     string
	Count    int
	Since    time.Time
}

// UnitDistrict is the unit of a user who sees the whole district.
const UnitDistrict = "district"

// Session is a bearer token's server side. The token itself is never stored, only its hash.
type Session struct {
	TokenHash string
	Username  string
	Role      string
	CreatedAt time.Time
	ExpiresAt time.Time
	LastSeen  time.Time
	// MustChange: the session may only change its user's password (first login, expired).
	MustChange bool
	// TOTPEnrol: the session may only enrol its user's second factor, which their role requires.
	TOTPEnrol bool
}

// AuditRecord is one line of the audit log. Hash chains it to the previous record: the
// HMAC-SM3 under the audit key of PrevHash and the record's content (AuditKey.Seal), or for
// records written before the keyed chain a plain SHA-256 (PlainChainHash).
type AuditRecord struct {
	Seq    int64           `json:"seq"`
	Time   time.Time       `json:"time"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Object string          `json:"object"`
	Result string          `json:"result"`
	Detail json.RawMessage `json:"detail,omitempty"`
	// Addr is the client's IP address when the action came over HTTP.
	Addr string `json:"addr,omitempty"`
	// Alg is the chain's algorithm (AuditHMACSM3, or AuditPlain for old records) and KeyID
	// the key that sealed the record (AuditKey.ID).
	Alg      string `json:"alg,omitempty"`
	KeyID    string `json:"key_id,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}
