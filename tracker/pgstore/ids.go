package pgstore

import (
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// reserveFixIDs takes $1 IDs from the sequence of fixes. nextval is not undone by a rollback,
// so the IDs are this server's whatever becomes of the transaction that asked.
const reserveFixIDs = `SELECT ARRAY(SELECT nextval('fixes_id_seq') FROM generate_series(1, $1))`

// idBlock is how many fix IDs are reserved at a time: four of the pipeline's largest batches.
const idBlock = 16384

// idStock holds fix IDs reserved ahead of the commits that use them, so that a commit knows its
// fixes' IDs (and its events' fix IDs) before it sends anything, and sends it all without waiting. A
// commit takes the lowest IDs in stock: one server's IDs still follow the order of its fixes,
// which Track, SearchArea and Events rely on to break ties of time. When the stock runs low, a
// commit reserves the next block in its own round trip (txPlan.refill).
//
// Across servers IDs follow the order of reservation, not of commits: a cluster tracker taking a
// partition over may hold IDs reserved before the previous owner's, so it renews its stock first
// (renew), and each vehicle's fixes keep ascending IDs across the hand-over.
type idStock struct {
	mu        sync.Mutex
	ids       []int64 // ascending
	refilling bool    // a commit's round trip is reserving the next block
	// generation counts renewals: a refill reserved in an earlier generation is not stocked.
	generation uint64
}

// take returns n IDs, reserving them on conn first if the stock has too few, how many a commit
// should reserve for later (0: enough, or another commit is already at it), and the stock's
// generation to put them back with.
func (st *idStock) take(ctx context.Context, conn *pgxpool.Conn, n int) ([]int64, int, uint64, error) {
	if n == 0 {
		return nil, 0, 0, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.ids) < n {
		var more []int64
		if err := conn.QueryRow(ctx, reserveFixIDs, n-len(st.ids)+idBlock).Scan(&more); err != nil {
			return nil, 0, 0, err
		}
		st.add(more)
	}
	ids := slices.Clone(st.ids[:n])
	st.ids = st.ids[n:]
	refill := 0
	if len(st.ids) < idBlock/2 && !st.refilling {
		st.refilling, refill = true, idBlock
	}
	return ids, refill, st.generation, nil
}

// put adds the IDs a commit's refill reserved in generation; nil when it reserved none (it failed
// first). Those of an earlier generation are dropped: they may be below another server's.
func (st *idStock) put(ids []int64, generation uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if generation != st.generation {
		return
	}
	st.refilling = false
	st.add(ids)
}

// renew drops the stock and any refill under way: the IDs taken next are reserved after it.
func (st *idStock) renew() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.ids, st.refilling = nil, false
	st.generation++
}

func (st *idStock) add(ids []int64) {
	st.ids = append(st.ids, ids...)
	slices.Sort(st.ids)
}
