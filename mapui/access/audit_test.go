package access_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// tampered reads the audit log as if someone had changed it in the database: edit gets each
// record as read and returns false to drop it.
type tampered struct {
	access.Store
	edit func(r *tracker.AuditRecord) bool
}

func (t tampered) Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	recs, err := t.Store.Audit(ctx, afterSeq, limit)
	var out []tracker.AuditRecord
	for _, r := range recs {
		if t.edit(&r) {
			out = append(out, r)
		}
	}
	return out, err
}

func TestVerifyAudit(t *testing.T) {
	svc, st := newService(t)
	for i := range 6 {
		svc.Record(t.Context(), "admin", "vehicle.update", fmt.Sprint("vehicle:v", i), "ok", map[string]int{"n": i})
	}
	if n, broken, err := svc.VerifyAudit(t.Context()); n != 6 || broken != 0 || err != nil {
		t.Fatalf("intact log: VerifyAudit = %d, %d, %v", n, broken, err)
	}
	for _, tc := range []struct {
		name   string
		edit   func(r *tracker.AuditRecord) bool
		broken int64
	}{
		{"actor changed", func(r *tracker.AuditRecord) bool {
			if r.Seq == 3 {
				r.Actor = "patrol1"
			}
			return true
		}, 3},
		{"detail changed", func(r *tracker.AuditRecord) bool {
			if r.Seq == 6 {
				r.Detail = json.RawMessage(`{"n":7}`)
			}
			return true
		}, 6},
		{"record deleted", func(r *tracker.AuditRecord) bool { return r.Seq != 4 }, 4},
		{"record rehashed", func(r *tracker.AuditRecord) bool {
			if r.Seq == 2 {
				r.Result = "denied"
				r.Hash = tracker.ChainHash(*r)
			}
			return true
		}, 3},
	} {
		n, broken, err := access.New(tampered{st, tc.edit}, access.Options{}).VerifyAudit(t.Context())
		if broken != tc.broken || err != nil {
			t.Errorf("%s: VerifyAudit = %d, %d, %v; want record %d named", tc.name, n, broken, err, tc.broken)
		}
	}
}

// TestVerifyAuditKnownChain verifies a chain hashed before access existed: the scheme is the
// stores' tracker.ChainHash, and chains already written must keep verifying.
func TestVerifyAuditKnownChain(t *testing.T) {
	recs := []tracker.AuditRecord{
		{Seq: 1, Time: time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC), Actor: "admin", Action: "login", Object: "user:admin", Result: "ok",
			Hash: "3a6dfe7a9db7c033ad5e9e0e49a8e7d17cdafffd9c74a09f88939012030a3957"},
		{Seq: 2, Time: time.Date(2025, 3, 1, 8, 1, 0, 0, time.UTC), Actor: "admin", Action: "user.create", Object: "user:patrol1", Result: "ok",
			Detail:   json.RawMessage(`{"role":"patrol"}`),
			PrevHash: "3a6dfe7a9db7c033ad5e9e0e49a8e7d17cdafffd9c74a09f88939012030a3957",
			Hash:     "d61e0500c58fad93355388be636cea1322d61f17f8a3a6542ef423d97e52ff9f"},
	}
	n, broken, err := access.New(fixedLog{recs: recs}, access.Options{}).VerifyAudit(t.Context())
	if n != 2 || broken != 0 || err != nil {
		t.Errorf("VerifyAudit = %d, %d, %v; want 2 records intact", n, broken, err)
	}
}

// fixedLog is a store whose audit log holds the records given; it has nothing else.
type fixedLog struct {
	access.Store
	recs []tracker.AuditRecord
}

func (l fixedLog) Audit(_ context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	i, _ := slices.BinarySearchFunc(l.recs, afterSeq+1, func(r tracker.AuditRecord, seq int64) int { return int(r.Seq - seq) })
	return l.recs[i:min(len(l.recs), i+limit)], nil
}
