package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// The webhook outbox. Triggers on alerts fill alert_outbox (migration 3); this file routes its
// entries into deliveries and keeps their state. SQLite has one server, so the leases only
// matter within it.

// outboxAlertColumns are alertColumns as alert_outbox names them.
var outboxAlertColumns = "o.alert_id" + strings.ReplaceAll(strings.TrimPrefix(alertColumns, "id"), ", ", ", o.")

const changeColumns = `o.seq, o.change, o.created_us, `

func scanChange(r rowScanner, dst ...any) (tracker.AlertChange, error) {
	var c tracker.AlertChange
	var created int64
	a, err := scanAlert(scanFunc(func(alert ...any) error {
		return r.Scan(append(append(dst, &c.Seq, &c.Change, &created), alert...)...)
	}))
	c.Alert, c.At = a, fromUS(created)
	return c, err
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// Route routes up to limit unrouted changes to the hooks that want them.
func (s *Store) Route(ctx context.Context, limit int, now time.Time, hooks func(tracker.AlertChange) []string) (int, error) {
	if !s.exists(ctx, `SELECT 1 FROM alert_outbox WHERE routed_us IS NULL LIMIT 1`) {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+changeColumns+outboxAlertColumns+` FROM alert_outbox o
		WHERE o.routed_us IS NULL ORDER BY o.seq LIMIT ?`, limit)
	if err != nil {
		return 0, err
	}
	var changes []tracker.AlertChange
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		changes = append(changes, c)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		return 0, nil
	}
	for _, c := range changes {
		for _, h := range hooks(c) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries(id, hook, seq, alert_id, status, next_us, created_us)
				VALUES(?,?,?,?,?,?,?) ON CONFLICT(hook, seq) DO NOTHING`,
				rand.Text(), h, c.Seq, c.Alert.ID, tracker.DeliveryPending, us(now), us(now)); err != nil {
				return 0, err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alert_outbox SET routed_us = ? WHERE routed_us IS NULL AND seq <= ?`,
		us(now), changes[len(changes)-1].Seq); err != nil {
		return 0, err
	}
	return len(changes), tx.Commit()
}

// exists asks a reader whether query finds a row, so that polling an idle outbox never takes
// the one writer connection from the fixes' group commits. An error answers yes: the write
// transaction that follows reports it.
func (s *Store) exists(ctx context.Context, query string, args ...any) bool {
	var one int
	err := s.r.QueryRowContext(ctx, query, args...).Scan(&one)
	return err != sql.ErrNoRows
}

const deliveryColumns = `d.id, d.hook, d.status, d.attempts, d.next_us, d.last_code, d.last_error, d.created_us, d.done_us, `

func scanDelivery(r rowScanner) (tracker.Delivery, error) {
	var d tracker.Delivery
	var next, created int64
	var done sql.NullInt64
	c, err := scanChange(r, &d.ID, &d.Hook, &d.Status, &d.Attempts, &next, &d.LastCode, &d.LastError, &created, &done)
	if err != nil {
		return d, err
	}
	d.Event, d.NextAt, d.CreatedAt = c, fromUS(next), fromUS(created)
	if done.Valid {
		t := fromUS(done.Int64)
		d.DoneAt = &t
	}
	return d, nil
}

func (s *Store) queryDeliveries(ctx context.Context, q queryer, where string, args ...any) ([]tracker.Delivery, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+deliveryColumns+changeColumns+outboxAlertColumns+`
		FROM webhook_deliveries d JOIN alert_outbox o ON o.seq = d.seq `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tracker.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ClaimDeliveries leases the due heads of hook's pending alert queues.
func (s *Store) ClaimDeliveries(ctx context.Context, hook, owner string, now time.Time, lease time.Duration, limit int) ([]tracker.Delivery, error) {
	if !s.exists(ctx, `SELECT 1 FROM webhook_deliveries WHERE hook = ? AND status = 'pending' AND next_us <= ? AND lease_us <= ? LIMIT 1`,
		hook, us(now), us(now)) {
		return nil, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_us = ? WHERE id IN (
		SELECT d.id FROM webhook_deliveries d
		WHERE d.hook = ? AND d.status = 'pending' AND d.next_us <= ? AND d.lease_us <= ?
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
				WHERE e.hook = d.hook AND e.alert_id = d.alert_id AND e.status = 'pending' AND e.seq < d.seq)
		ORDER BY d.seq LIMIT ?) RETURNING id`,
		owner, us(now.Add(lease)), hook, us(now), us(now), limit)
	if err != nil {
		return nil, err
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := s.queryDeliveries(ctx, tx, `WHERE d.id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY d.seq`, ids...)
	if err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

// RecordAttempts stores the outcomes of attempts in one transaction.
func (s *Store) RecordAttempts(ctx context.Context, owner string, attempts []tracker.DeliveryAttempt) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, a := range attempts {
		var done any
		if a.Status != tracker.DeliveryPending {
			done = us(a.At)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_us = ?,
			last_code = ?, last_error = ?, done_us = ?, lease_owner = '', lease_us = 0
			WHERE id = ? AND status = 'pending' AND (lease_owner = ? OR ? = 'delivered')`,
			a.Status, us(a.NextAt), a.Code, a.Error, done, a.ID, owner, a.Status); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Deliveries lists deliveries, newest first.
func (s *Store) Deliveries(ctx context.Context, q tracker.DeliveryQuery) ([]tracker.Delivery, error) {
	var f filter
	f.eq("d.hook", q.Hook)
	f.eq("d.status", q.Status)
	if q.AlertID != 0 {
		f.conds, f.args = append(f.conds, "d.alert_id = ?"), append(f.args, q.AlertID)
	}
	where := f.query("", "d.created_us DESC, d.seq DESC", q.Limit)
	return s.queryDeliveries(ctx, s.r, where, f.args...)
}

// RetryDelivery makes a failed delivery pending again.
func (s *Store) RetryDelivery(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_us = ?, done_us = NULL
		WHERE id = ? AND status = 'failed'`, us(now), id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = tracker.ErrNotFound
	}
	return err
}

// OutboxBacklog counts unrouted changes and pending deliveries by hook.
func (s *Store) OutboxBacklog(ctx context.Context) (int, map[string]int, error) {
	var unrouted int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM alert_outbox WHERE routed_us IS NULL`).Scan(&unrouted); err != nil {
		return 0, nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT hook, count(*) FROM webhook_deliveries WHERE status = 'pending' GROUP BY hook`)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	pending := map[string]int{}
	for rows.Next() {
		var hook string
		var n int
		if err := rows.Scan(&hook, &n); err != nil {
			return 0, nil, err
		}
		pending[hook] = n
	}
	return unrouted, pending, rows.Err()
}

// PruneOutbox deletes deliveries that ended before before and routed changes left without one.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := int64(0)
	for _, q := range []string{
		`DELETE FROM webhook_deliveries WHERE done_us IS NOT NULL AND done_us < ?`,
		`DELETE FROM alert_outbox WHERE routed_us IS NOT NULL AND routed_us < ?
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.seq = alert_outbox.seq)`,
	} {
		res, err := tx.ExecContext(ctx, q, us(before))
		if err != nil {
			return 0, err
		}
		m, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += m
	}
	return int(n), tx.Commit()
}
