package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/mapui/access/audittest"
	"github.com/borderwatch/borderwatch/tracker"
)

// attacker opens the database file at path beside the store, as someone with a SQL shell on
// the server would.
func attacker(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func insertAudit(r tracker.AuditRecord) string {
	return fmt.Sprintf(`INSERT INTO audit(seq, time_us, actor, action, object, result, addr, alg, key_id, prev_hash, hash)
		VALUES(%d, %d, '%s', '%s', '%s', '%s', '%s', '%s', '%s', '%s', '%s')`,
		r.Seq, r.Time.UnixMicro(), r.Actor, r.Action, r.Object, r.Result, r.Addr, r.Alg, r.KeyID, r.PrevHash, r.Hash)
}

func TestAuditAttacks(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Target {
		path := filepath.Join(t.TempDir(), "bw.db")
		st, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		db := attacker(t, path)
		return audittest.Target{
			Store: st,
			Exec: func(ctx context.Context, q string) error {
				_, err := db.ExecContext(ctx, q)
				return err
			},
			Insert: insertAudit,
			Refused: []string{
				// REPLACE deletes the old row without firing the delete trigger.
				`INSERT OR REPLACE INTO audit(seq, time_us, actor, action, object, result, detail, addr, alg, key_id, prev_hash, hash)
					SELECT seq, time_us, 'mallory', action, object, result, detail, addr, alg, key_id, prev_hash, hash FROM audit WHERE seq = 2`,
				`INSERT INTO audit(seq, time_us, actor, action, object, result, prev_hash, hash) SELECT seq, time_us, actor, action, object, result, prev_hash, hash
					FROM audit WHERE seq = 3 ON CONFLICT(seq) DO UPDATE SET actor = 'mallory'`,
			},
			DropGuards: `DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; DROP TRIGGER audit_append_at_end;`,
		}
	})
}

// TestAuditUpgrade opens a database whose audit log was written before the keyed chain: the
// old plain records keep verifying, new ones are keyed, and the guards hold.
func TestAuditUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	db := attacker(t, path)
	before := 0
	for i, m := range migrations {
		if strings.Contains(m, "audit_append_at_end") {
			before = i
		}
	}
	for i, m := range migrations[:before] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	var prev string
	for i := range 3 {
		r := tracker.AuditRecord{Seq: int64(i + 1), Time: time.Date(2025, 3, 1, 8, i, 0, 0, time.UTC), Actor: "admin", Action: "login",
			Object: "user:admin", Result: "ok", PrevHash: prev}
		r.Hash = tracker.PlainChainHash(r)
		prev = r.Hash
		if _, err := db.Exec(`INSERT INTO audit(seq, time_us, actor, action, object, result, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?)`,
			r.Seq, r.Time.UnixMicro(), r.Actor, r.Action, r.Object, r.Result, r.PrevHash, r.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}

	st, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := tracker.NewRandomAuditKey()
	svc := access.New(st, access.Options{AuditKey: key})
	for range 2 {
		if err := svc.Record(access.WithClientAddr(t.Context(), "192.0.2.1"), "admin", "logout", "user:admin", "ok", nil); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := svc.VerifyAudit(t.Context())
	if !rep.OK || rep.Records != 5 || rep.Unkeyed != 3 || err != nil {
		t.Errorf("VerifyAudit after the upgrade = %+v, %v; want 5 records, 3 unkeyed", rep, err)
	}
	if _, err := db.Exec(`UPDATE audit SET actor = 'mallory' WHERE seq = 1`); err == nil {
		t.Error("an old record could be changed after the upgrade")
	}
}
