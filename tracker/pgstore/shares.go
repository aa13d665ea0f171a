package pgstore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A large group commit is spread over several connections, one transaction each, every one
// holding the fixes of its own vehicles: several backends then insert at once (one backend is
// one core, and the indexes are most of a fix's cost), and their COMMITs share WAL flushes,
// where one connection made each batch wait for the previous batch's flush.
//
// The shares wait for each other before COMMIT, and none commits if one failed, so a batch is
// still stored whole or not at all, except when a connection fails during COMMIT itself. That
// is the case a single transaction already has (a COMMIT whose reply is lost may have been
// applied), which the pipeline's retry handles: the stored fixes come back as duplicates.
//
// IDs are reserved for the whole batch before the shares begin, so that they follow the batch's
// order as they do on one connection: Track, SearchArea and Events break ties of time by ID.
//
// Shares never wait for each other's locks, which the barrier would turn into a deadlock
// PostgreSQL cannot see: each vehicle and each device is in one share (latest_fixes is keyed
// by vehicle, the unique index of fixes by device), and all alerts, with the events that name
// no fix, are in the first share (alerts are upserted by their dedup key). A lock held by
// another server's transaction that waits for a share could still close a cycle through the
// barrier: shares give up waiting for a lock after shareLockTimeout, and the retry uses one
// connection.

// minShareFixes is the fewest fixes worth a share of their own: below it, the round trips and
// the connection cost more than the backend's work saved.
const minShareFixes = 256

// shareLockTimeout bounds a share's wait for a row lock (see above).
const shareLockTimeout = "5s"

// errShareFailed rolls back a share whose sibling failed.
var errShareFailed = errors.New("another share of the group commit failed")

// share is the part of a batch one connection commits, with where its items came from.
type share struct {
	b                          tracker.Batch
	eventFixes                 []int
	fixAt, eventAt, alertAt    []int // indexes in the whole batch
	fixIDs, eventIDs, alertIDs []int64
	dups                       []bool
	newFixIDs, newEventIDs     []int64 // reserved, for the fixes and events inserted
}

