package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

const declarationCols = `id, vehicle_id, direction, port_zone_id, corridor_zone_id, yard_zone_id, valid_from, valid_to, status, status_reason, created_at, closed_at, type, cargo, grade, declared_net_kg, driver_card, seal_id`

func scanDeclaration(r pgx.CollectableRow) (tracker.Declaration, error) {
	var d tracker.Declaration
	err := r.Scan(&d.ID, &d.VehicleID, &d.Direction, &d.PortZoneID, &d.CorridorZoneID, &d.YardZoneID, &d.ValidFrom, &d.ValidTo, &d.Status, &d.StatusReason, &d.CreatedAt, &d.ClosedAt,
		&d.Type, &d.Cargo, &d.Grade, &d.DeclaredNetKg, &d.DriverCard, &d.SealID)
	d.ValidFrom, d.ValidTo, d.CreatedAt = d.ValidFrom.UTC(), d.ValidTo.UTC(), d.CreatedAt.UTC()
	if d.ClosedAt != nil {
		t := d.ClosedAt.UTC()
		d.ClosedAt = &t
	}
	return d, err
}

// CreateDeclaration stores a new declaration; an existing ID is tracker.ErrConflict.
func (s *Store) CreateDeclaration(ctx context.Context, d tracker.Declaration) error {
	if d.Status == "" {
		d.Status = tracker.DeclarationActive
	}
	if d.Type == "" {
		d.Type = tracker.DeclarationNormal
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO declarations (`+declarationCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
		d.ID, d.VehicleID, d.Direction, d.PortZoneID, d.CorridorZoneID, d.YardZoneID, d.ValidFrom, d.ValidTo, d.Status, d.StatusReason, orNow(d.CreatedAt), d.ClosedAt,
		d.Type, d.Cargo, d.Grade, d.DeclaredNetKg, d.DriverCard, d.SealID)
	return pgErr(err)
}

// CloseDeclaration ends an active declaration.
func (s *Store) CloseDeclaration(ctx context.Context, id, status, reason string, at time.Time) (tracker.Declaration, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE declarations SET status = $2, status_reason = $3, closed_at = $4 WHERE id = $1 AND status = $5`,
		id, status, reason, at, tracker.DeclarationActive)
	if err != nil {
		return tracker.Declaration{}, pgErr(err)
	}
	d, err := s.Declaration(ctx, id)
	if err != nil {
		return d, err
	}
	if tag.RowsAffected() == 0 {
		return d, fmt.Errorf("%w: declaration %s is %s", tracker.ErrTransition, id, d.Status)
	}
	return d, nil
}

// Declaration returns one declaration.
func (s *Store) Declaration(ctx context.Context, id string) (tracker.Declaration, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+declarationCols+` FROM declarations WHERE id = $1`, id)
	d, err := pgx.CollectExactlyOneRow(rows, scanDeclaration)
	return d, pgErr(err)
}

// Declarations lists declarations matching q, newest validity first.
func (s *Store) Declarations(ctx context.Context, q tracker.DeclarationQuery) ([]tracker.Declaration, error) {
	query, args := declarationsQuery(q)
	rows, _ := s.pool.Query(ctx, query, args...)
	return pgx.CollectRows(rows, scanDeclaration)
}

// declarationsQuery is Declarations' SQL and its arguments.
func declarationsQuery(q tracker.DeclarationQuery) (string, []any) {
	var where []string
	var args []any
	if q.VehicleID != "" {
		args = append(args, q.VehicleID)
		where = append(where, fmt.Sprintf("vehicle_id = $%d", len(args)))
	}
	if q.Status != "" {
		args = append(args, q.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	if !q.ClosedFrom.IsZero() {
		args = append(args, q.ClosedFrom)
		where = append(where, fmt.Sprintf("closed_at >= $%d", len(args)))
	}
	query := `SELECT ` + declarationCols + ` FROM declarations`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY valid_from DESC, id"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return query, args
}
