package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/geojson"
)

const zoneCols = `id, name, kind, geometry, width_m, domestic_side, properties, version, updated_at`

func scanZone(r pgx.CollectableRow) (geofence.Zone, error) {
	var z geofence.Zone
	var kind string
	var geom, props []byte
	if err := r.Scan(&z.ID, &z.Name, &kind, &geom, &z.WidthM, &z.DomesticSide, &props, &z.Version, &z.UpdatedAt); err != nil {
		return z, err
	}
	z.Kind = geofence.Kind(kind)
	z.UpdatedAt = z.UpdatedAt.UTC()
	g, err := geojson.UnmarshalGeometry(geom)
	if err != nil {
		return z, fmt.Errorf("zone %s geometry: %w", z.ID, err)
	}
	z.Geometry = g.Geometry()
	if len(props) > 0 {
		if err := json.Unmarshal(props, &z.Properties); err != nil {
			return z, fmt.Errorf("zone %s properties: %w", z.ID, err)
		}
	}
	return z, nil
}

// PutZones adds or replaces zones in one transaction, raising each one's version. A zone
// without an ID or geometry fails the whole batch.
func (s *Store) PutZones(ctx context.Context, zones []geofence.Zone) ([]geofence.Zone, error) {
	geoms := make([][]byte, len(zones))
	for i, z := range zones {
		if z.ID == "" || z.Geometry == nil {
			return nil, fmt.Errorf("pgstore: zone %d (%q): id and geometry are required", i, z.Name)
		}
		b, err := json.Marshal(geojson.NewGeometry(z.Geometry))
		if err != nil {
			return nil, fmt.Errorf("pgstore: zone %s geometry: %w", z.ID, err)
		}
		geoms[i] = b
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	out := make([]geofence.Zone, len(zones))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var batch pgx.Batch
		for i, z := range zones {
			batch.Queue(`INSERT INTO zones (`+zoneCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, geometry = excluded.geometry,
					width_m = excluded.width_m, domestic_side = excluded.domestic_side, properties = excluded.properties,
					version = zones.version + 1, updated_at = excluded.updated_at
				RETURNING version`,
				z.ID, z.Name, string(z.Kind), geoms[i], z.WidthM, z.DomesticSide, jsonOrNil(z.Properties), now)
		}
		res := tx.SendBatch(ctx, &batch)
		for i, z := range zones {
			z.UpdatedAt = now
			if err := res.QueryRow().Scan(&z.Version); err != nil {
				res.Close()
				return err
			}
			out[i] = z
		}
		return res.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: put zones: %w", err)
	}
	return out, nil
}

// DeleteZone removes a zone.
func (s *Store) DeleteZone(ctx context.Context, id string) error {
	return notFound(s.pool.Exec(ctx, `DELETE FROM zones WHERE id = $1`, id))
}

// Zone returns one zone.
func (s *Store) Zone(ctx context.Context, id string) (geofence.Zone, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+zoneCols+` FROM zones WHERE id = $1`, id)
	z, err := pgx.CollectExactlyOneRow(rows, scanZone)
	return z, pgErr(err)
}

// Zones returns every zone by ID.
func (s *Store) Zones(ctx context.Context) ([]geofence.Zone, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+zoneCols+` FROM zones ORDER BY id`)
	return pgx.CollectRows(rows, scanZone)
}

// WatchZones calls changed with a zone's ID whenever any server adds, edits or deletes it,
// until ctx ends. It calls changed("") once listening starts and again after every reconnect:
// changes may have been missed meanwhile, so "" means reload them all. It returns ctx's error.
func (s *Store) WatchZones(ctx context.Context, changed func(id string)) error {
	wait := 100 * time.Millisecond
	for {
		err := s.listenZones(ctx, changed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("zone notifications interrupted", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func (s *Store) listenZones(ctx context.Context, changed func(id string)) error {
	// A connection of its own: LISTEN state must not go back into the pool.
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN bw_zones"); err != nil {
		return err
	}
	changed("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		changed(n.Payload)
	}
}
