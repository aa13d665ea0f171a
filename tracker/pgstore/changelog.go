package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

// ChangesSince returns the zone, declaration and vehicle edits logged after seq (the triggers of
// migration 0020 write them in the edits' transactions), oldest first, at most limit.
func (s *Store) ChangesSince(ctx context.Context, seq int64, limit int) ([]tracker.Change, error) {
	rows, _ := s.pool.Query(ctx, `SELECT seq, kind, ref FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, limit)
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracker.Change, error) {
		var c tracker.Change
		return c, r.Scan(&c.Seq, &c.Kind, &c.Ref)
	})
	return cs, pgErr(err)
}

// LastChange is the sequence of the newest edit logged, 0 if none.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&seq)
	return seq, pgErr(err)
}

// PruneChanges deletes the edits logged before cutoff: every node has long caught up with them.
func (s *Store) PruneChanges(ctx context.Context, cutoff time.Time) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM change_log WHERE at < $1`, cutoff)
	return pgErr(err)
}
