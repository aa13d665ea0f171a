package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/storetest"
	"github.com/jackc/pgx/v5"
)

// stagedStore commits every batch through Stage, as the pipeline's writer does.
type stagedStore struct{ *Store }

func (s stagedStore) Commit(ctx context.Context, b *tracker.Batch) error {
	st, err := s.Stage(ctx, b)
	if err != nil {
		return err
	}
	return st.Commit(ctx)
}

// TestConformanceStaged: the store conformance suite with every batch staged, then committed.
func TestConformanceStaged(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return stagedStore{open(t, newDB(t))} })
}

// holdLatest holds vehicle's latest_fixes row in a transaction of its own, so that a commit's
// upsert of it waits; release (or the test's end) rolls it back.
func holdLatest(t *testing.T, s *Store, vehicle string) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, "SELECT 1 FROM latest_fixes WHERE vehicle_id = $1 FOR UPDATE", vehicle); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// backend waits for a backend of the store's database in the state where (a condition on
// pg_stat_activity) and returns its pid, other than those of not.
func backend(t *testing.T, s *Store, what, where string, not ...int) int {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pid int
		err := s.pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND NOT (pid = ANY($1)) AND `+where+` LIMIT 1`, append([]int{0}, not...)).Scan(&pid)
		if err == nil {
			return pid
		}
		if err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	waitsOnLatest = `wait_event_type = 'Lock' AND query LIKE '%latest_fixes%'`
	copiedIn      = `state = 'idle in transaction' AND query LIKE '%COPY fixes%'`
)

// kill ends a backend, as a crash of it or a DBA's pg_terminate_backend would.
func kill(t *testing.T, s *Store, pid int) {
	t.Helper()
	if _, err := s.pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
}

// submit submits fixes on a goroutine of its own; the channel gets Submit's result.
func submit(p *tracker.Pipeline, fixes ...tracker.Fix) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Submit(context.Background(), fixes) }()
	return done
}

// notYet fails the test if the submission was answered already.
func notYet(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s answered (%v) while the commit before it waits", what, err)
	default:
	}
}

// storedIDs are the IDs of a vehicle's stored fixes, by device time.
func storedIDs(t *testing.T, s *Store, vehicle string, at time.Time) []int64 {
	t.Helper()
	fixes, err := s.Track(context.Background(), vehicle, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(fixes))
	for i, f := range fixes {
		ids[i] = f.ID
	}
	return ids
}

// TestPipelineStagesBehindCommit: while a group commit waits (here on a row lock; under load, on
// PostgreSQL's WAL flush), the pipeline's writer copies the next group's fixes in on a second
// connection, and acknowledges neither. When the first commit fails (its backend killed), the
// group staged behind it is rolled back too: both submitters are told, nothing of either is
// stored, the group acknowledged before is; retried once the row is free, every fix is stored
// once, IDs in the order of the submissions, each vehicle's newest fix its latest. With one
// commit at a time (the writer before) the second group is never copied in while the first
// waits.
func TestPipelineStagesBehindCommit(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: s, RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	t.Cleanup(p.Close) // after the held rows' cleanups, which free its commits
	if err := p.Submit(ctx, []tracker.Fix{sharedFix(0, 0, at), sharedFix(1, 0, at)}); err != nil {
		t.Fatal(err)
	}
	release := holdLatest(t, s, "veh-0")
	first := submit(p, sharedFix(0, 1, at))
	blocked := backend(t, s, "the first group's commit waits on the held row", waitsOnLatest)
	second := submit(p, sharedFix(1, 1, at), sharedFix(2, 0, at))
	staged := backend(t, s, "the next group copied in while the commit before it waits", copiedIn, blocked)
	notYet(t, first, "the first group")
	notYet(t, second, "the group staged behind it")
	kill(t, s, blocked)
	if err := <-first; err == nil {
		t.Fatal("a group whose commit failed was acknowledged")
	}
	if err := <-second; err == nil {
		t.Fatal("the group staged behind a failed commit was acknowledged")
	}
	// The retry waits on the held row again: what is stored now is what was acknowledged.
	backend(t, s, "the retry waits on the held row", waitsOnLatest, blocked)
	var open int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'idle in transaction'`, staged).Scan(&open); err != nil || open != 0 {
		t.Fatalf("the staged group's transaction still open after the commit before it failed (%v)", err)
	}
	if n := countFixes(t, s); n != 2 {
		t.Fatalf("%d fixes stored, want the 2 acknowledged", n)
	}
	release()
	p.Close()
	if n := countFixes(t, s); n != 5 {
		t.Fatalf("%d fixes stored after the retry, want 5", n)
	}
	ids := map[string][]int64{}
	for _, v := range []string{"veh-0", "veh-1", "veh-2"} {
		ids[v] = storedIDs(t, s, v, at)
	}
	if len(ids["veh-0"]) != 2 || len(ids["veh-1"]) != 2 || len(ids["veh-2"]) != 1 ||
		ids["veh-0"][1] <= ids["veh-1"][0] || ids["veh-1"][1] <= ids["veh-0"][1] || ids["veh-2"][0] <= ids["veh-0"][1] {
		t.Fatalf("IDs by vehicle %v: want each submission's above the one before", ids)
	}
	latest, err := s.LatestFixes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"veh-0": at.Add(10 * time.Second), "veh-1": at.Add(10 * time.Second), "veh-2": at}
	for _, f := range latest {
		if !f.Time.Equal(want[f.VehicleID]) {
			t.Fatalf("latest fix of %s at %v, want %v", f.VehicleID, f.Time, want[f.VehicleID])
		}
	}
}

