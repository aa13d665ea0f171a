package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// ConfirmAlert records that an alert was an offence, once, and resolves it if it is not yet.
func (s *Store) ConfirmAlert(ctx context.Context, id int64, user, note string, at time.Time) (tracker.Alert, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return tracker.Alert{}, err
	}
	defer tx.Rollback()
	a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return a, notFound(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alert_confirmations WHERE alert_id = ?`, id).Scan(&n); err != nil {
		return a, err
	}
	if n > 0 {
		return a, fmt.Errorf("%w: confirmed already", tracker.ErrTransition)
	}
	var plate string
	if err := tx.QueryRowContext(ctx, `SELECT plate FROM vehicles WHERE id = ?`, a.VehicleID).Scan(&plate); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, err
	}
	text := tracker.ConfirmedNote(note)
	if a.Note != "" {
		text = a.Note + "\n" + text
	}
	if a.Status == tracker.StatusResolved {
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET note = ?, updated_us = ? WHERE id = ?`, text, us(at), id)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET status = ?, resolved_by = ?, resolved_us = ?, note = ?, updated_us = ? WHERE id = ?`,
			tracker.StatusResolved, user, us(at), text, us(at), id)
	}
	if err != nil {
		return a, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_confirmations(alert_id, vehicle_id, plate, type, by_user, at_us, note) VALUES(?,?,?,?,?,?,?)`,
		id, a.VehicleID, plate, a.Type, user, us(at), note); err != nil {
		return a, err
	}
	a, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return a, err
	}
	return a, tx.Commit()
}

// Confirmations lists the alerts confirmed as offences at or after from, oldest first.
func (s *Store) Confirmations(ctx context.Context, from time.Time) ([]tracker.Confirmation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT alert_id, vehicle_id, plate, type, by_user, at_us, note FROM alert_confirmations WHERE at_us >= ? ORDER BY at_us, alert_id`, us(from))
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (tracker.Confirmation, error) {
		var c tracker.Confirmation
		var at int64
		err := r.Scan(&c.AlertID, &c.VehicleID, &c.Plate, &c.Type, &c.By, &at, &c.Note)
		c.At = fromUS(at)
		return c, err
	})
}
