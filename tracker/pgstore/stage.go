package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Stage begins a group commit's transaction and copies its fixes in (tracker.Stager): the
// first of its two round trips, BEGIN and the COPY, which the pipeline's writer overlaps with
// the COMMIT of the group before, waiting for PostgreSQL's WAL flush. The second round trip
// (latest_fixes, events, alerts, COMMIT) is the Staged's Commit, sent once the group before is
// committed: so the transactions commit in the order their IDs were taken, and this one's
// upserts of latest_fixes and alerts find the rows the other held until its commit already
// released, rather than waiting on them.
//
// A batch the fast way cannot take (no fixes, commits going the slow way after a device time
// was found taken, several writers' shares), or whose staging fails, is staged as nothing: its
// Commit is the whole Commit, in its turn, with its retries. Nothing is acknowledged on a
// staging's failure. Such a batch with fixes takes their IDs at its Commit, so the next Stage
// waits for that Commit (or Abort) first: a batch's fix IDs are above every earlier batch's,
// as the ID stock promises (Track, SearchArea and Events break ties of time by ID).
func (s *Store) Stage(ctx context.Context, b *tracker.Batch) (tracker.Staged, error) {
	s.stageMu.Lock()
	ahead := s.wholeAhead
	s.stageMu.Unlock()
	if ahead != nil {
		select {
		case <-ahead:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if len(b.Fixes) == 0 {
		return &wholeCommit{s: s, b: b}, nil
	}
	if s.slow.Load() > 0 || min(s.writers, len(b.Fixes)/s.minShare) >= 2 {
		return s.stageWhole(b), nil
	}
	eventFixes, err := s.prepare(ctx, b)
	if err != nil {
		return s.stageWhole(b), nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.stageWhole(b), nil
	}
	st := &staged{s: s, b: b, conn: conn, eventFixes: eventFixes, plan: &txPlan{fast: true}}
	if st.plan.newFixIDs, st.plan.refill, st.generation, err = s.ids.take(ctx, conn, len(b.Fixes)); err != nil {
		conn.Release()
		return s.stageWhole(b), nil
	}
	if err := st.plan.copy(ctx, conn.Conn(), b, nil); err != nil {
		if errors.Is(err, errTaken) {
			s.slow.Store(slowAfterTaken)
		}
		st.Abort()
		return s.stageWhole(b), nil
	}
	return st, nil
}

// stageWhole stages b as nothing, holding later stagings until it is committed or aborted.
func (s *Store) stageWhole(b *tracker.Batch) *wholeCommit {
	w := &wholeCommit{s: s, b: b, done: make(chan struct{})}
	s.stageMu.Lock()
	s.wholeAhead = w.done
	s.stageMu.Unlock()
	return w
}

// wholeCommit is a batch staged as nothing: Commit commits it whole. done, when not nil, is
// closed once it is committed or aborted.
type wholeCommit struct {
	s    *Store
	b    *tracker.Batch
	done chan struct{}
}

func (w *wholeCommit) Commit(ctx context.Context) error {
	defer w.end()
	return w.s.Commit(ctx, w.b)
}

func (w *wholeCommit) Abort() { w.end() }

func (w *wholeCommit) end() {
	if w.done != nil {
		close(w.done)
	}
}

// staged is a batch whose fixes are copied in, its transaction open on conn.
type staged struct {
	s          *Store
	b          *tracker.Batch
	conn       *pgxpool.Conn
	eventFixes []int
	plan       *txPlan
	generation uint64 // of the ID stock, for the refill
}

// Commit sends the rest of the transaction and COMMIT. A failure PostgreSQL may clear on a
// second try (a deadlock, a serialization failure) commits the batch again whole, as Commit
// retries it.
func (st *staged) Commit(ctx context.Context) error {
	b := st.b
	fixIDs, dups := make([]int64, len(b.Fixes)), make([]bool, len(b.Fixes))
	eventIDs, alertIDs := make([]int64, len(b.Events)), make([]int64, len(b.Alerts))
	err := commitTx(ctx, st.conn.Conn(), b, st.eventFixes, fixIDs, dups, eventIDs, alertIDs, st.plan, nil)
	st.end(ctx)
	if err != nil {
		if retryable(err) && !isNoPartition(err) {
			// Again whole, with the same IDs: the batch staged behind holds the next ones.
			return st.s.commitAttempts(ctx, b, st.eventFixes, st.plan.newFixIDs, 1)
		}
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	fillBatch(b, st.eventFixes, fixIDs, dups, eventIDs, alertIDs)
	return nil
}

// Abort rolls the transaction back.
func (st *staged) Abort() { st.end(context.Background()) }

// end rolls back what is still open, stocks the IDs a refill reserved and gives the
// connection back (closed by the pool if the ROLLBACK failed too).
func (st *staged) end(ctx context.Context) {
	if st.conn.Conn().PgConn().TxStatus() != 'I' {
		st.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	if st.plan.refill > 0 {
		st.s.ids.put(st.plan.refilled, st.generation)
	}
	st.conn.Release()
}
