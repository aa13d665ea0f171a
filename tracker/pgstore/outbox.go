package pgstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

// The webhook outbox. A trigger on alerts fills alert_outbox (migration 0003); this file routes
// its entries into deliveries and keeps their state. Servers sharing the database route one at
// a time (an advisory lock) and claim deliveries with FOR UPDATE SKIP LOCKED plus a lease, so
// no two send the same delivery while its lease lasts.

const lockRoute = 0x62770003

// outboxAlertCols are alertCols as alert_outbox names them.
var outboxAlertCols = "o.alert_id" + strings.NewReplacer(", ", ", o.", "\n\t", "\n\to.").Replace(strings.TrimPrefix(alertCols, "id"))

const changeCols = `o.seq, o.change, o.created_at, `

// prefixRow scans a row's leading columns into dst and passes the rest on, so scanAlert reads
// the alert columns that follow other ones.
type prefixRow struct {
	pgx.CollectableRow
	dst []any
}

func (r prefixRow) Scan(dest ...any) error { return r.CollectableRow.Scan(append(r.dst, dest...)...) }

func scanChange(r pgx.CollectableRow, dst ...any) (tracker.AlertChange, error) {
	var c tracker.AlertChange
	a, err := scanAlert(prefixRow{r, append(dst, &c.Seq, &c.Change, &c.At)})
	c.Alert, c.At = a, c.At.UTC()
	return c, err
}

