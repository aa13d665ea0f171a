package access_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// tampered reads the audit log as if someone had changed it in the database: edit gets the
// records as read and returns what the database would hold.
type tampered struct {
	access.Store
	edit func(recs []tracker.AuditRecord) []tracker.AuditRecord
}

func (t tampered) Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	recs, err := t.Store.Audit(ctx, 0, 0)
	recs = t.edit(recs)
	i, _ := slices.BinarySearchFunc(recs, afterSeq+1, func(r tracker.AuditRecord, seq int64) int { return int(r.Seq - seq) })
	return recs[i:min(len(recs), i+limit)], err
}

// rehash recomputes the plain SHA-256 chain from recs[from] on, as anyone with the database can.
func rehash(recs []tracker.AuditRecord, from int) {
	for i := from; i < len(recs); i++ {
		if i > 0 {
			recs[i].PrevHash = recs[i-1].Hash
		}
		recs[i].Hash = tracker.PlainChainHash(recs[i])
	}
}

func TestVerifyAudit(t *testing.T) {
	svc, st := newService(t)
	ctx := access.WithClientAddr(t.Context(), "192.0.2.10")
	for i := range 6 {
		if err := svc.Record(ctx, "admin", "vehicle.update", fmt.Sprint("vehicle:v", i), "ok", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := svc.VerifyAudit(t.Context()); rep.Records != 6 || !rep.OK || rep.FirstBroken != 0 || rep.Unkeyed != 0 || rep.KeyID != auditKey.ID() || err != nil {
		t.Fatalf("intact log: VerifyAudit = %+v, %v", rep, err)
	}
	for _, tc := range []struct {
		name   string
		edit   func(recs []tracker.AuditRecord)
		broken int64
	}{
		{"actor changed", func(recs []tracker.AuditRecord) { recs[2].Actor = "patrol1" }, 3},
		{"detail changed", func(recs []tracker.AuditRecord) { recs[5].Detail = json.RawMessage(`{"n":7}`) }, 6},
		{"address changed", func(recs []tracker.AuditRecord) { recs[4].Addr = "198.51.100.9" }, 5},
		// The plain chain fell to this (found only at the next record, and not at all when the
		// attacker rehashed the rest); the keyed chain finds the record itself.
		{"record rehashed", func(recs []tracker.AuditRecord) {
			recs[1].Result = "denied"
			rehash(recs, 1)
		}, 2},
		{"record rehashed as unkeyed", func(recs []tracker.AuditRecord) {
			recs[1].Result = "denied"
			recs[1].Alg, recs[1].KeyID = "", ""
			rehash(recs, 1)
		}, 2},
	} {
		st := tampered{st, func(recs []tracker.AuditRecord) []tracker.AuditRecord { tc.edit(recs); return recs }}
		rep, err := access.New(st, access.Options{AuditKey: auditKey}).VerifyAudit(t.Context())
		if rep.OK || rep.FirstBroken != tc.broken || rep.Records != tc.broken-1 || rep.Problem == "" || err != nil {
			t.Errorf("%s: VerifyAudit = %+v, %v; want record %d named", tc.name, rep, err, tc.broken)
		}
	}
	deleted := tampered{st, func(recs []tracker.AuditRecord) []tracker.AuditRecord { return slices.Delete(recs, 3, 4) }}
	if rep, err := access.New(deleted, access.Options{AuditKey: auditKey}).VerifyAudit(t.Context()); rep.OK || rep.FirstBroken != 4 || err != nil {
		t.Errorf("record deleted: VerifyAudit = %+v, %v; want record 4 named", rep, err)
	}
}

// TestVerifyAuditWrongKey verifies with another key than the log was sealed with: it fails at the
// first record and says the key is wrong.
func TestVerifyAuditWrongKey(t *testing.T) {
	svc, st := newService(t)
	if err := svc.Record(t.Context(), "admin", "zone.delete", "zone:z1", "ok", nil); err != nil {
		t.Fatal(err)
	}
	other, _ := tracker.NewAuditKey([]byte("another audit key of 32 bytes or more"))
	rep, err := access.New(st, access.Options{AuditKey: other}).VerifyAudit(t.Context())
	if rep.OK || rep.FirstBroken != 1 || !strings.Contains(rep.Problem, "wrong audit key") || !strings.Contains(rep.Problem, auditKey.ID()) || err != nil {
		t.Errorf("VerifyAudit with the wrong key = %+v, %v", rep, err)
	}
}

// legacyChain was hashed before the keyed chain, with plain SHA-256: chains already written
// must keep verifying after the upgrade.
var legacyChain = []tracker.AuditRecord{
	{Seq: 1, Time: time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC), Actor: "admin", Action: "login", Object: "user:admin", Result: "ok",
		Hash: "3a6dfe7a9db7c033ad5e9e0e49a8e7d17cdafffd9c74a09f88939012030a3957"},
	{Seq: 2, Time: time.Date(2025, 3, 1, 8, 1, 0, 0, time.UTC), Actor: "admin", Action: "user.create", Object: "user:patrol1", Result: "ok",
		Detail:   json.RawMessage(`{"role":"patrol"}`),
		PrevHash: "3a6dfe7a9db7c033ad5e9e0e49a8e7d17cdafffd9c74a09f88939012030a3957",
		Hash:     "d61e0500c58fad93355388be636cea1322d61f17f8a3a6542ef423d97e52ff9f"},
}

// TestVerifyAuditKnownChain verifies a chain hashed before access existed.
func TestVerifyAuditKnownChain(t *testing.T) {
	rep, err := access.New(fixedLog{recs: legacyChain}, access.Options{AuditKey: auditKey}).VerifyAudit(t.Context())
	if rep.Records != 2 || rep.Unkeyed != 2 || !rep.OK || err != nil {
		t.Errorf("VerifyAudit = %+v, %v; want 2 records intact", rep, err)
	}
}

// TestVerifyAuditUpgraded verifies a log that was plain before the upgrade and keyed after it.
func TestVerifyAuditUpgraded(t *testing.T) {
	recs := slices.Clone(legacyChain)
	for i := range 2 {
		r := tracker.AuditRecord{Seq: int64(3 + i), Time: time.Date(2025, 6, 1, 8, i, 0, 0, time.UTC), Actor: "admin", Action: "logout",
			Object: "user:admin", Result: "ok", Addr: "192.0.2.1", PrevHash: recs[len(recs)-1].Hash}
		recs = append(recs, auditKey.Seal(r))
	}
	rep, err := access.New(fixedLog{recs: recs}, access.Options{AuditKey: auditKey}).VerifyAudit(t.Context())
	if rep.Records != 4 || rep.Unkeyed != 2 || !rep.OK || err != nil {
		t.Errorf("VerifyAudit = %+v, %v; want 4 records intact, 2 unkeyed", rep, err)
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

// failingAudit is a store whose audit log cannot be written.
type failingAudit struct {
	access.Store
	sessions int // sessions created and not deleted
}

func (f *failingAudit) AppendAudit(context.Context, tracker.AuditRecord, *tracker.AuditKey) (tracker.AuditRecord, error) {
	return tracker.AuditRecord{}, errors.New("disk full")
}

func (f *failingAudit) CreateSession(ctx context.Context, se tracker.Session) error {
	f.sessions++
	return f.Store.CreateSession(ctx, se)
}

func (f *failingAudit) DeleteSession(ctx context.Context, tokenHash string) error {
	f.sessions--
	return f.Store.DeleteSession(ctx, tokenHash)
}

// TestAuditFailureFailsTheAction: what cannot be audited does not happen, or reports failure.
func TestAuditFailureFailsTheAction(t *testing.T) {
	_, st := newService(t)
	f := &failingAudit{Store: st}
	svc := access.New(f, access.Options{AuditKey: auditKey})
	if err := svc.Record(t.Context(), "admin", "positions.read", "positions", "ok", nil); !errors.Is(err, access.ErrAuditFailed) {
		t.Errorf("Record = %v, want ErrAuditFailed", err)
	}
	token, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "192.0.2.1")
	if !errors.Is(err, access.ErrAuditFailed) || token != "" || f.sessions != 0 {
		t.Errorf("Login = %q, %v with %d sessions left; want ErrAuditFailed and no session", token, err, f.sessions)
	}
	if _, err := svc.CreateUser(t.Context(), "admin", access.NewUser{Username: "patrol1", Password: "Good-Passw0rd", Role: access.RolePatrol}); !errors.Is(err, access.ErrAuditFailed) {
		t.Errorf("CreateUser = %v, want ErrAuditFailed", err)
	}
}

func TestRecordAddr(t *testing.T) {
	svc, _ := newService(t)
	if err := svc.Record(access.WithClientAddr(t.Context(), "2001:db8::1"), "admin", "users.list", "users", "ok", nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.Record(t.Context(), "cli", "zone.import", "zones", "ok", nil); err != nil {
		t.Fatal(err)
	}
	recs, err := svc.Audit(t.Context(), 0, 0)
	if err != nil || len(recs) != 2 || recs[0].Addr != "2001:db8::1" || recs[1].Addr != "" {
		t.Errorf("audit %+v, %v", recs, err)
	}
}

// TestAnchors writes the chain's head to the anchor file: 0600, one line per new head, with a
// MAC; a line forged without the key is reported.
func TestAnchors(t *testing.T) {
	_, st := newService(t)
	path := filepath.Join(t.TempDir(), "audit-anchors.log")
	svc := access.New(st, access.Options{AuditKey: auditKey, AnchorFile: path})
	if a, err := svc.AnchorAudit(t.Context()); err != nil || a.Seq != 0 {
		t.Fatalf("anchor of an empty log = %+v, %v", a, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an empty log was anchored: %v", err)
	}
	record := func(n int) {
		for range n {
			if err := svc.Record(t.Context(), "admin", "audit.read", "audit", "ok", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	record(3)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunAnchors(ctx, time.Hour) // anchors at once and when stopped
	}()
	waitFor(t, func() bool { b, _ := os.ReadFile(path); return strings.Count(string(b), "\n") == 1 })
	record(2)
	stop()
	<-done
	if a, err := svc.AnchorAudit(t.Context()); err != nil || a.Seq != 5 {
		t.Errorf("anchor of an anchored head = %+v, %v", a, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("anchor file %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last access.Anchor
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &last) != nil || last.Seq != 5 || last.KeyID != auditKey.ID() || len(last.MAC) != 64 {
		t.Fatalf("anchor file:\n%s", b)
	}
	if rep, err := svc.VerifyAudit(t.Context()); !rep.OK || rep.Anchors != 2 || rep.Records != 5 || err != nil {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}

	// An attacker who shortened the log adds an anchor to match, without the key.
	forged := last
	forged.Seq, forged.Time = 3, forged.Time.Add(time.Minute)
	line, _ := json.Marshal(forged)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(line, '\n'))
	f.Close()
	if rep, err := svc.VerifyAudit(t.Context()); rep.OK || !strings.Contains(rep.Problem, "line 3: MAC does not match") || err != nil {
		t.Errorf("VerifyAudit with a forged anchor = %+v, %v", rep, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out")
}
