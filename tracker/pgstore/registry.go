package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

const deviceCols = `id, protocol, vehicle_id, auth_code, terminal_id, maker, model, registered_at, created_at`

func scanDevice(r pgx.CollectableRow) (tracker.Device, error) {
	var d tracker.Device
	var reg *time.Time
	err := r.Scan(&d.ID, &d.Protocol, &d.VehicleID, &d.AuthCode, &d.TerminalID, &d.Maker, &d.Model, &reg, &d.CreatedAt)
	d.RegisteredAt, d.CreatedAt = utc(reg), d.CreatedAt.UTC()
	return d, err
}

// Device returns a registered device.
func (s *Store) Device(ctx context.Context, id string) (tracker.Device, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id)
	d, err := pgx.CollectExactlyOneRow(rows, scanDevice)
	return d, pgErr(err)
}

// Devices returns every device by ID.
func (s *Store) Devices(ctx context.Context) ([]tracker.Device, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+deviceCols+` FROM devices ORDER BY id`)
	return pgx.CollectRows(rows, scanDevice)
}

// CreateDevice adds d; an existing ID is tracker.ErrConflict.
func (s *Store) CreateDevice(ctx context.Context, d tracker.Device) error {
	var reg *time.Time
	if !d.RegisteredAt.IsZero() {
		reg = &d.RegisteredAt
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.ID, d.Protocol, d.VehicleID, d.AuthCode, d.TerminalID, d.Maker, d.Model, reg, orNow(d.CreatedAt))
	return pgErr(err)
}

// UpdateDevice replaces everything of d but its creation time and registration: the
// registration is the gateway's (MarkRegistered) and the administrator's (ResetRegistration).
func (s *Store) UpdateDevice(ctx context.Context, d tracker.Device) error {
	return notFound(s.pool.Exec(ctx, `UPDATE devices SET protocol = $2, vehicle_id = $3, auth_code = $4, terminal_id = $5, maker = $6, model = $7 WHERE id = $1`,
		d.ID, d.Protocol, d.VehicleID, d.AuthCode, d.TerminalID, d.Maker, d.Model))
}

// MarkRegistered records a terminal's first registration: tracker.ErrAlreadyRegistered when
// one is recorded.
func (s *Store) MarkRegistered(ctx context.Context, id string, at time.Time) error {
	err := notFound(s.pool.Exec(ctx, `UPDATE devices SET registered_at = $2 WHERE id = $1 AND registered_at IS NULL`, id, at))
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
	return notFound(s.pool.Exec(ctx, `UPDATE devices SET registered_at = NULL WHERE id = $1`, id))
}

// DeleteDevice removes a device.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	return notFound(s.pool.Exec(ctx, `DELETE FROM devices WHERE id = $1`, id))
}

const vehicleCols = `id, plate, kind, card_id, name, attrs, created_at`

func scanVehicle(r pgx.CollectableRow) (tracker.Vehicle, error) {
	var v tracker.Vehicle
	var attrs []byte
	if err := r.Scan(&v.ID, &v.Plate, &v.Kind, &v.CardID, &v.Name, &attrs, &v.CreatedAt); err != nil {
		return v, err
	}
	v.CreatedAt = v.CreatedAt.UTC()
	if len(attrs) > 0 {
		if err := json.Unmarshal(attrs, &v.Attrs); err != nil {
			return v, fmt.Errorf("vehicle %s attributes: %w", v.ID, err)
		}
	}
	return v, nil
}

// Vehicle returns a vehicle.
func (s *Store) Vehicle(ctx context.Context, id string) (tracker.Vehicle, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleCols+` FROM vehicles WHERE id = $1`, id)
	v, err := pgx.CollectExactlyOneRow(rows, scanVehicle)
	return v, pgErr(err)
}

// Vehicles returns every vehicle by ID.
func (s *Store) Vehicles(ctx context.Context) ([]tracker.Vehicle, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleCols+` FROM vehicles ORDER BY id`)
	return pgx.CollectRows(rows, scanVehicle)
}

// CreateVehicle adds v; an existing ID is tracker.ErrConflict.
func (s *Store) CreateVehicle(ctx context.Context, v tracker.Vehicle) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO vehicles (`+vehicleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		v.ID, v.Plate, v.Kind, v.CardID, v.Name, jsonOrNil(v.Attrs), orNow(v.CreatedAt))
	return pgErr(err)
}

// UpdateVehicle replaces everything of v but its creation time.
func (s *Store) UpdateVehicle(ctx context.Context, v tracker.Vehicle) error {
	return notFound(s.pool.Exec(ctx, `UPDATE vehicles SET plate = $2, kind = $3, card_id = $4, name = $5, attrs = $6 WHERE id = $1`,
		v.ID, v.Plate, v.Kind, v.CardID, v.Name, jsonOrNil(v.Attrs)))
}

// DeleteVehicle removes a vehicle; its fixes stay.
func (s *Store) DeleteVehicle(ctx context.Context, id string) error {
	return notFound(s.pool.Exec(ctx, `DELETE FROM vehicles WHERE id = $1`, id))
}
