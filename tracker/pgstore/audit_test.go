package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/mapui/access/audittest"
	"github.com/borderwatch/borderwatch/tracker"
)

// attacker connects to the database at url, as someone with a SQL shell as the store's user.
func attacker(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestAuditAttacks(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Target {
		url := newDB(t)
		st := open(t, url)
		conn := attacker(t, url)
		return audittest.Target{
			Store: st,
			Exec: func(ctx context.Context, q string) error {
				_, err := conn.Exec(ctx, q)
				return err
			},
			Insert: func(r tracker.AuditRecord) string {
				return fmt.Sprintf(`INSERT INTO audit (seq, time, actor, action, object, result, addr, alg, key_id, prev_hash, hash)
					VALUES (%d, '%s', '%s', '%s', '%s', '%s', '%s', '%s', '%s', '%s', '%s')`,
					r.Seq, r.Time.Format(time.RFC3339Nano), r.Actor, r.Action, r.Object, r.Result, r.Addr, r.Alg, r.KeyID, r.PrevHash, r.Hash)
			},
			Refused: []string{
				`TRUNCATE audit`,
				`INSERT INTO audit SELECT * FROM audit WHERE seq = 2 ON CONFLICT (seq) DO UPDATE SET actor = 'mallory'`,
			},
			DropGuards: `ALTER TABLE audit DISABLE TRIGGER USER`,
		}
	})
}

// TestAuditUpgrade opens a database whose audit log was written before the keyed chain: the
// old plain records keep verifying, new ones are keyed, and the guards hold.
func TestAuditUpgrade(t *testing.T) {
	url := newDB(t)
	conn := attacker(t, url)
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names {
		if strings.Contains(name, "audit") {
			break // the keyed chain's migration and those after it are Open's
		}
		sql, _ := migrations.ReadFile(name)
		v, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
			t.Fatal(err)
		}
	}
	var prev string
	for i := range 3 {
		r := tracker.AuditRecord{Seq: int64(i + 1), Time: time.Date(2025, 3, 1, 8, i, 0, 0, time.UTC), Actor: "admin", Action: "login",
			Object: "user:admin", Result: "ok", PrevHash: prev}
		r.Hash = tracker.PlainChainHash(r)
		prev = r.Hash
		if _, err := conn.Exec(ctx, `INSERT INTO audit (seq, time, actor, action, object, result, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			r.Seq, r.Time, r.Actor, r.Action, r.Object, r.Result, r.PrevHash, r.Hash); err != nil {
			t.Fatal(err)
		}
	}

	st := open(t, url)
	svc := access.New(st, access.Options{AuditKey: tracker.NewRandomAuditKey()})
	for range 2 {
		if err := svc.Record(access.WithClientAddr(ctx, "192.0.2.1"), "admin", "logout", "user:admin", "ok", nil); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := svc.VerifyAudit(ctx)
	if !rep.OK || rep.Records != 5 || rep.Unkeyed != 3 || err != nil {
		t.Errorf("VerifyAudit after the upgrade = %+v, %v; want 5 records, 3 unkeyed", rep, err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit SET actor = 'mallory' WHERE seq = 1`); err == nil {
		t.Error("an old record could be changed after the upgrade")
	}
}
