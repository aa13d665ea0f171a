// Package audittest performs the attacks on the audit log that its keyed chain, the stores'
// append-only guards and the anchors must stop or reveal, on a store's real database: each
// store's tests run it.
package audittest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// Target is a store under attack.
type Target struct {
	Store access.Store
	// Exec runs SQL on the store's database over a connection of its own, as an attacker
	// with a SQL shell as the store's database user does.
	Exec func(ctx context.Context, query string) error
	// Insert is the SQL that inserts r into the audit table as it is.
	Insert func(r tracker.AuditRecord) string
	// Refused are statements beyond UPDATE and DELETE that the guards must refuse, such as
	// TRUNCATE or an insert that replaces a record.
	Refused []string
	// DropGuards is the SQL with which the database's owner removes the guards.
	DropGuards string
}

// records is how many records each attack starts from, all anchored.
const records = 10

var (
	key, _      = tracker.NewAuditKey([]byte("audittest audit key, 32 bytes or more"))
	otherKey, _ = tracker.NewAuditKey([]byte("another audit key, not the one in use"))
)

// Run performs each attack on a new target from open.
func Run(t *testing.T, open func(t *testing.T) Target) {
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, tg Target, svc *access.Service)
	}{
		{"GuardsRefuseChanges", guardsRefuseChanges},
		{"ForgedRecordAppended", forgedRecordAppended},
		{"ForgedSealAppended", forgedSealAppended},
		{"RecordRewrittenWithoutKey", recordRewrittenWithoutKey},
		{"ChainDowngradedToPlain", chainDowngradedToPlain},
		{"HistoryRewrittenWholesale", historyRewrittenWholesale},
		{"RecordDeleted", recordDeleted},
		{"TailTruncated", tailTruncated},
		{"TailTruncatedAndRefilled", tailTruncatedAndRefilled},
		{"LogEmptied", logEmptied},
		{"WrongKey", wrongKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := open(t)
			svc := access.New(tg.Store, access.Options{AuditKey: key, AnchorFile: filepath.Join(t.TempDir(), "audit-anchors.log"),
				Logger: slog.New(slog.DiscardHandler)})
			ctx := access.WithClientAddr(t.Context(), "192.0.2.44")
			for i := range records {
				if err := svc.Record(ctx, "admin", "vehicle.update", fmt.Sprint("vehicle:v", i), "ok", map[string]int{"n": i}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.AnchorAudit(t.Context()); err != nil {
				t.Fatal(err)
			}
			expect(t, svc, 0, "")
			tc.attack(t, tg, svc)
		})
	}
}

// expect verifies the log: broken 0 is intact, else the record named first and a word of the
// problem.
func expect(t *testing.T, svc *access.Service, broken int64, problem string) {
	t.Helper()
	rep, err := svc.VerifyAudit(t.Context())
	switch {
	case err != nil:
		t.Fatalf("VerifyAudit: %v", err)
	case broken == 0 && !rep.OK:
		t.Fatalf("VerifyAudit = %+v, want intact", rep)
	case broken != 0 && (rep.OK || rep.FirstBroken != broken || !strings.Contains(rep.Problem, problem)):
		t.Fatalf("VerifyAudit = %+v, want record %d named: %q", rep, broken, problem)
	}
}