// Route routes up to limit unrouted changes to the hooks that want them. While another server
// routes, it returns 0 and leaves the changes to that one.
func (s *Store) Route(ctx context.Context, limit int, now time.Time, hooks func(tracker.AlertChange) []string) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockRoute).Scan(&mine); err != nil || !mine {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+changeCols+outboxAlertCols+` FROM alert_outbox o
			WHERE o.routed_at IS NULL ORDER BY o.seq LIMIT $1`, limit)
		changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracker.AlertChange, error) { return scanChange(r) })
		if err != nil || len(changes) == 0 {
			return err
		}
		var ids, names []string
		var seqs, alerts []int64
		routed := make([]int64, len(changes))
		for i, c := range changes {
			routed[i] = c.Seq
			for _, h := range hooks(c) {
				ids, names, seqs, alerts = append(ids, rand.Text()), append(names, h), append(seqs, c.Seq), append(alerts, c.Alert.ID)
			}
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, hook, seq, alert_id, status, next_at, created_at)
				SELECT i, h, s, a, 'pending', $5, $5 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(i, h, s, a)
				ON CONFLICT (hook, seq) DO NOTHING`, ids, names, seqs, alerts, now); err != nil {
				return err
			}
		}
		// By seq, not up to the last one: a change with a smaller seq may still be committing.
		if _, err := tx.Exec(ctx, `UPDATE alert_outbox SET routed_at = $1 WHERE seq = ANY($2)`, now, routed); err != nil {
			return err
		}
		n = len(changes)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: route outbox: %w", err)
	}
	return n, nil
}

const deliveryCols = `d.id, d.hook, d.status, d.attempts, d.next_at, d.last_code, d.last_error, d.created_at, d.done_at, `

func scanDelivery(r pgx.CollectableRow) (tracker.Delivery, error) {
	var d tracker.Delivery
	c, err := scanChange(r, &d.ID, &d.Hook, &d.Status, &d.Attempts, &d.NextAt, &d.LastCode, &d.LastError, &d.CreatedAt, &d.DoneAt)
	if err != nil {
		return d, err
	}
	d.Event, d.NextAt, d.CreatedAt = c, d.NextAt.UTC(), d.CreatedAt.UTC()
	if d.DoneAt != nil {
		t := d.DoneAt.UTC()
		d.DoneAt = &t
	}
	return d, nil
}

const selectDeliveries = `SELECT ` + deliveryCols + changeCols + `%s FROM webhook_deliveries d JOIN alert_outbox o ON o.seq = d.seq`

// ClaimDeliveries leases the due heads of hook's pending alert queues.
func (s *Store) ClaimDeliveries(ctx context.Context, hook, owner string, now time.Time, lease time.Duration, limit int) ([]tracker.Delivery, error) {
	var out []tracker.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `WITH due AS (
			SELECT d.id FROM webhook_deliveries d
			WHERE d.hook = $1 AND d.status = 'pending' AND d.next_at <= $2 AND d.lease_until <= $2
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
					WHERE e.hook = d.hook AND e.alert_id = d.alert_id AND e.status = 'pending' AND e.seq < d.seq)
			ORDER BY d.seq LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE webhook_deliveries w SET lease_owner = $4, lease_until = $5 FROM due WHERE w.id = due.id RETURNING w.id`,
			hook, now, limit, owner, now.Add(lease))
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, _ = tx.Query(ctx, fmt.Sprintf(selectDeliveries, outboxAlertCols)+` WHERE d.id = ANY($1) ORDER BY d.seq`, ids)
		out, err = pgx.CollectRows(rows, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim deliveries: %w", err)
	}
	return out, nil
}

// RecordAttempts stores the outcomes of attempts in one transaction.
func (s *Store) RecordAttempts(ctx context.Context, owner string, attempts []tracker.DeliveryAttempt) error {
	var batch pgx.Batch
	for _, a := range attempts {
		var done *time.Time
		if a.Status != tracker.DeliveryPending {
			done = &a.At
		}
		batch.Queue(`UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_at = $2,
			last_code = $3, last_error = $4, done_at = $5, lease_owner = '', lease_until = '-infinity'
			WHERE id = $6 AND status = 'pending' AND (lease_owner = $7 OR $1 = 'delivered')`,
			a.Status, a.NextAt, a.Code, a.Error, done, a.ID, owner)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, &batch).Close() })
	if err != nil {
		return fmt.Errorf("pgstore: record deliveries: %w", err)
	}
	return nil
}

// Deliveries lists deliveries, newest first.
func (s *Store) Deliveries(ctx context.Context, q tracker.DeliveryQuery) ([]tracker.Delivery, error) {
	var w where
	w.eq("d.hook", q.Hook)
	w.eq("d.status", q.Status)
	if q.AlertID != 0 {
		w.args = append(w.args, q.AlertID)
		w.conds = append(w.conds, fmt.Sprintf("d.alert_id = $%d", len(w.args)))
	}
	query := fmt.Sprintf(selectDeliveries, outboxAlertCols) + w.sql("d.created_at DESC, d.seq DESC", q.Limit)
	rows, _ := s.pool.Query(ctx, query, w.args...)
	out, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("pgstore: deliveries: %w", err)
	}
	if out == nil {
		out = []tracker.Delivery{}
	}
	return out, nil
}

// RetryDelivery makes a failed delivery pending again.
func (s *Store) RetryDelivery(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_at = $1, done_at = NULL
		WHERE id = $2 AND status = 'failed'`, now, id)
	return notFound(tag, err)
}

// OutboxBacklog counts unrouted changes and pending deliveries by hook.
func (s *Store) OutboxBacklog(ctx context.Context) (int, map[string]int, error) {
	var unrouted int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alert_outbox WHERE routed_at IS NULL`).Scan(&unrouted); err != nil {
		return 0, nil, fmt.Errorf("pgstore: outbox backlog: %w", err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT hook, count(*) FROM webhook_deliveries WHERE status = 'pending' GROUP BY hook`)
	pending := map[string]int{}
	var hook string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&hook, &n}, func() error {
		pending[hook] = n
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("pgstore: outbox backlog: %w", err)
	}
	return unrouted, pending, nil
}

// PruneOutbox deletes deliveries that ended before before and routed changes left without one.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE done_at < $1`, before)
		if err != nil {
			return err
		}
		b, err := tx.Exec(ctx, `DELETE FROM alert_outbox o WHERE routed_at < $1
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.seq = o.seq)`, before)
		n = a.RowsAffected() + b.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune outbox: %w", err)
	}
	return int(n), nil
}