// TestPipelineStagedFailsAlone: the group staged behind a commit that succeeds is acknowledged
// only by its own commit: when that fails (its backend killed while its upsert waits), its
// submitter is told, the group before stays acknowledged and stored, and the retry stores the
// failed group once.
func TestPipelineStagedFailsAlone(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: s, RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	t.Cleanup(p.Close) // after the held rows' cleanups, which free its commits
	if err := p.Submit(ctx, []tracker.Fix{sharedFix(0, 0, at), sharedFix(1, 0, at)}); err != nil {
		t.Fatal(err)
	}
	releaseFirst := holdLatest(t, s, "veh-0")
	releaseSecond := holdLatest(t, s, "veh-1")
	first := submit(p, sharedFix(0, 1, at))
	blocked := backend(t, s, "the first group's commit waits on the held row", waitsOnLatest)
	second := submit(p, sharedFix(1, 1, at), sharedFix(2, 0, at))
	backend(t, s, "the next group copied in while the commit before it waits", copiedIn, blocked)
	notYet(t, second, "the staged group")
	releaseFirst()
	if err := <-first; err != nil {
		t.Fatalf("the first group, committed: %v", err)
	}
	kill(t, s, backend(t, s, "the staged group's commit waits on its held row", waitsOnLatest, blocked))
	if err := <-second; err == nil {
		t.Fatal("a group whose own commit failed was acknowledged")
	}
	backend(t, s, "the retry waits on the held row", waitsOnLatest, blocked)
	if n := countFixes(t, s); n != 3 {
		t.Fatalf("%d fixes stored, want the 3 acknowledged", n)
	}
	releaseSecond()
	p.Close()
	if n := countFixes(t, s); n != 5 {
		t.Fatalf("%d fixes stored after the retry, want 5", n)
	}
	checkOrder(t, s, at, "veh-0", "veh-1", "veh-2")
}

// checkOrder checks that the vehicles' fixes have IDs ascending in device time.
func checkOrder(t *testing.T, s *Store, at time.Time, vehicles ...string) {
	t.Helper()
	for _, v := range vehicles {
		ids := storedIDs(t, s, v, at)
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("%s: IDs %v, want them ascending with the fixes' times", v, ids)
			}
		}
	}
}

