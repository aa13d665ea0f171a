package pgstore

import (
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// reserveFixIDs takes $1 blocks of IDs from the sequence of fixes: each value nextval returns
// starts a block as long as the sequence's increment (migration 0022), which the statement
// returns too, so that a block is never taken longer than the increment it was reserved with.
// nextval is not undone by a rollback, so the IDs are this server's whatever becomes of the
// transaction that asked.
const reserveFixIDs = `SELECT ARRAY(SELECT nextval('fixes_id_seq') FROM generate_series(1, $1)), ` + fixIDIncrement

// fixIDIncrement is the increment of the sequence of fixes, as a scalar subquery.
const fixIDIncrement = `(SELECT seqincrement FROM pg_sequence WHERE seqrelid = 'fixes_id_seq'::regclass)`

// reservedIDs is what reserveFixIDs returns: the blocks' first IDs and their length.
type reservedIDs struct {
	starts []int64
	stride int64
}

// dest is the scan destinations of reserveFixIDs' columns.
func (r *reservedIDs) dest() []any { return []any{&r.starts, &r.stride} }

// ids are the IDs of the blocks, ascending.
func (r *reservedIDs) ids() []int64 {
	out := make([]int64, 0, len(r.starts)*int(r.stride))
	for _, v := range r.starts {
		for i := range r.stride {
			out = append(out, v+i)
		}
	}
	slices.Sort(out)
	return out
}

// blocksOf is how many blocks of stride IDs hold n.
func blocksOf(n int, stride int64) int {
	return int((int64(n) + stride - 1) / stride)
}

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
	stride    int64   // the IDs a block holds, as last reserved (0: not read yet)
	refilling bool    // a commit's round trip is reserving the next block
	// generation counts renewals: a refill reserved in an earlier generation is not stocked.
	generation uint64
}

// take returns n IDs, reserving them on conn first if the stock has too few, how many blocks a
// commit should reserve for later (0: enough, or another commit is already at it), and the
// stock's generation to put them back with.
func (st *idStock) take(ctx context.Context, conn *pgxpool.Conn, n int) ([]int64, int, uint64, error) {
	if n == 0 {
		return nil, 0, 0, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, err := st.increment(ctx, conn); err != nil {
		return nil, 0, 0, err
	}
	for len(st.ids) < n { // again only if the increment shrank since it was read
		var more reservedIDs
		if err := conn.QueryRow(ctx, reserveFixIDs, blocksOf(n-len(st.ids)+idBlock, st.stride)).Scan(more.dest()...); err != nil {
			return nil, 0, 0, err
		}
		st.stride = more.stride
		st.add(more.ids())
	}
	ids := slices.Clone(st.ids[:n])
	st.ids = st.ids[n:]
	refill := 0
	if len(st.ids) < idBlock/2 && !st.refilling {
		st.refilling, refill = true, blocksOf(idBlock, st.stride)
	}
	return ids, refill, st.generation, nil
}

// increment is the IDs a block holds, read from the database the first time; st.mu is held.
func (st *idStock) increment(ctx context.Context, conn *pgxpool.Conn) (int64, error) {
	if st.stride == 0 {
		if err := conn.QueryRow(ctx, "SELECT "+fixIDIncrement).Scan(&st.stride); err != nil {
			return 0, err
		}
	}
	return st.stride, nil
}

// put adds the IDs a commit's refill reserved in generation; none when it reserved none (it
// failed first). Those of an earlier generation are dropped: they may be below another server's.
func (st *idStock) put(r reservedIDs, generation uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if generation != st.generation {
		return
	}
	st.refilling = false
	if len(r.starts) > 0 {
		st.stride = r.stride
		st.add(r.ids())
	}
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