func exec(t *testing.T, tg Target, query string) {
	t.Helper()
	if err := tg.Exec(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func read(t *testing.T, tg Target) []tracker.AuditRecord {
	t.Helper()
	recs, err := tg.Store.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// rewrite stores recs[from:] over the records of the same Seq, with their plain SHA-256
// recomputed and linked as an attacker can.
func rewrite(t *testing.T, tg Target, recs []tracker.AuditRecord, from int) {
	t.Helper()
	for i := from; i < len(recs); i++ {
		r := &recs[i]
		if i > 0 {
			r.PrevHash = recs[i-1].Hash
		}
		r.Hash = tracker.PlainChainHash(*r)
		exec(t, tg, fmt.Sprintf("UPDATE audit SET actor = '%s', result = '%s', alg = '%s', key_id = '%s', prev_hash = '%s', hash = '%s' WHERE seq = %d",
			r.Actor, r.Result, r.Alg, r.KeyID, r.PrevHash, r.Hash, r.Seq))
	}
}

// unkeyed makes recs claim to be plain records, from before the keyed chain.
func unkeyed(recs []tracker.AuditRecord) {
	for i := range recs {
		recs[i].Alg, recs[i].KeyID = tracker.AuditPlain, ""
	}
}

// guardsRefuseChanges: no UPDATE, DELETE or store-specific change gets past the guards, and
// neither does an insert anywhere but at the end.
func guardsRefuseChanges(t *testing.T, tg Target, svc *access.Service) {
	recs := read(t, tg)
	misplaced := recs[4]
	gap := recs[9]
	gap.Seq, gap.PrevHash = records+2, recs[9].Hash
	unlinked := recs[9]
	unlinked.Seq = records + 1
	queries := append([]string{
		"UPDATE audit SET actor = 'mallory' WHERE seq = 2",
		"UPDATE audit SET hash = hash",
		"DELETE FROM audit WHERE seq = 10",
		"DELETE FROM audit",
		tg.Insert(misplaced),
		tg.Insert(gap),
		tg.Insert(unlinked),
	}, tg.Refused...)
	for _, q := range queries {
		if err := tg.Exec(t.Context(), q); err == nil || !strings.Contains(err.Error(), "audit is append-only") {
			t.Errorf("not refused by the guards: %s: %v", q, err)
		}
	}
	if got := read(t, tg); len(got) != records {
		t.Errorf("%d records after the refused changes, want %d", len(got), records)
	}
	expect(t, svc, 0, "")
}

// forgedRecordAppended: a plain record added at the end, which the guard lets in, is found.
func forgedRecordAppended(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.Insert(forgery(read(t, tg), tracker.AuditPlain, "")))
	expect(t, svc, records+1, "unkeyed record after keyed ones")
}

// forgedSealAppended: a record added at the end that claims the key, without it, is found.
func forgedSealAppended(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.Insert(forgery(read(t, tg), tracker.AuditHMACSM3, key.ID())))
	expect(t, svc, records+1, "HMAC does not match")
}

// forgery is a record after recs, hashed with SHA-256, claiming alg and keyID.
func forgery(recs []tracker.AuditRecord, alg, keyID string) tracker.AuditRecord {
	last := recs[len(recs)-1]
	r := tracker.AuditRecord{Seq: last.Seq + 1, Time: last.Time, Actor: "admin", Action: "user.delete", Object: "user:auditor1",
		Result: "ok", Alg: alg, KeyID: keyID, PrevHash: last.Hash}
	r.Hash = tracker.PlainChainHash(r)
	return r
}

// recordRewrittenWithoutKey: with the guards dropped, a record is changed and the chain after it
// rehashed with SHA-256 as anyone can; the HMAC gives it away.
func recordRewrittenWithoutKey(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	recs := read(t, tg)
	recs[3].Result = "denied"
	rewrite(t, tg, recs, 3)
	expect(t, svc, 4, "HMAC does not match")
}

// chainDowngradedToPlain: the records from one on are made plain, as if written before the
// keyed chain; a plain record cannot follow a keyed one.
func chainDowngradedToPlain(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	recs := read(t, tg)
	unkeyed(recs[3:])
	recs[5].Actor = "mallory"
	rewrite(t, tg, recs, 3)
	expect(t, svc, 4, "unkeyed record after keyed ones")
}

// historyRewrittenWholesale: every record is rewritten as a plain chain, which verifies as one;
// the anchor holds the real head.
func historyRewrittenWholesale(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	recs := read(t, tg)
	unkeyed(recs)
	recs[1].Actor = "mallory"
	rewrite(t, tg, recs, 0)
	expect(t, svc, records, "differs from its anchor")
}

func recordDeleted(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	exec(t, tg, "DELETE FROM audit WHERE seq = 5")
	expect(t, svc, 5, "missing")
}

// tailTruncated: the newest records are deleted; the chain that is left holds, the anchor does not.
func tailTruncated(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	exec(t, tg, "DELETE FROM audit WHERE seq > 7")
	expect(t, svc, 8, "tail truncated")
}

func logEmptied(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	exec(t, tg, "DELETE FROM audit")
	expect(t, svc, 1, "tail truncated")
}

// tailTruncatedAndRefilled: after the tail is deleted the server goes on recording, so the log
// grows past the anchor again; the anchored record is another.
func tailTruncatedAndRefilled(t *testing.T, tg Target, svc *access.Service) {
	exec(t, tg, tg.DropGuards)
	exec(t, tg, "DELETE FROM audit WHERE seq > 7")
	for range 4 {
		if err := svc.Record(t.Context(), "admin", "logout", "user:admin", "ok", nil); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, svc, records, "differs from its anchor")
}

// wrongKey: verified with another key, the log fails at its first record, saying the key is wrong.
func wrongKey(t *testing.T, tg Target, _ *access.Service) {
	expect(t, access.New(tg.Store, access.Options{AuditKey: otherKey}), 1, "wrong audit key")
}
