package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
)

// PutZones adds or replaces zones in one transaction; each gets the next version.
func (s *Store) PutZones(ctx context.Context, zones []geofence.Zone) ([]geofence.Zone, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Microsecond)
	out := make([]geofence.Zone, len(zones))
	for i, z := range zones {
		if z.ID == "" || z.Geometry == nil {
			return nil, fmt.Errorf("zone %d (%q): a zone needs an id and a geometry", i, z.Name)
		}
		var v int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM zones WHERE id = ?`, z.ID).Scan(&v)
		if err != nil && !isNoRows(err) {
			return nil, err
		}
		z.Version, z.UpdatedAt = v+1, now
		b, err := json.Marshal(z)
		if err != nil {
			return nil, fmt.Errorf("zone %q: %w", z.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO zones(id, kind, feature, version, updated_us) VALUES(?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, feature = excluded.feature, version = excluded.version, updated_us = excluded.updated_us`,
			z.ID, string(z.Kind), string(b), z.Version, us(now)); err != nil {
			return nil, err
		}
		out[i] = z
	}
	return out, tx.Commit()
}

// DeleteZone removes a zone.
func (s *Store) DeleteZone(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM zones WHERE id = ?`, id)
}

func scanZone(r rowScanner) (geofence.Zone, error) {
	var z geofence.Zone
	var feature string
	if err := r.Scan(&feature); err != nil {
		return z, err
	}
	err := json.Unmarshal([]byte(feature), &z)
	return z, err
}

// Zone returns one zone.
func (s *Store) Zone(ctx context.Context, id string) (geofence.Zone, error) {
	z, err := scanZone(s.r.QueryRowContext(ctx, `SELECT feature FROM zones WHERE id = ?`, id))
	return z, notFound(err)
}

// Zones lists every zone.
func (s *Store) Zones(ctx context.Context) ([]geofence.Zone, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT feature FROM zones ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanZone)
}
