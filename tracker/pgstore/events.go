package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

// where builds a WHERE clause from optional conditions; empty values match everything.
type where struct {
	conds []string
	args  []any
}

func (w *where) eq(col, v string) {
	if v != "" {
		w.args = append(w.args, v)
		w.conds = append(w.conds, fmt.Sprintf("%s = $%d", col, len(w.args)))
	}
}

func (w *where) period(col string, from, to time.Time) {
	if !from.IsZero() {
		w.args = append(w.args, from)
		w.conds = append(w.conds, fmt.Sprintf("%s >= $%d", col, len(w.args)))
	}
	if !to.IsZero() {
		w.args = append(w.args, to)
		w.conds = append(w.conds, fmt.Sprintf("%s < $%d", col, len(w.args)))
	}
}

func (w *where) sql(order string, limit int) string {
	var b strings.Builder
	if len(w.conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(w.conds, " AND "))
	}
	b.WriteString(" ORDER BY " + order)
	if limit > 0 {
		w.args = append(w.args, limit)
		fmt.Fprintf(&b, " LIMIT $%d", len(w.args))
	}
	return b.String()
}

const eventCols = `id, type, time, vehicle_id, zone_id, lat, lon, fix_id, late, attrs`

// Events returns the events matching q, oldest first (q.NewestFirst: newest first).
func (s *Store) Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error) {
	var w where
	w.eq("vehicle_id", q.VehicleID)
	w.eq("type", q.Type)
	w.period("time", q.From, q.To)
	order := "time, id"
	if q.NewestFirst {
		order = "time DESC, id DESC"
	}
	return s.queryEvents(ctx, `SELECT `+eventCols+` FROM events`+w.sql(order, q.Limit), w.args...)
}

// LatestEvents returns the newest event of type typ of each vehicle that has one.
func (s *Store) LatestEvents(ctx context.Context, typ string) ([]tracker.Event, error) {
	return s.queryEvents(ctx, `SELECT DISTINCT ON (vehicle_id) `+eventCols+` FROM events WHERE type = $1
		ORDER BY vehicle_id, time DESC, id DESC`, typ)
}

func (s *Store) queryEvents(ctx context.Context, query string, args ...any) ([]tracker.Event, error) {
	rows, _ := s.pool.Query(ctx, query, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracker.Event, error) {
		var e tracker.Event
		var attrs []byte
		if err := r.Scan(&e.ID, &e.Type, &e.Time, &e.VehicleID, &e.ZoneID, &e.Lat, &e.Lon, &e.FixID, &e.Late, &attrs); err != nil {
			return e, err
		}
		e.Time = e.Time.UTC()
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &e.Attrs); err != nil {
				return e, err
			}
		}
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: events: %w", err)
	}
	return out, nil
}

const alertCols = `id, type, severity, status, vehicle_id, time, updated_at, zone_id, declaration_id, late, lat, lon,
	message, dedup_key, active, evidence, acked_by, acked_at, resolved_by, resolved_at, note`

func scanAlert(r pgx.CollectableRow) (tracker.Alert, error) {
	var a tracker.Alert
	var evidence []byte
	err := r.Scan(&a.ID, &a.Type, &a.Severity, &a.Status, &a.VehicleID, &a.Time, &a.UpdatedAt, &a.ZoneID, &a.DeclarationID,
		&a.Late, &a.Lat, &a.Lon, &a.Message, &a.DedupKey, &a.Active, &evidence, &a.AckedBy, &a.AckedAt, &a.ResolvedBy,
		&a.ResolvedAt, &a.Note)
	if err != nil {
		return a, err
	}
	a.Time, a.UpdatedAt = a.Time.UTC(), a.UpdatedAt.UTC()
	for _, p := range []**time.Time{&a.AckedAt, &a.ResolvedAt} {
		if *p != nil {
			t := utc(*p)
			*p = &t
		}
	}
	if len(evidence) > 0 {
		a.Evidence = json.RawMessage(evidence)
	}
	return a, nil
}

// Alerts returns the alerts matching q, newest first.
func (s *Store) Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error) {
	var w where
	w.eq("vehicle_id", q.VehicleID)
	w.eq("type", q.Type)
	w.eq("status", q.Status)
	w.eq("severity", q.Severity)
	if len(q.VehicleIDs) > 0 {
		w.args = append(w.args, q.VehicleIDs)
		w.conds = append(w.conds, fmt.Sprintf("vehicle_id = ANY($%d)", len(w.args)))
	}
	if len(q.Zones) > 0 {
		w.args = append(w.args, q.Zones)
		n := len(w.args)
		w.conds = append(w.conds, fmt.Sprintf(`(zone_id = ANY($%[1]d) OR declaration_id IN (SELECT id FROM declarations
			WHERE port_zone_id = ANY($%[1]d) OR corridor_zone_id = ANY($%[1]d) OR yard_zone_id = ANY($%[1]d)))`, n))
	}
	w.period("time", q.From, q.To)
	sql := `SELECT ` + alertCols + ` FROM alerts` + w.sql("time DESC, id DESC", q.Limit)
	if q.Offset > 0 {
		w.args = append(w.args, q.Offset)
		sql += fmt.Sprintf(" OFFSET $%d", len(w.args))
	}
	rows, _ := s.pool.Query(ctx, sql, w.args...)
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("pgstore: alerts: %w", err)
	}
	return out, nil
}

// Alert returns one alert.
func (s *Store) Alert(ctx context.Context, id int64) (tracker.Alert, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id)
	a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	return a, pgErr(err)
}

// SetAlertStatus moves an alert along open → acknowledged → resolved (open → resolved too),
// recording who and when and appending a non-empty note.
func (s *Store) SetAlertStatus(ctx context.Context, id int64, status, user, note string, at time.Time) (tracker.Alert, error) {
	var out tracker.Alert
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cur string
		if err := tx.QueryRow(ctx, `SELECT status FROM alerts WHERE id = $1 FOR UPDATE`, id).Scan(&cur); err != nil {
			return pgErr(err)
		}
		var set string
		switch {
		case status == tracker.StatusAcknowledged && cur == tracker.StatusOpen:
			set = "acked_by = $3, acked_at = $4"
		case status == tracker.StatusResolved && (cur == tracker.StatusOpen || cur == tracker.StatusAcknowledged):
			set = "resolved_by = $3, resolved_at = $4"
		default:
			return fmt.Errorf("%w: %s → %s", tracker.ErrTransition, cur, status)
		}
		rows, _ := tx.Query(ctx, `UPDATE alerts SET status = $2, `+set+`, updated_at = $4,
			note = CASE WHEN $5 = '' THEN note WHEN note = '' THEN $5 ELSE note || E'\n' || $5 END
			WHERE id = $1 RETURNING `+alertCols, id, status, user, at, note)
		a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
		out = a
		return err
	})
	if err != nil {
		return tracker.Alert{}, fmt.Errorf("pgstore: alert %d: %w", id, err)
	}
	return out, nil
}