// TestStagedLatestNeverBack: a batch staged while the one before commits holds a vehicle's
// newer fix and another's older (late) one: committed in order, latest_fixes keeps each
// vehicle's newest, and the second batch's IDs are above the first's.
func TestStagedLatestNeverBack(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b1 := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 1, at), sharedFix(1, 5, at)}}
	b2 := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 2, at), sharedFix(1, 4, at)}}
	if err := s.Commit(ctx, &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 0, at), sharedFix(1, 0, at)}}); err != nil {
		t.Fatal(err)
	}
	release := holdLatest(t, s, "veh-0")
	st1, err := s.Stage(ctx, b1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st1.Commit(ctx) }()
	blocked := backend(t, s, "the first batch's commit waits on the held row", waitsOnLatest)
	st2, err := s.Stage(ctx, b2)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st2.(*staged); !ok {
		t.Fatalf("the second batch was staged as %T, want its fixes copied in", st2)
	}
	backend(t, s, "the second batch copied in", copiedIn, blocked)
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := st2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range b2.Fixes {
		for j := range b1.Fixes {
			if b2.Fixes[i].ID <= b1.Fixes[j].ID {
				t.Fatalf("second batch's fix ID %d not above the first's %d", b2.Fixes[i].ID, b1.Fixes[j].ID)
			}
		}
	}
	latest, err := s.LatestFixes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"veh-0": at.Add(20 * time.Second), "veh-1": at.Add(50 * time.Second)}
	if len(latest) != 2 {
		t.Fatalf("%d latest fixes, want 2", len(latest))
	}
	for _, f := range latest {
		if !f.Time.Equal(want[f.VehicleID]) {
			t.Fatalf("latest fix of %s at %v, want %v", f.VehicleID, f.Time, want[f.VehicleID])
		}
	}
	if n := countFixes(t, s); n != 6 {
		t.Fatalf("%d fixes, want 6", n)
	}
}

// TestStagedResendOfUncommitted: a batch staged while the one before commits holds another
// report of a device time that batch holds (a terminal's resend at another position, a variant):
// its COPY waits for the first transaction, finds the time taken, and the batch is committed
// whole the slow way, in its turn: the report stored as a variant, its ID above the first's.
func TestStagedResendOfUncommitted(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	if err := s.Commit(ctx, &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 0, at)}}); err != nil {
		t.Fatal(err)
	}
	b1 := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 1, at)}}
	moved := sharedFix(0, 1, at)
	moved.Lat += 0.5
	b2 := &tracker.Batch{Fixes: []tracker.Fix{moved, sharedFix(1, 0, at)}}
	release := holdLatest(t, s, "veh-0")
	st1, err := s.Stage(ctx, b1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st1.Commit(ctx) }()
	blocked := backend(t, s, "the first batch's commit waits on the held row", waitsOnLatest)
	staging := make(chan tracker.Staged, 1)
	go func() {
		st, err := s.Stage(ctx, b2)
		if err != nil {
			t.Error(err)
		}
		staging <- st
	}()
	// The COPY of the resend waits for the first transaction's uncommitted report.
	backend(t, s, "the resend's COPY waits on the uncommitted report", `wait_event_type = 'Lock' AND query LIKE '%COPY fixes%'`, blocked)
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st2 := <-staging
	if err := st2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if b2.Duplicates[0] || b2.Fixes[0].ID <= b1.Fixes[0].ID || b2.Fixes[1].ID <= b1.Fixes[0].ID {
		t.Fatalf("resend: duplicate %v, IDs %d and %d after %d", b2.Duplicates[0], b2.Fixes[0].ID, b2.Fixes[1].ID, b1.Fixes[0].ID)
	}
	if n := countFixes(t, s); n != 4 {
		t.Fatalf("%d fixes, want 4 (the resend a variant)", n)
	}
}

// TestStagedWholeHoldsNext: a batch staged as nothing (here: commits going the slow way) takes
// its fix IDs at its Commit, so the next Stage waits for that Commit: a batch staged the fast
// way behind it gets IDs above it, not below.
func TestStagedWholeHoldsNext(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	b1 := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(0, 0, at)}}
	b2 := &tracker.Batch{Fixes: []tracker.Fix{sharedFix(1, 0, at)}}
	s.slow.Store(1)
	st1, err := s.Stage(ctx, b1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st1.(*wholeCommit); !ok {
		t.Fatalf("a batch while commits go the slow way staged as %T", st1)
	}
	s.slow.Store(0) // the next batch goes the fast way
	staging := make(chan tracker.Staged, 1)
	go func() {
		st, err := s.Stage(ctx, b2)
		if err != nil {
			t.Error(err)
		}
		staging <- st
	}()
	if err := st1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st2 := <-staging
	if err := st2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if b2.Fixes[0].ID <= b1.Fixes[0].ID {
		t.Fatalf("batch staged behind a whole one has fix ID %d, below its %d", b2.Fixes[0].ID, b1.Fixes[0].ID)
	}
}
