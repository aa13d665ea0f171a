package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5/pgxpool"
)

// poolWorks checks that every connection the pool holds answers a query and is idle, so that no
// connection was given back in the middle of the protocol or inside a transaction.
func poolWorks(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range s.pool.Stat().TotalConns() {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		conns = append(conns, c)
		var one int
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("a connection of the pool after the failure: %d, %v", one, err)
		}
		if tx := c.Conn().PgConn().TxStatus(); tx != 'I' {
			t.Fatalf("a connection of the pool in transaction state %c", tx)
		}
	}
}

// fixBatch is fix n of vehicles 0 … vehicles-1, each with an event.
func fixBatch(vehicles, n int, at time.Time) *tracker.Batch {
	b := &tracker.Batch{}
	for v := range vehicles {
		f := sharedFix(v, n, at)
		b.Fixes = append(b.Fixes, f)
		b.Events = append(b.Events, tracker.Event{Type: tracker.EventWaybill, Time: f.Time, VehicleID: f.VehicleID, ZoneID: "z", FixSeq: f.Seq})
	}
	return b
}

// The tests of this file were written for a group commit in one round trip (commits 715542f
// and 142714f: BEGIN, the COPY and its rows, latest_fixes, events, alerts, the ID refill and
// COMMIT written at once under one Sync), reverted because it did not pay (docs/performance-history.md,
// 2026-12-06 fourth session). They pass on the two round trips kept, and each failed on a
// broken variant of the reverted code, named in its comment.

