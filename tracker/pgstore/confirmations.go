package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

// ConfirmAlert records that an alert was an offence, once, and resolves it if it is not yet.
func (s *Store) ConfirmAlert(ctx context.Context, id int64, user, note string, at time.Time) (tracker.Alert, error) {
	var out tracker.Alert
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1 FOR UPDATE`, id)
		a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
		if err != nil {
			return pgErr(err)
		}
		var plate string
		if err := tx.QueryRow(ctx, `SELECT plate FROM vehicles WHERE id = $1`, a.VehicleID).Scan(&plate); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO alert_confirmations(alert_id, vehicle_id, plate, type, by_user, at, note) VALUES($1,$2,$3,$4,$5,$6,$7)
			ON CONFLICT (alert_id) DO NOTHING`, id, a.VehicleID, plate, a.Type, user, at, note)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: confirmed already", tracker.ErrTransition)
		}
		rows, _ = tx.Query(ctx, `UPDATE alerts SET status = $2,
			resolved_by = CASE WHEN status = $2 THEN resolved_by ELSE $3 END,
			resolved_at = CASE WHEN status = $2 THEN resolved_at ELSE $4 END,
			updated_at = $4, note = CASE WHEN note = '' THEN $5 ELSE note || E'\n' || $5 END
			WHERE id = $1 RETURNING `+alertCols, id, tracker.StatusResolved, user, at, tracker.ConfirmedNote(note))
		out, err = pgx.CollectExactlyOneRow(rows, scanAlert)
		return err
	})
	if err != nil {
		return tracker.Alert{}, fmt.Errorf("pgstore: alert %d: %w", id, err)
	}
	return out, nil
}

// Confirmations lists the alerts confirmed as offences at or after from, oldest first.
func (s *Store) Confirmations(ctx context.Context, from time.Time) ([]tracker.Confirmation, error) {
	rows, _ := s.pool.Query(ctx, `SELECT alert_id, vehicle_id, plate, type, by_user, at, note FROM alert_confirmations WHERE at >= $1 ORDER BY at, alert_id`, from)
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracker.Confirmation, error) {
		var c tracker.Confirmation
		err := r.Scan(&c.AlertID, &c.VehicleID, &c.Plate, &c.Type, &c.By, &c.At, &c.Note)
		c.At = c.At.UTC()
		return c, err
	})
	return cs, pgErr(err)
}
