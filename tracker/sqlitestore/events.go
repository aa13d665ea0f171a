package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/borderwatch/borderwatch/tracker"
)

// commitEvents inserts b's events; fixIndex is b.EventFixes().
func commitEvents(ctx context.Context, tx *sql.Tx, b *tracker.Batch, fixIndex []int) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO events(type, time_us, vehicle_id, zone_id, lat, lon, fix_id, late, attrs) VALUES(?,?,?,?,?,?,?,?,?) RETURNING id`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for i := range b.Events {
		e := &b.Events[i]
		if k := fixIndex[i]; k >= 0 {
			if b.Duplicates[k] {
				e.ID = 0 // stored with its fix before
				continue
			}
			e.FixID = b.Fixes[k].ID
		}
		attrs, err := jsonText(e.Attrs)
		if err != nil {
			return fmt.Errorf("event %d attributes: %w", i, err)
		}
		if err := ins.QueryRowContext(ctx, e.Type, us(e.Time), e.VehicleID, e.ZoneID, e.Lat, e.Lon, e.FixID, e.Late, attrs).Scan(&e.ID); err != nil {
			return err
		}
	}
	return nil
}

const eventColumns = `id, type, time_us, vehicle_id, zone_id, lat, lon, fix_id, late, attrs`

// Events returns events matching q in time order (q.NewestFirst: newest first).
func (s *Store) Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error) {
	var f filter
	f.eq("vehicle_id", q.VehicleID)
	f.eq("type", q.Type)
	f.period("time_us", q.From, q.To)
	order := "time_us, id"
	if q.NewestFirst {
		order = "time_us DESC, id DESC"
	}
	return s.queryEvents(ctx, f.query(`SELECT `+eventColumns+` FROM events`, order, q.Limit), f.args...)
}

// LatestEvents returns the newest event of type typ of each vehicle that has one.
func (s *Store) LatestEvents(ctx context.Context, typ string) ([]tracker.Event, error) {
	return s.queryEvents(ctx, `SELECT `+eventColumns+` FROM events e WHERE type = ?1 AND id = (
		SELECT id FROM events WHERE type = ?1 AND vehicle_id = e.vehicle_id ORDER BY time_us DESC, id DESC LIMIT 1)
		ORDER BY vehicle_id`, typ)
}

func (s *Store) queryEvents(ctx context.Context, query string, args ...any) ([]tracker.Event, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tracker.Event{}
	for rows.Next() {
		var e tracker.Event
		var t int64
		var attrs string
		if err := rows.Scan(&e.ID, &e.Type, &t, &e.VehicleID, &e.ZoneID, &e.Lat, &e.Lon, &e.FixID, &e.Late, &attrs); err != nil {
			return nil, err
		}
		e.Time = fromUS(t)
		if err := unmarshalText(attrs, &e.Attrs); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