// TestTakenWithEverythingBehindCopy: a batch of new fixes whose last one is a resent fix (its
// device time taken, so that the COPY fails after copying the others) with events, an update of
// an open alert, a new alert and a refill of fix IDs: none of them is done twice or half, the
// batch is stored whole the sorting way (the resent fix a duplicate with its stored ID, the
// alert updated, not made again, the events' IDs in the batch's order), and the connection is
// idle and takes the next fast commit. Failed with a one-round-trip reply reader that stopped at
// the COPY's error instead of reading through the ReadyForQuery after the Sync (the ROLLBACK
// then read the stale ReadyForQuery and the connection was a reply behind).
func TestTakenWithEverythingBehindCopy(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	first := fixBatch(10, 0, at)
	first.Alerts = []tracker.Alert{{Type: "geofence_enter", Severity: "high", VehicleID: "veh-1", Time: at, Message: "first", DedupKey: "k1", Active: true}}
	if err := s.Commit(ctx, first); err != nil {
		t.Fatal(err)
	}
	s.ids.mu.Lock()
	s.ids.ids = s.ids.ids[:idBlock/2] // the next commit refills the stock in its round trip
	s.ids.mu.Unlock()
	b := fixBatch(300, 1, at)
	resent := first.Fixes[5]
	resent.ID = 0
	b.Fixes = append(b.Fixes, resent)
	b.Events = append(b.Events, tracker.Event{Type: tracker.EventWaybill, Time: resent.Time, VehicleID: resent.VehicleID, ZoneID: "z", FixSeq: resent.Seq})
	b.Alerts = []tracker.Alert{
		{Type: "geofence_enter", Severity: "high", VehicleID: "veh-1", Time: at, Message: "second", DedupKey: "k1", Active: true},
		{Type: "geofence_exit", Severity: "low", VehicleID: "veh-2", Time: at, Message: "new", DedupKey: "k2", Active: true},
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if s.slow.Load() != slowAfterTaken {
		t.Fatal("the taken device time was not found by the fast commit")
	}
	last := len(b.Fixes) - 1
	for i := range b.Fixes {
		if b.Duplicates[i] != (i == last) {
			t.Fatalf("fix %d: duplicate %v", i, b.Duplicates[i])
		}
	}
	if b.Fixes[last].ID != first.Fixes[5].ID || b.Events[last].ID != 0 {
		t.Fatalf("resent fix: ID %d (stored %d), its event %d", b.Fixes[last].ID, first.Fixes[5].ID, b.Events[last].ID)
	}
	for i := 1; i < last; i++ {
		if b.Events[i].ID <= b.Events[i-1].ID || b.Events[i].FixID != b.Fixes[i].ID {
			t.Fatalf("event %d: ID %d after %d, fix %d of %d", i, b.Events[i].ID, b.Events[i-1].ID, b.Events[i].FixID, b.Fixes[i].ID)
		}
	}
	if b.Alerts[0].ID != first.Alerts[0].ID || b.Alerts[1].ID == b.Alerts[0].ID {
		t.Fatalf("alerts %d and %d, want %d updated and a new one", b.Alerts[0].ID, b.Alerts[1].ID, first.Alerts[0].ID)
	}
	var fixes, events, alerts int
	var msg string
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM fixes), (SELECT count(*) FROM events), (SELECT count(*) FROM alerts),
		(SELECT message FROM alerts WHERE dedup_key = 'k1')`).Scan(&fixes, &events, &alerts, &msg); err != nil {
		t.Fatal(err)
	}
	if fixes != 310 || events != 310 || alerts != 2 || msg != "second" {
		t.Fatalf("%d fixes, %d events, %d alerts (k1 %q) stored, want 310, 310, 2 (second)", fixes, events, alerts, msg)
	}
	poolWorks(t, s)
	s.slow.Store(0)
	next := fixBatch(300, 2, at)
	if err := s.Commit(ctx, next); err != nil {
		t.Fatalf("the fast commit after the fallback: %v", err)
	}
	ids := make([]int64, 0, len(b.Fixes)+len(next.Fixes))
	for i := range last {
		ids = append(ids, b.Fixes[i].ID)
	}
	for _, f := range next.Fixes {
		ids = append(ids, f.ID)
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("fix IDs of the two commits not ascending and unique")
	}
	if n := countFixes(t, s); n != 610 {
		t.Fatalf("%d fixes, want 610", n)
	}
	checkLatest(t, s, at.Add(20*time.Second), 300)
}

// TestRefusedAfterCopyRollsBack: a statement after the COPY that PostgreSQL refuses (an alert
// whose evidence is not JSON, found at its Bind, after the fixes were copied and latest_fixes
// upserted) fails the commit and leaves nothing of it: no fix, event or alert, the vehicles'
// latest fixes as they were; the connection goes on. Failed with a one-round-trip reply reader
// that only looked for an error in the COPY's replies and did not count the statements answered
// (the commit was reported done while PostgreSQL had rolled it back: acknowledged fixes lost).
func TestRefusedAfterCopyRollsBack(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	if err := s.Commit(ctx, fixBatch(20, 0, at)); err != nil {
		t.Fatal(err)
	}
	b := fixBatch(200, 1, at)
	b.Alerts = []tracker.Alert{
		{Type: "geofence_enter", Severity: "high", VehicleID: "veh-1", Time: at, Message: "fine", DedupKey: "ok", Active: true},
		{Type: "geofence_enter", Severity: "high", VehicleID: "veh-2", Time: at, Message: "'); COMMIT; --", DedupKey: "bad", Active: true,
			Evidence: json.RawMessage(`{"zone": "z", "fixes": [1, 2`)},
	}
	err := s.Commit(ctx, b)
	if err == nil || !strings.Contains(err.Error(), "json") {
		t.Fatalf("a batch with evidence that is not JSON: %v, want PostgreSQL's refusal", err)
	}
	var fixes, events, alerts int
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM fixes), (SELECT count(*) FROM events), (SELECT count(*) FROM alerts)`).
		Scan(&fixes, &events, &alerts); err != nil {
		t.Fatal(err)
	}
	if fixes != 20 || events != 20 || alerts != 0 {
		t.Fatalf("%d fixes, %d events, %d alerts after the failed commit, want 20, 20, 0", fixes, events, alerts)
	}
	checkLatest(t, s, at, 20)
	poolWorks(t, s)
	b.Alerts[1].Evidence = json.RawMessage(`{"zone": "z"}`)
	if err := s.Commit(ctx, b); err != nil {
		t.Fatalf("the batch made valid: %v", err)
	}
	got, err := s.Alert(ctx, b.Alerts[1].ID)
	if err != nil || got.Message != "'); COMMIT; --" {
		t.Fatalf("alert read back %q, %v", got.Message, err)
	}
	if n := countFixes(t, s); n != 220 {
		t.Fatalf("%d fixes, want 220", n)
	}
	checkLatest(t, s, at.Add(10*time.Second), 200)
}

// waitForBackend is the PID of the backend of s's database whose query is like like and that
// is in state, waiting on a lock if lock.
func waitForBackend(t *testing.T, s *Store, like string, lock bool) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pid int
		err := s.pool.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND state = 'active' AND query LIKE $1 AND (NOT $2 OR wait_event_type = 'Lock') AND pid <> pg_backend_pid() LIMIT 1`, like, lock).Scan(&pid)
		if err == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no backend running %s: %v", like, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCancelledMidCommit: a commit whose context is cancelled while its backend waits on a row
// lock (its fixes copied, the rest of the transaction sent behind) fails with the context's
// error, and every connection of the pool is idle and answers after it; the batch is then
// stored whole, once (the backend may still have run the transaction to its COMMIT, as a COMMIT
// whose reply was lost: its fixes come back as duplicates). Failed with a one-round-trip commit
// that did not close its connection when a read failed (the pool got it back with a deadline
// set and the replies unread).
func TestCancelledMidCommit(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	if err := s.Commit(ctx, fixBatch(50, 0, at)); err != nil {
		t.Fatal(err)
	}
	blocker, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	if _, err := blocker.Exec(ctx, "SELECT 1 FROM latest_fixes WHERE vehicle_id = 'veh-3' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	b := fixBatch(50, 1, at)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Commit(cctx, b) }()
	pid := waitForBackend(t, s, "%latest_fixes%", true)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a commit cancelled mid-flight: %v, want the context's error", err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) { // the backend runs out
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled commit's backend did not end")
		}
	}
	if n := countFixes(t, s); n != 50 && n != 100 {
		t.Fatalf("%d fixes after a cancelled commit, want 50 (rolled back) or 100 (committed whole)", n)
	}
	poolWorks(t, s)
	for n := 2; n < 6; n++ {
		if err := s.Commit(ctx, fixBatch(50, n, at)); err != nil {
			t.Fatalf("commit %d after the cancelled one: %v", n, err)
		}
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := countFixes(t, s); n != 300 {
		t.Fatalf("%d fixes, want 300", n)
	}
	poolWorks(t, s)
}

// TestKilledMidCopy: the backend of a large commit killed while its rows are still on their
// way (the client writing, the server copying) fails the commit, stores nothing of it, and
// leaves no broken connection in the pool; the batch is then stored whole. Failed (hung) with a
// one-round-trip reply reader that took a failed read for a failed statement and read on to
// the ReadyForQuery.
func TestKilledMidCopy(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b := &tracker.Batch{}
	for n := range 100 {
		b.Fixes = append(b.Fixes, fixBatch(400, n, at).Fixes...)
	}
	if err := s.Commit(ctx, fixBatch(1, 0, at.Add(-time.Hour))); err != nil { // partitions, IDs, statements
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Commit(ctx, b) }()
	pid := waitForBackend(t, s, "%COPY fixes%", false)
	if _, err := s.pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Skip("the commit of 40,000 fixes was done before its backend was killed: nothing to test")
	}
	if n := countFixes(t, s); n != 1 {
		t.Fatalf("%d fixes after the killed commit, want 1", n)
	}
	poolWorks(t, s)
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := countFixes(t, s); n != 40001 {
		t.Fatalf("%d fixes, want 40001", n)
	}
	poolWorks(t, s)
}
