package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const fixColumns = `id, vehicle_id, device_id, protocol, time_us, received_us, lat, lon, speed_kmh, heading, altitude_m, valid, late, flags, attrs`

// Commit stores fixes, events and alert changes in one transaction.
func (s *Store) Commit(ctx context.Context, b *tracker.Batch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	b.Duplicates = resize(b.Duplicates, len(b.Fixes))
	if len(b.Fixes) > 0 {
		if err := commitFixes(ctx, tx, b); err != nil {
			return err
		}
	}
	if len(b.Events) > 0 {
		if err := commitEvents(ctx, tx, b); err != nil {
			return err
		}
	}
	for i := range b.Alerts {
		if err := upsertAlert(ctx, tx, &b.Alerts[i]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func resize(v []bool, n int) []bool {
	if cap(v) < n {
		return make([]bool, n)
	}
	v = v[:n]
	clear(v)
	return v
}

// fixInsertRows is how many fixes one INSERT statement carries: one statement per fix costs
// more in the driver than the row costs in SQLite.
const fixInsertRows = 64

func commitFixes(ctx context.Context, tx *sql.Tx, b *tracker.Batch) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, fixInsertRows*15)
	newest := map[string]*tracker.Fix{}
	var err error
	for lo := 0; lo < len(b.Fixes); lo += fixInsertRows {
		hi := min(lo+fixInsertRows, len(b.Fixes))
		args = args[:0]
		for i := lo; i < hi; i++ {
			f := &b.Fixes[i]
			attrs, err := jsonText(f.Attrs)
			if err != nil {
				return fmt.Errorf("fix %d attributes: %w", i, err)
			}
			args = append(args, f.VehicleID, f.DeviceID, f.Protocol, us(f.Time), us(f.ReceivedAt),
				f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.AltitudeM, f.Valid, f.Late, flagsText(f.Flags), attrs)
		}
		var stmt *sql.Stmt
		if hi-lo == fixInsertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertFixesSQL(fixInsertRows)); err != nil {
					return err
				}
			}
			stmt = full
		} else {
			if stmt, err = tx.PrepareContext(ctx, insertFixesSQL(hi-lo)); err != nil {
				return err
			}
			defer stmt.Close()
		}
		// RETURNING names the rows inserted; the others were already stored.
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		var devTimes []devTime
		for rows.Next() {
			var id, t int64
			var dev string
			if err := rows.Scan(&id, &dev, &t); err != nil {
				rows.Close()
				return err
			}
			devTimes = append(devTimes, devTime{dev, t, id})
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			f := &b.Fixes[i]
			f.ID = 0
			for j := range devTimes {
				if devTimes[j].dev == f.DeviceID && devTimes[j].t == us(f.Time) && devTimes[j].id != 0 {
					f.ID, devTimes[j].id = devTimes[j].id, 0
					break
				}
			}
			if f.ID == 0 {
				b.Duplicates[i] = true
				if err := tx.QueryRowContext(ctx, `SELECT id FROM fixes WHERE device_id = ? AND time_us = ?`, f.DeviceID, us(f.Time)).Scan(&f.ID); err != nil {
					return err
				}
				continue
			}
			if n := newest[f.VehicleID]; n == nil || !f.Time.Before(n.Time) {
				newest[f.VehicleID] = f
			}
		}
	}
	if len(newest) == 0 {
		return nil
	}
	latest, err := tx.PrepareContext(ctx, `INSERT INTO latest_fixes(vehicle_id, fix_id, time_us) VALUES(?,?,?)
		ON CONFLICT(vehicle_id) DO UPDATE SET fix_id = excluded.fix_id, time_us = excluded.time_us
		WHERE excluded.time_us >= latest_fixes.time_us`)
	if err != nil {
		return err
	}
	defer latest.Close()
	for v, f := range newest {
		if _, err := latest.ExecContext(ctx, v, f.ID, us(f.Time)); err != nil {
			return err
		}
	}
	return nil
}

type devTime struct {
	dev string
	t   int64
	id  int64
}

func insertFixesSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO fixes(vehicle_id, device_id, protocol, time_us, received_us, lat, lon, speed_kmh, heading, altitude_m, valid, late, flags, attrs) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT(device_id, time_us) DO NOTHING RETURNING id, device_id, time_us`)
	return b.String()
}

type rowScanner interface{ Scan(dest ...any) error }

func scanFix(r rowScanner) (tracker.Fix, error) {
	var f tracker.Fix
	var t, rcv int64
	var flags, attrs string
	err := r.Scan(&f.ID, &f.VehicleID, &f.DeviceID, &f.Protocol, &t, &rcv, &f.Lat, &f.Lon, &f.SpeedKmh, &f.Heading, &f.AltitudeM, &f.Valid, &f.Late, &flags, &attrs)
	if err != nil {
		return f, err
	}
	f.Time, f.ReceivedAt, f.Flags = fromUS(t), fromUS(rcv), textFlags(flags)
	return f, unmarshalText(attrs, &f.Attrs)
}

func (s *Store) queryFixes(ctx context.Context, query string, args ...any) ([]tracker.Fix, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tracker.Fix{}
	for rows.Next() {
		f, err := scanFix(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Track returns a vehicle's fixes with from <= time < to in device-time order.
func (s *Store) Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error) {
	return s.queryFixes(ctx, `SELECT `+fixColumns+` FROM fixes WHERE vehicle_id = ? AND time_us >= ? AND time_us < ? ORDER BY time_us, id`,
		vehicleID, from.UnixMicro(), to.UnixMicro())
}

// LatestFixes returns the newest fix of every vehicle.
func (s *Store) LatestFixes(ctx context.Context) ([]tracker.Fix, error) {
	return s.queryFixes(ctx, `SELECT `+prefixed("f.", fixColumns)+` FROM latest_fixes l JOIN fixes f ON f.id = l.fix_id ORDER BY f.vehicle_id`)
}

// SearchArea returns fixes inside box over [from, to), in time order, at most limit.
func (s *Store) SearchArea(ctx context.Context, box tracker.Box, from, to time.Time, limit int) ([]tracker.Fix, error) {
	if limit <= 0 {
		limit = 10000
	}
	return s.queryFixes(ctx, `SELECT `+fixColumns+` FROM fixes WHERE time_us >= ? AND time_us < ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? ORDER BY time_us, id LIMIT ?`,
		from.UnixMicro(), to.UnixMicro(), box.MinLat, box.MaxLat, box.MinLon, box.MaxLon, limit)
}

func prefixed(p, cols string) string {
	out := make([]byte, 0, len(cols)*2)
	out = append(out, p...)
	for i := 0; i < len(cols); i++ {
		out = append(out, cols[i])
		if cols[i] == ' ' && i > 0 && cols[i-1] == ',' {
			out = append(out, p...)
		}
	}
	return string(out)
}
