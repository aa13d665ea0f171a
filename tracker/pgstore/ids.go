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
type idStock struct {
	mu        sync.Mutex
	ids       []int64 // ascending
	refilling bool    // a commit's round trip is reserving the next block
}

// take returns n IDs, reserving them on conn first if the stock has too few, and how many a
// commit should reserve for later (0: enough, or another commit is already at it).
func (st *idStock) take(ctx context.Context, conn *pgxpool.Conn, n int) ([]int64, int, error) {
	if n == 0 {
		return nil, 0, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.ids) < n {
		var more []int64
		if err := conn.QueryRow(ctx, reserveFixIDs, n-len(st.ids)+idBlock).Scan(&more); err != nil {
			return nil, 0, err
		}
		st.add(more)
	}
	ids := slices.Clone(st.ids[:n])
	st.ids = st.ids[n:]
	refill := 0
	if len(st.ids) < idBlock/2 && !st.refilling {
		st.refilling, refill = true, idBlock
	}
	return ids, refill, nil
}

// put adds the IDs a commit's refill reserved; nil when it reserved none (it failed first).
func (st *idStock) put(ids []int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refilling = false
	st.add(ids)
}

func (st *idStock) add(ids []int64) {
	st.ids = append(st.ids, ids...)
	slices.Sort(st.ids)
}
