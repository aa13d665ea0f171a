package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// upsertAlert adds a, or updates the unresolved alert with a's DedupKey: the incident's first
// time, its status and who handled it are kept; what the rule knows now replaces the rest.
func upsertAlert(ctx context.Context, tx *sql.Tx, a *tracker.Alert) error {
	evidence := string(a.Evidence)
	if evidence == "" {
		evidence = "null"
	}
	if a.Status == "" {
		a.Status = tracker.StatusOpen
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.Time
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM alerts WHERE dedup_key = ? AND status != ? ORDER BY id DESC LIMIT 1`,
		a.DedupKey, tracker.StatusResolved).Scan(&id)
	switch {
	case err == sql.ErrNoRows:
		return tx.QueryRowContext(ctx, `INSERT INTO alerts(type, severity, status, vehicle_id, time_us, updated_us, zone_id, declaration_id, late, lat, lon, message, dedup_key, active, evidence)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			a.Type, a.Severity, a.Status, a.VehicleID, us(a.Time), us(a.UpdatedAt), a.ZoneID, a.DeclarationID, a.Late, a.Lat, a.Lon,
			a.Message, a.DedupKey, a.Active, evidence).Scan(&a.ID)
	case err != nil:
		return err
	}
	a.ID = id
	_, err = tx.ExecContext(ctx, `UPDATE alerts SET type = ?, severity = ?, updated_us = ?, zone_id = COALESCE(?, zone_id), declaration_id = COALESCE(?, declaration_id),
		late = ?, lat = ?, lon = ?, message = ?, active = ?, evidence = ? WHERE id = ?`,
		a.Type, a.Severity, us(a.UpdatedAt), a.ZoneID, a.DeclarationID, a.Late, a.Lat, a.Lon, a.Message, a.Active, evidence, id)
	return err
}

const alertColumns = `id, type, severity, status, vehicle_id, time_us, updated_us, zone_id, declaration_id, late, lat, lon, message, dedup_key, active, evidence, acked_by, acked_us, resolved_by, resolved_us, note`

func scanAlert(r rowScanner) (tracker.Alert, error) {
	var a tracker.Alert
	var t, upd int64
	var acked, resolved sql.NullInt64
	var zone, decl sql.NullString
	var evidence string
	err := r.Scan(&a.ID, &a.Type, &a.Severity, &a.Status, &a.VehicleID, &t, &upd, &zone, &decl, &a.Late, &a.Lat, &a.Lon,
		&a.Message, &a.DedupKey, &a.Active, &evidence, &a.AckedBy, &acked, &a.ResolvedBy, &resolved, &a.Note)
	if err != nil {
		return a, err
	}
	a.Time, a.UpdatedAt = fromUS(t), fromUS(upd)
	if zone.Valid {
		a.ZoneID = &zone.String
	}
	if decl.Valid {
		a.DeclarationID = &decl.String
	}
	if acked.Valid {
		at := fromUS(acked.Int64)
		a.AckedAt = &at
	}
	if resolved.Valid {
		at := fromUS(resolved.Int64)
		a.ResolvedAt = &at
	}
	a.Evidence = []byte(evidence)
	return a, nil
}

// Alerts returns alerts matching q, newest first.
func (s *Store) Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error) {
	var f filter
	f.eq("vehicle_id", q.VehicleID)
	f.eq("type", q.Type)
	f.eq("status", q.Status)
	f.eq("severity", q.Severity)
	f.in("vehicle_id", q.VehicleIDs)
	if len(q.Zones) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(q.Zones)), ",")
		f.conds = append(f.conds, `(zone_id IN (`+marks+`) OR declaration_id IN (SELECT id FROM declarations
			WHERE port_zone_id IN (`+marks+`) OR corridor_zone_id IN (`+marks+`) OR yard_zone_id IN (`+marks+`)))`)
		for range 4 {
			for _, z := range q.Zones {
				f.args = append(f.args, z)
			}
		}
	}
	f.period("time_us", q.From, q.To)
	query := f.query(`SELECT `+alertColumns+` FROM alerts`, "time_us DESC, id DESC", q.Limit)
	if q.Offset > 0 {
		if q.Limit <= 0 {
			query += " LIMIT -1"
		}
		query += fmt.Sprintf(" OFFSET %d", q.Offset)
	}
	rows, err := s.r.QueryContext(ctx, query, f.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tracker.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Alert returns one alert.
func (s *Store) Alert(ctx context.Context, id int64) (tracker.Alert, error) {
	a, err := scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	return a, notFound(err)
}

// SetAlertStatus moves an alert along its lifecycle.
func (s *Store) SetAlertStatus(ctx context.Context, id int64, status, user, note string, at time.Time) (tracker.Alert, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return tracker.Alert{}, err
	}
	defer tx.Rollback()
	a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return a, notFound(err)
	}
	if !tracker.CanTransition(a.Status, status) {
		return a, fmt.Errorf("%w: %s → %s", tracker.ErrTransition, a.Status, status)
	}
	if note != "" {
		if a.Note != "" {
			a.Note += "\n"
		}
		a.Note += note
	}
	switch status {
	case tracker.StatusAcknowledged:
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET status = ?, acked_by = ?, acked_us = ?, note = ?, updated_us = ? WHERE id = ?`, status, user, us(at), a.Note, us(at), id)
	case tracker.StatusResolved:
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET status = ?, resolved_by = ?, resolved_us = ?, note = ?, updated_us = ? WHERE id = ?`, status, user, us(at), a.Note, us(at), id)
	}
	if err != nil {
		return a, err
	}
	a, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return a, err
	}
	return a, tx.Commit()
}
