package sqlitestore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/borderwatch/borderwatch/tracker"
)

// CreateTarget stores a new order at version 1.
func (s *Store) CreateTarget(ctx context.Context, o tracker.TargetOrder) error {
	o.Version = 1
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO targets(id, vehicle_id, plate, port_id, status, created_us, version, data) VALUES(?,?,?,?,?,?,?,?)`,
		o.ID, o.VehicleID, o.Plate, o.PortID, o.Status, created(o.CreatedAt), o.Version, string(data))
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
	err = s.execOne(ctx, `UPDATE targets SET vehicle_id = ?, plate = ?, port_id = ?, status = ?, version = ?, data = ? WHERE id = ? AND version = ?`,
		o.VehicleID, o.Plate, o.PortID, o.Status, o.Version, string(data), o.ID, read)
	return o, s.staleOrMissing(ctx, err, `SELECT 1 FROM targets WHERE id = ?`, o.ID)
}

// staleOrMissing tells, after an update by id and version touched nothing, whether the row is
// gone (tracker.ErrNotFound) or at another version (tracker.ErrStale).
func (s *Store) staleOrMissing(ctx context.Context, err error, exists, id string) error {
	if !errors.Is(err, tracker.ErrNotFound) {
		return err
	}
	var one int
	if s.r.QueryRowContext(ctx, exists, id).Scan(&one) == nil {
		return tracker.ErrStale
	}
	return tracker.ErrNotFound
}

func scanJSON[T any](r rowScanner) (T, error) {
	var v T
	var data string
	if err := r.Scan(&data); err != nil {
		return v, err
	}
	return v, json.Unmarshal([]byte(data), &v)
}

// Target returns one order.
func (s *Store) Target(ctx context.Context, id string) (tracker.TargetOrder, error) {
	o, err := scanJSON[tracker.TargetOrder](s.r.QueryRowContext(ctx, `SELECT data FROM targets WHERE id = ?`, id))
	return o, notFound(err)
}

// Targets lists orders matching q, newest first.
func (s *Store) Targets(ctx context.Context, q tracker.TargetQuery) ([]tracker.TargetOrder, error) {
	var f filter
	f.eq("status", q.Status)
	f.eq("vehicle_id", q.VehicleID)
	f.eq("plate", q.Plate)
	f.eq("port_id", q.PortID)
	f.period("created_us", q.From, q.To)
	rows, err := s.r.QueryContext(ctx, f.query(`SELECT data FROM targets`, "created_us DESC, id", q.Limit), f.args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanJSON[tracker.TargetOrder])
}

// CreateAssignment stores a new assignment at version 1.
func (s *Store) CreateAssignment(ctx context.Context, a tracker.Assignment) error {
	a.Version = 1
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO assignments(id, order_id, status, assigned_us, version, data) VALUES(?,?,?,?,?,?)`,
		a.ID, a.OrderID, a.Status, created(a.AssignedAt), a.Version, string(data))
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
	err = s.execOne(ctx, `UPDATE assignments SET status = ?, version = ?, data = ? WHERE id = ? AND version = ?`,
		a.Status, a.Version, string(data), a.ID, read)
	return a, s.staleOrMissing(ctx, err, `SELECT 1 FROM assignments WHERE id = ?`, a.ID)
}

// Assignment returns one assignment.
func (s *Store) Assignment(ctx context.Context, id string) (tracker.Assignment, error) {
	a, err := scanJSON[tracker.Assignment](s.r.QueryRowContext(ctx, `SELECT data FROM assignments WHERE id = ?`, id))
	return a, notFound(err)
}

// Assignments lists assignments matching q, newest first.
func (s *Store) Assignments(ctx context.Context, q tracker.AssignmentQuery) ([]tracker.Assignment, error) {
	var f filter
	f.eq("order_id", q.OrderID)
	f.eq("status", q.Status)
	rows, err := s.r.QueryContext(ctx, f.query(`SELECT data FROM assignments`, "assigned_us DESC, id", q.Limit), f.args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanJSON[tracker.Assignment])
}

// PutPhoto stores an order's photo; the same bytes again are the same photo, stored once.
func (s *Store) PutPhoto(ctx context.Context, p tracker.Photo) error {
	return s.exec(ctx, `INSERT INTO target_photos(order_id, sha256, content_type, size, by_user, at_us, data) VALUES(?,?,?,?,?,?,?)
		ON CONFLICT (order_id, sha256) DO NOTHING`,
		p.OrderID, p.SHA256, p.ContentType, len(p.Data), p.By, created(p.At), p.Data)
}

// Photo returns one of an order's photos with its bytes.
func (s *Store) Photo(ctx context.Context, orderID, sha256 string) (tracker.Photo, error) {
	p := tracker.Photo{OrderID: orderID, SHA256: sha256}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT content_type, size, by_user, at_us, data FROM target_photos WHERE order_id = ? AND sha256 = ?`, orderID, sha256).
		Scan(&p.ContentType, &p.Size, &p.By, &at, &p.Data)
	p.At = fromUS(at)
	return p, notFound(err)
}

// Photos lists an order's photos without their bytes, oldest first.
func (s *Store) Photos(ctx context.Context, orderID string) ([]tracker.Photo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sha256, content_type, size, by_user, at_us FROM target_photos WHERE order_id = ? ORDER BY at_us, sha256`, orderID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (tracker.Photo, error) {
		p := tracker.Photo{OrderID: orderID}
		var at int64
		err := r.Scan(&p.SHA256, &p.ContentType, &p.Size, &p.By, &at)
		p.At = fromUS(at)
		return p, err
	})
}
