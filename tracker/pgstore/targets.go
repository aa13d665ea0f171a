package pgstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

// CreateTarget stores a new order at version 1.
func (s *Store) CreateTarget(ctx context.Context, o tracker.TargetOrder) error {
	o.Version = 1
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO targets (id, vehicle_id, plate, port_id, status, created_at, version, data) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		o.ID, o.VehicleID, o.Plate, o.PortID, o.Status, orNow(o.CreatedAt), o.Version, data)
	return pgErr(err)
}

// UpdateTarget stores o over the stored order if that is still at o.Version, and returns it at
// the next version.
func (s *Store) UpdateTarget(ctx context.Context, o tracker.TargetOrder) (tracker.TargetOrder, error) {
	read := o.Version
	o.Version++
	data, err := json.Marshal(o)
	if err != nil {
		return o, err
	}
	err = notFound(s.pool.Exec(ctx, `UPDATE targets SET vehicle_id = $1, plate = $2, port_id = $3, status = $4, version = $5, data = $6 WHERE id = $7 AND version = $8`,
		o.VehicleID, o.Plate, o.PortID, o.Status, o.Version, data, o.ID, read))
	return o, s.staleOrMissing(ctx, err, `SELECT 1 FROM targets WHERE id = $1`, o.ID)
}

// staleOrMissing tells, after an update by id and version touched nothing, whether the row is
// gone (tracker.ErrNotFound) or at another version (tracker.ErrStale).
func (s *Store) staleOrMissing(ctx context.Context, err error, exists, id string) error {
	if !errors.Is(err, tracker.ErrNotFound) {
		return err
	}
	var one int
	if s.pool.QueryRow(ctx, exists, id).Scan(&one) == nil {
		return tracker.ErrStale
	}
	return tracker.ErrNotFound
}

func scanJSON[T any](r pgx.CollectableRow) (T, error) {
	var v T
	var data []byte
	if err := r.Scan(&data); err != nil {
		return v, err
	}
	return v, json.Unmarshal(data, &v)
}

// Target returns one order.
func (s *Store) Target(ctx context.Context, id string) (tracker.TargetOrder, error) {
	rows, _ := s.pool.Query(ctx, `SELECT data FROM targets WHERE id = $1`, id)
	o, err := pgx.CollectExactlyOneRow(rows, scanJSON[tracker.TargetOrder])
	return o, pgErr(err)
}

// Targets lists orders matching q, newest first.
func (s *Store) Targets(ctx context.Context, q tracker.TargetQuery) ([]tracker.TargetOrder, error) {
	var w where
	w.eq("status", q.Status)
	w.eq("vehicle_id", q.VehicleID)
	w.eq("plate", q.Plate)
	w.eq("port_id", q.PortID)
	w.period("created_at", q.From, q.To)
	rows, _ := s.pool.Query(ctx, `SELECT data FROM targets`+w.sql("created_at DESC, id", q.Limit), w.args...)
	return pgx.CollectRows(rows, scanJSON[tracker.TargetOrder])
}

// CreateAssignment stores a new assignment at version 1.
func (s *Store) CreateAssignment(ctx context.Context, a tracker.Assignment) error {
	a.Version = 1
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO assignments (id, order_id, status, assigned_at, version, data) VALUES ($1,$2,$3,$4,$5,$6)`,
		a.ID, a.OrderID, a.Status, orNow(a.AssignedAt), a.Version, data)
	return pgErr(err)
}

// UpdateAssignment stores a over the stored assignment if that is still at a.Version, and
// returns it at the next version.
func (s *Store) UpdateAssignment(ctx context.Context, a tracker.Assignment) (tracker.Assignment, error) {
	read := a.Version
	a.Version++
	data, err := json.Marshal(a)
	if err != nil {
		return a, err
	}
	err = notFound(s.pool.Exec(ctx, `UPDATE assignments SET status = $1, version = $2, data = $3 WHERE id = $4 AND version = $5`,
		a.Status, a.Version, data, a.ID, read))
	return a, s.staleOrMissing(ctx, err, `SELECT 1 FROM assignments WHERE id = $1`, a.ID)
}

// Assignment returns one assignment.
func (s *Store) Assignment(ctx context.Context, id string) (tracker.Assignment, error) {
	rows, _ := s.pool.Query(ctx, `SELECT data FROM assignments WHERE id = $1`, id)
	a, err := pgx.CollectExactlyOneRow(rows, scanJSON[tracker.Assignment])
	return a, pgErr(err)
}

// Assignments lists assignments matching q, newest first.
func (s *Store) Assignments(ctx context.Context, q tracker.AssignmentQuery) ([]tracker.Assignment, error) {
	var w where
	w.eq("order_id", q.OrderID)
	w.eq("status", q.Status)
	rows, _ := s.pool.Query(ctx, `SELECT data FROM assignments`+w.sql("assigned_at DESC, id", q.Limit), w.args...)
	return pgx.CollectRows(rows, scanJSON[tracker.Assignment])
}

// PutPhoto stores an order's photo; the same bytes again are the same photo, stored once.
func (s *Store) PutPhoto(ctx context.Context, p tracker.Photo) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO target_photos (order_id, sha256, content_type, size, by_user, at, data) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (order_id, sha256) DO NOTHING`,
		p.OrderID, p.SHA256, p.ContentType, len(p.Data), p.By, orNow(p.At), p.Data)
	return pgErr(err)
}

// Photo returns one of an order's photos with its bytes.
func (s *Store) Photo(ctx context.Context, orderID, sha256 string) (tracker.Photo, error) {
	p := tracker.Photo{OrderID: orderID, SHA256: sha256}
	err := s.pool.QueryRow(ctx, `SELECT content_type, size, by_user, at, data FROM target_photos WHERE order_id = $1 AND sha256 = $2`, orderID, sha256).
		Scan(&p.ContentType, &p.Size, &p.By, &p.At, &p.Data)
	p.At = p.At.UTC()
	return p, pgErr(err)
}

// Photos lists an order's photos without their bytes, oldest first.
func (s *Store) Photos(ctx context.Context, orderID string) ([]tracker.Photo, error) {
	rows, _ := s.pool.Query(ctx, `SELECT sha256, content_type, size, by_user, at FROM target_photos WHERE order_id = $1 ORDER BY at, sha256`, orderID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracker.Photo, error) {
		p := tracker.Photo{OrderID: orderID}
		err := r.Scan(&p.SHA256, &p.ContentType, &p.Size, &p.By, &p.At)
		p.At = p.At.UTC()
		return p, err
	})
}
