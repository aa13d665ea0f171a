package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const declarationColumns = `id, vehicle_id, direction, port_zone_id, corridor_zone_id, yard_zone_id, valid_from_us, valid_to_us, status, status_reason, created_us, closed_us, type, cargo, grade, declared_net_kg, driver_card, seal_id`

// CreateDeclaration stores a new declaration.
func (s *Store) CreateDeclaration(ctx context.Context, d tracker.Declaration) error {
	if d.Status == "" {
		d.Status = tracker.DeclarationActive
	}
	if d.Type == "" {
		d.Type = tracker.DeclarationNormal
	}
	return s.exec(ctx, `INSERT INTO declarations(`+declarationColumns+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.VehicleID, d.Direction, d.PortZoneID, d.CorridorZoneID, d.YardZoneID, us(d.ValidFrom), us(d.ValidTo),
		d.Status, d.StatusReason, created(d.CreatedAt), nullUS(d.ClosedAt),
		d.Type, d.Cargo, d.Grade, d.DeclaredNetKg, d.DriverCard, d.SealID)
}

// CloseDeclaration ends an active declaration.
func (s *Store) CloseDeclaration(ctx context.Context, id, status, reason string, at time.Time) (tracker.Declaration, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE declarations SET status = ?, status_reason = ?, closed_us = ? WHERE id = ? AND status = ?`,
		status, reason, us(at), id, tracker.DeclarationActive)
	if err != nil {
		return tracker.Declaration{}, err
	}
	d, err := s.Declaration(ctx, id)
	if err != nil {
		return d, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return d, fmt.Errorf("%w: declaration %s is %s", tracker.ErrTransition, id, d.Status)
	}
	return d, nil
}

func scanDeclaration(r rowScanner) (tracker.Declaration, error) {
	var d tracker.Declaration
	var from, to, c int64
	var closed sql.NullInt64
	err := r.Scan(&d.ID, &d.VehicleID, &d.Direction, &d.PortZoneID, &d.CorridorZoneID, &d.YardZoneID, &from, &to, &d.Status, &d.StatusReason, &c, &closed,
		&d.Type, &d.Cargo, &d.Grade, &d.DeclaredNetKg, &d.DriverCard, &d.SealID)
	d.ValidFrom, d.ValidTo, d.CreatedAt = fromUS(from), fromUS(to), fromUS(c)
	if closed.Valid {
		t := fromUS(closed.Int64)
		d.ClosedAt = &t
	}
	return d, err
}

// Declaration returns one declaration.
func (s *Store) Declaration(ctx context.Context, id string) (tracker.Declaration, error) {
	d, err := scanDeclaration(s.r.QueryRowContext(ctx, `SELECT `+declarationColumns+` FROM declarations WHERE id = ?`, id))
	return d, notFound(err)
}

// Declarations lists declarations matching q, newest validity first.
func (s *Store) Declarations(ctx context.Context, q tracker.DeclarationQuery) ([]tracker.Declaration, error) {
	var f filter
	f.eq("vehicle_id", q.VehicleID)
	f.eq("status", q.Status)
	f.period("closed_us", q.ClosedFrom, time.Time{})
	query := f.query(`SELECT `+declarationColumns+` FROM declarations`, "valid_from_us DESC, id", q.Limit)
	rows, err := s.r.QueryContext(ctx, query, f.args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanDeclaration)
}
