package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.w.ExecContext(ctx, query, args...)
	if isUniqueViolation(err) {
		return tracker.ErrConflict
	}
	return err
}

// execOne runs a statement that must touch exactly one row.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return tracker.ErrNotFound
	}
	return nil
}

func created(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMicro()
}

const deviceCols = `id, protocol, vehicle_id, auth_code, terminal_id, maker, model, registered_us, created_us`

// CreateDevice registers a device.
func (s *Store) CreateDevice(ctx context.Context, d tracker.Device) error {
	return s.exec(ctx, `INSERT INTO devices(`+deviceCols+`) VALUES(?,?,?,?,?,?,?,?,?)`,
		d.ID, d.Protocol, d.VehicleID, d.AuthCode, d.TerminalID, d.Maker, d.Model, us(d.RegisteredAt), created(d.CreatedAt))
}

// UpdateDevice changes a device's protocol, vehicle, auth code and pre-registered terminal;
// its registration is the gateway's (MarkRegistered) and the administrator's (ResetRegistration).
func (s *Store) UpdateDevice(ctx context.Context, d tracker.Device) error {
	return s.execOne(ctx, `UPDATE devices SET protocol = ?, vehicle_id = ?, auth_code = ?, terminal_id = ?, maker = ?, model = ? WHERE id = ?`,
		d.Protocol, d.VehicleID, d.AuthCode, d.TerminalID, d.Maker, d.Model, d.ID)
}

// MarkRegistered records a terminal's first registration: tracker.ErrAlreadyRegistered when
// one is recorded.
func (s *Store) MarkRegistered(ctx context.Context, id string, at time.Time) error {
	err := s.execOne(ctx, `UPDATE devices SET registered_us = ? WHERE id = ? AND registered_us = 0`, us(at), id)
	if errors.Is(err, tracker.ErrNotFound) {
		if _, err := s.Device(ctx, id); err != nil {
			return err
		}
		return tracker.ErrAlreadyRegistered
	}
	return err
}

// ResetRegistration forgets a device's registration, so that the terminal may register again.
func (s *Store) ResetRegistration(ctx context.Context, id string) error {
	return s.execOne(ctx, `UPDATE devices SET registered_us = 0 WHERE id = ?`, id)
}

// DeleteDevice removes a device; its stored fixes stay.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM devices WHERE id = ?`, id)
}

func scanDevice(r rowScanner) (tracker.Device, error) {
	var d tracker.Device
	var reg, c int64
	err := r.Scan(&d.ID, &d.Protocol, &d.VehicleID, &d.AuthCode, &d.TerminalID, &d.Maker, &d.Model, &reg, &c)
	d.RegisteredAt, d.CreatedAt = fromUS(reg), fromUS(c)
	return d, err
}

// Device returns a registered device.
func (s *Store) Device(ctx context.Context, id string) (tracker.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	return d, notFound(err)
}

// Devices lists every device.
func (s *Store) Devices(ctx context.Context) ([]tracker.Device, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanDevice)
}

func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateVehicle registers a vehicle.
func (s *Store) CreateVehicle(ctx context.Context, v tracker.Vehicle) error {
	attrs, err := jsonText(v.Attrs)
	if err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO vehicles(id, plate, kind, card_id, name, attrs, created_us) VALUES(?,?,?,?,?,?,?)`,
		v.ID, v.Plate, v.Kind, v.CardID, v.Name, attrs, created(v.CreatedAt))
}

// UpdateVehicle changes everything but the id and creation time.
func (s *Store) UpdateVehicle(ctx context.Context, v tracker.Vehicle) error {
	attrs, err := jsonText(v.Attrs)
	if err != nil {
		return err
	}
	return s.execOne(ctx, `UPDATE vehicles SET plate = ?, kind = ?, card_id = ?, name = ?, attrs = ? WHERE id = ?`,
		v.Plate, v.Kind, v.CardID, v.Name, attrs, v.ID)
}

// DeleteVehicle removes a vehicle; its track stays as evidence.
func (s *Store) DeleteVehicle(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM vehicles WHERE id = ?`, id)
}

func scanVehicle(r rowScanner) (tracker.Vehicle, error) {
	var v tracker.Vehicle
	var c int64
	var attrs string
	if err := r.Scan(&v.ID, &v.Plate, &v.Kind, &v.CardID, &v.Name, &attrs, &c); err != nil {
		return v, err
	}
	v.CreatedAt = fromUS(c)
	return v, unmarshalText(attrs, &v.Attrs)
}

const vehicleColumns = `id, plate, kind, card_id, name, attrs, created_us`

// Vehicle returns one vehicle.
func (s *Store) Vehicle(ctx context.Context, id string) (tracker.Vehicle, error) {
	v, err := scanVehicle(s.r.QueryRowContext(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE id = ?`, id))
	return v, notFound(err)
}

// Vehicles lists every vehicle.
func (s *Store) Vehicles(ctx context.Context) ([]tracker.Vehicle, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+vehicleColumns+` FROM vehicles ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanVehicle)
}
