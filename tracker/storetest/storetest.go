// Package storetest is the conformance suite every Store passes: the embedded SQLite
// store and the PostgreSQL store are checked by the same tests, so the server behaves the
// same on either.
//
// Semantics the suite pins down beyond the comments on Store:
//   - Times come back in UTC with at least microsecond precision; floats exactly.
//   - A fix without flags or attributes may come back with nil or empty Flags and Attrs;
//     attribute values come back as JSON decodes them (numbers as float64).
//   - Commit: Duplicates has one entry per fix; a fix that a report of the same device and
//     device time covers, stored earlier or earlier in the same batch, is a duplicate and is not
//     stored again. Reports of one device time come back from Track in the order stored.
//     An event's FixSeq names the fix of the batch with that Seq and sets its FixID; FixSeq 0
//     keeps the FixID given; a FixSeq naming no fix of the batch fails the whole Commit and
//     nothing of the batch is stored.
//   - Alerts: a new alert without Status is open. An alert whose DedupKey matches an alert that
//     is not resolved updates it and takes its ID: Time, Status and who handled it are kept;
//     Type, Severity, Active, Message, Evidence, Lat, Lon, Late and UpdatedAt are replaced, ZoneID and
//     DeclarationID too when given. A resolved alert's key starts a new alert.
//   - SetAlertStatus allows open → acknowledged, open → resolved and acknowledged → resolved;
//     anything else is tracker.ErrTransition. It records user and time (AckedBy/AckedAt or
//     ResolvedBy/ResolvedAt), sets UpdatedAt to the time and appends a non-empty note to Note
//     (a newline between notes).
//   - Declarations: new ones without Status are active; CloseDeclaration of one that is not
//     active is tracker.ErrTransition and changes nothing.
//   - Lists: Track and SearchArea in time order; Events oldest first; Alerts newest first;
//     Declarations latest ValidFrom first; LatestFixes by vehicle ID; Devices, Vehicles,
//     Zones by ID; Users by username; Audit by Seq. Time ranges are [From, To); a zero bound is open. Limit <= 0 means no limit.
//     SearchArea's box includes its edges.
//   - Registry, users and sessions: creating an existing key is tracker.ErrConflict; reading,
//     updating or deleting a missing one is tracker.ErrNotFound. Updates keep CreatedAt; a
//     zero CreatedAt on create is set to the current time.
//   - Zones: PutZones sets Version to the previous version plus one (1 for a new zone) and
//     UpdatedAt, and returns the stored zones; a batch with a zone without ID or geometry fails
//     and stores none of the batch.
//   - Audit: Seq increases from 1 without gaps; each record's PrevHash is the previous Hash
//     ("" for the first) and the record is sealed with the key given to AppendAudit
//     (tracker.AuditKey.Seal) as read back, also when records are appended concurrently; without
//     a key AppendAudit is tracker.ErrNoAuditKey and stores nothing. Audit(afterSeq, limit)
//     returns records with Seq > afterSeq; AuditHead the last record (zero when there is none).
//   - Targeting orders and assignments: created at Version 1; an update names the version it
//     read and stores the next, or is tracker.ErrStale when another update came first
//     (tracker.ErrNotFound when there is no such object). Lists newest first. Photos are
//     keyed by order and SHA-256: the same again is stored once, another order's is not found.
package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Run runs the suite. open must return a new, empty store for each call and close it when
// the test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Ping", testPing},
		{"CommitFixes", testCommitFixes},
		{"DuplicatesInBatch", testDuplicatesInBatch},
		{"ReportsOfOneTime", testReportsOfOneTime},
		{"FixRoundTrip", testFixRoundTrip},
		{"Track", testTrack},
		{"LatestFixes", testLatestFixes},
		{"SearchArea", testSearchArea},
		{"Events", testEvents},
		{"CommitAllOrNothing", testCommitAllOrNothing},
		{"AlertDedup", testAlertDedup},
		{"AlertLifecycle", testAlertLifecycle},
		{"AlertQuery", testAlertQuery},
		{"AlertConfirmations", testAlertConfirmations},
		{"Devices", testDevices},
		{"DeviceRegistration", testDeviceRegistration},
		{"Vehicles", testVehicles},
		{"Zones", testZones},
		{"ZonesAllOrNothing", testZonesAllOrNothing},
		{"Declarations", testDeclarations},
		{"Weighings", testWeighings},
		{"Webhooks", testWebhooks},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"LoginLockouts", testLoginLockouts},
		{"Audit", testAudit},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditNoKey", testAuditNoKey},
		{"ConcurrentCommits", testConcurrentCommits},
		{"Outbox", testOutbox},
		{"Targets", testTargets},
		{"Assignments", testAssignments},
		{"Photos", testPhotos},
		{"DayCounts", testDayCounts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func testPing(t *testing.T, s Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// base is a fixed instant with a millisecond part, so precision loss shows.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func fix(dev, veh string, at time.Time, lat, lon float64) tracker.Fix {
	return tracker.Fix{
		VehicleID:  veh,
		DeviceID:   dev,
		Protocol:   tracker.ProtocolJT808,
		Time:       at,
		ReceivedAt: at.Add(1500 * time.Millisecond),
		Lat:        lat,
		Lon:        lon,
		SpeedKmh:   42.5,
		Heading:    271,
		AltitudeM:  1012.25,
		Valid:      true,
	}
}

func commit(t *testing.T, s Store, b *tracker.Batch) {
	t.Helper()
	if err := s.Commit(t.Context(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func track(t *testing.T, s Store, veh string, from, to time.Time) []tracker.Fix {
	t.Helper()
	got, err := s.Track(t.Context(), veh, from, to)
	if err != nil {
		t.Fatalf("Track(%s, %v, %v): %v", veh, from, to, err)
	}
	return got
}

// normJSON decodes v's JSON encoding, so values compare as a store gives them back.
func normJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return out
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return reflect.DeepEqual(normJSON(t, a), normJSON(t, b))
}

func sameRaw(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b) || string(a)+string(b) == "null"
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func sameTime(a, b time.Time) bool {
	return a.Equal(b) && b.Location() == time.UTC
}

// checkFix reports how got differs from want; IDs are compared when want has one.
func checkFix(t *testing.T, want, got tracker.Fix) {
	t.Helper()
	if want.ID != 0 && got.ID != want.ID {
		t.Errorf("fix ID = %d, want %d", got.ID, want.ID)
	}
	if got.VehicleID != want.VehicleID || got.DeviceID != want.DeviceID || got.Protocol != want.Protocol {
		t.Errorf("fix %d ids = %q/%q/%q, want %q/%q/%q", want.ID, got.VehicleID, got.DeviceID, got.Protocol,
			want.VehicleID, want.DeviceID, want.Protocol)
	}
	if !sameTime(want.Time, got.Time) || !sameTime(want.ReceivedAt, got.ReceivedAt) {
		t.Errorf("fix %d times = %v / %v, want %v / %v in UTC", want.ID, got.Time, got.ReceivedAt, want.Time.UTC(), want.ReceivedAt.UTC())
	}
	if got.Lat != want.Lat || got.Lon != want.Lon || got.SpeedKmh != want.SpeedKmh || got.Heading != want.Heading || got.AltitudeM != want.AltitudeM {
		t.Errorf("fix %d numbers = %v %v %v %v %v, want %v %v %v %v %v", want.ID,
			got.Lat, got.Lon, got.SpeedKmh, got.Heading, got.AltitudeM,
			want.Lat, want.Lon, want.SpeedKmh, want.Heading, want.AltitudeM)
	}
	if got.Valid != want.Valid || got.Late != want.Late {
		t.Errorf("fix %d valid/late = %v/%v, want %v/%v", want.ID, got.Valid, got.Late, want.Valid, want.Late)
	}
	if !(len(got.Flags) == 0 && len(want.Flags) == 0) && !reflect.DeepEqual(got.Flags, want.Flags) {
		t.Errorf("fix %d flags = %q, want %q", want.ID, got.Flags, want.Flags)
	}
	if !(len(got.Attrs) == 0 && len(want.Attrs) == 0) && !sameJSON(t, got.Attrs, want.Attrs) {
		t.Errorf("fix %d attrs = %v, want %v", want.ID, got.Attrs, want.Attrs)
	}
}

func fixTimes(fixes []tracker.Fix) []time.Time {
	out := make([]time.Time, len(fixes))
	for i, f := range fixes {
		out[i] = f.Time
	}
	return out
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}
