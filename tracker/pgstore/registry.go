package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

const deviceCols = `id, protocol, vehicle_id, auth_code, created_at`

func scanDevice(r pgx.CollectableRow) (tracker.Device, error) {
	var d tracker.Device
	err := r.Scan(&d.ID, &d.Protocol, &d.VehicleID, &d.AuthCode, &d.CreatedAt)
	d.CreatedAt = d.CreatedAt.UTC()
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
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES ($1, $2, $3, $4, $5)`,
		d.ID, d.Protocol, d.VehicleID, d.AuthCode, orNow(d.CreatedAt))
	return pgErr(err)
}

// UpdateDevice replaces everything of d but its creation time.
func (s *Store) UpdateDevice(ctx context.Context, d tracker.Device) error {
	return notFound(s.pool.Exec(ctx, `UPDATE devices SET protocol = $2, vehicle_id = $3, auth_code = $4 WHERE id = $1`,
		d.ID, d.Protocol, d.VehicleID, d.AuthCode))
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