// shareOf is the share of a vehicle: FNV-1a of its ID.
func shareOf(vehicleID string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(vehicleID); i++ {
		h ^= uint32(vehicleID[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// split divides b into shares by vehicle, or returns nil when one connection should take it
// whole: too few fixes, or one device's fixes naming vehicles of different shares.
func (s *Store) split(b *tracker.Batch, eventFixes []int) []*share {
	n := min(s.writers, len(b.Fixes)/s.minShare)
	if n < 2 {
		return nil
	}
	shares := make([]*share, n)
	for i := range shares {
		shares[i] = &share{}
	}
	fixShare := make([]int, len(b.Fixes))
	deviceShare := make(map[string]int, len(b.Fixes)/4)
	for i := range b.Fixes {
		f := &b.Fixes[i]
		k := shareOf(f.VehicleID, n)
		if d, ok := deviceShare[f.DeviceID]; ok && d != k {
			return nil
		}
		deviceShare[f.DeviceID] = k
		fixShare[i] = k
		sh := shares[k]
		sh.fixAt = append(sh.fixAt, i)
		sh.b.Fixes = append(sh.b.Fixes, *f)
	}
	local := make([]int, len(b.Fixes)) // a fix's index in its share
	for _, sh := range shares {
		for j, i := range sh.fixAt {
			local[i] = j
		}
	}
	for i := range b.Events {
		k, at := 0, -1
		if f := eventFixes[i]; f >= 0 {
			k, at = fixShare[f], local[f]
		}
		sh := shares[k]
		sh.eventAt = append(sh.eventAt, i)
		sh.b.Events = append(sh.b.Events, b.Events[i])
		sh.eventFixes = append(sh.eventFixes, at)
	}
	shares[0].b.Alerts = b.Alerts
	for i := range b.Alerts {
		shares[0].alertAt = append(shares[0].alertAt, i)
	}
	for _, sh := range shares {
		sh.fixIDs, sh.dups = make([]int64, len(sh.b.Fixes)), make([]bool, len(sh.b.Fixes))
		sh.eventIDs, sh.alertIDs = make([]int64, len(sh.b.Events)), make([]int64, len(sh.b.Alerts))
	}
	return shares
}

// commitShares commits the shares of a batch, each on its own connection, and fills in the
// whole batch's IDs and duplicates.
func (s *Store) commitShares(ctx context.Context, shares []*share, fixIDs []int64, dups []bool, eventIDs, alertIDs []int64) error {
	conns, err := s.acquireWriters(ctx, len(shares))
	if err != nil {
		return err
	}
	if err := reserveIDs(ctx, conns[0], &s.ids, shares, len(fixIDs), len(eventIDs)); err != nil {
		for _, c := range conns {
			c.Release()
		}
		return err
	}
	group := &shareGroup{}
	group.ready.Add(len(shares))
	errs := make([]error, len(shares))
	var wg sync.WaitGroup
	for i, sh := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := conns[i]
			// A connection released inside a transaction (the ROLLBACK failed too) is closed by the pool.
			defer conn.Release()
			stx := &shareTx{group: group, newEventIDs: sh.newEventIDs}
			plan := &txPlan{newFixIDs: sh.newFixIDs}
			err := commitTx(ctx, conn.Conn(), &sh.b, sh.eventFixes, sh.fixIDs, sh.dups, sh.eventIDs, sh.alertIDs, plan, stx)
			stx.arrive(err == nil)
			if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
				conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, errShareFailed) {
			return err // the share's own failure, not its siblings' consequence
		}
	}
	for _, sh := range shares {
		for j, i := range sh.fixAt {
			fixIDs[i], dups[i] = sh.fixIDs[j], sh.dups[j]
		}
		for j, i := range sh.eventAt {
			eventIDs[i] = sh.eventIDs[j]
		}
		for j, i := range sh.alertAt {
			alertIDs[i] = sh.alertIDs[j]
		}
	}
	return nil
}

// reserveIDs takes the next fixes IDs and events IDs of a batch of fixes and events from their
// sequences, in one round trip (the blocks' length, see ids.go, is ids'), and hands them to the
// shares in the batch's order.
func reserveIDs(ctx context.Context, conn *pgxpool.Conn, ids *idStock, shares []*share, fixes, events int) error {
	ids.mu.Lock()
	stride, err := ids.increment(ctx, conn)
	ids.mu.Unlock()
	if err != nil {
		return err
	}
	var blocks reservedIDs
	var eventIDs []int64
	if err := conn.QueryRow(ctx, `SELECT ARRAY(SELECT nextval('fixes_id_seq') FROM generate_series(1, $1)), `+fixIDIncrement+`,
		ARRAY(SELECT nextval('events_id_seq') FROM generate_series(1, $2))`, blocksOf(fixes, stride), events).Scan(&blocks.starts, &blocks.stride, &eventIDs); err != nil {
		return err
	}
	fixIDs := blocks.ids() // the rest of the last block is not used
	if len(fixIDs) < fixes {
		return errors.New("the sequence of fix IDs shrank its increment while IDs were reserved")
	}
	slices.Sort(eventIDs)
	for _, sh := range shares {
		sh.newFixIDs, sh.newEventIDs = make([]int64, len(sh.fixAt)), make([]int64, len(sh.eventAt))
		for j, i := range sh.fixAt {
			sh.newFixIDs[j] = fixIDs[i]
		}
		for j, i := range sh.eventAt {
			sh.newEventIDs[j] = eventIDs[i]
		}
	}
	return nil
}

// acquireWriters takes n connections for one group commit. One commit at a time takes its
// connections, so that two commits can never each hold part of theirs while waiting for the
// rest (the pool holds at least s.writers).
func (s *Store) acquireWriters(ctx context.Context, n int) ([]*pgxpool.Conn, error) {
	s.acquireMu.Lock()
	defer s.acquireMu.Unlock()
	conns := make([]*pgxpool.Conn, 0, n)
	for range n {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			for _, c := range conns {
				c.Release()
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// shareGroup is what the shares of one group commit wait on before COMMIT.
type shareGroup struct {
	ready  sync.WaitGroup // one count per share, done when it has done its work or failed
	failed atomic.Bool
}

// shareTx is one share's transaction: its place in its group, and its events' reserved IDs. A nil
// *shareTx is a whole batch's transaction.
type shareTx struct {
	group       *shareGroup
	arrived     bool
	newEventIDs []int64
}

// eventID is the argument of insertEvent's reserved ID for the share's event i: NULL for a whole batch.
func (stx *shareTx) eventID(i int) any {
	if stx == nil {
		return nil
	}
	return stx.newEventIDs[i]
}

// arrive tells the group that this share's work is done (ok) or failed; only the first call counts.
func (stx *shareTx) arrive(ok bool) {
	if stx.arrived {
		return
	}
	stx.arrived = true
	if !ok {
		stx.group.failed.Store(true)
	}
	stx.group.ready.Done()
}

// commit waits for the other shares and commits this one's transaction unless one of them failed.
func (stx *shareTx) commit(ctx context.Context, q querier) error {
	stx.arrive(true)
	stx.group.ready.Wait()
	if stx.group.failed.Load() {
		return errShareFailed
	}
	tag, err := q.Exec(ctx, "COMMIT")
	if err != nil {
		return err
	}
	return committed(tag)
}

// beginStatements open a transaction: a share's also bounds its lock waits.
func beginStatements(stx *shareTx) []string {
	if stx == nil {
		return []string{"BEGIN"}
	}
	return []string{"BEGIN", "SET LOCAL lock_timeout = '" + shareLockTimeout + "'"}
}

// queueBegin queues beginStatements(stx).
func queueBegin(batch *pgx.Batch, stx *shareTx) {
	for _, sql := range beginStatements(stx) {
		batch.Queue(sql)
	}
}
