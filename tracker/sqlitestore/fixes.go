package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const fixColumns = `id, vehicle_id, device_id, time_us, lat, lon, data`

// Commit stores fixes, events and alert changes in one transaction.
func (s *Store) Commit(ctx context.Context, b *tracker.Batch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	b.Duplicates = resize(b.Duplicates, len(b.Fixes))
	var tiles []tileKey
	if len(b.Fixes) > 0 {
		if tiles, err = s.commitFixes(ctx, tx, b); err != nil {
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
	if err := tx.Commit(); err != nil {
		return err
	}
	s.tiles.remember(tiles)
	return nil
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

// commitFixes inserts the batch's fixes and returns the coarse tiles it added, to remember once
// the transaction has committed.
func (s *Store) commitFixes(ctx context.Context, tx *sql.Tx, b *tracker.Batch) ([]tileKey, error) {
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'next_fix_id'`).Scan(&next); err != nil {
		return nil, err
	}
	for i := range b.Fixes {
		b.Fixes[i].ID = next + int64(i)
		b.Duplicates[i] = true // until RETURNING names it as inserted
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, fixInsertRows*7)
	data := make([]byte, 0, 64*fixInsertRows)
	newest := map[string]*tracker.Fix{}
	for lo := 0; lo < len(b.Fixes); lo += fixInsertRows {
		hi := min(lo+fixInsertRows, len(b.Fixes))
		args, data = args[:0], data[:0]
		for i := lo; i < hi; i++ {
			f := &b.Fixes[i]
			start := len(data)
			var err error
			if data, err = appendFixData(data, f); err != nil {
				return nil, fmt.Errorf("fix %d attributes: %w", i, err)
			}
			args = append(args, f.VehicleID, us(f.Time), f.DeviceID, f.ID, f.Lat, f.Lon, data[start:len(data):len(data)])
		}
		var stmt *sql.Stmt
		var err error
		if hi-lo == fixInsertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertFixesSQL(fixInsertRows)); err != nil {
					return nil, err
				}
			}
			stmt = full
		} else {
			if stmt, err = tx.PrepareContext(ctx, insertFixesSQL(hi-lo)); err != nil {
				return nil, err
			}
			defer stmt.Close()
		}
		// RETURNING names the rows inserted; the others were already stored.
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			b.Duplicates[id-next] = false
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			f := &b.Fixes[i]
			if !b.Duplicates[i] {
				continue
			}
			if err := tx.QueryRowContext(ctx, `SELECT id FROM fixes WHERE vehicle_id = ? AND time_us = ? AND device_id = ?`,
				f.VehicleID, us(f.Time), f.DeviceID).Scan(&f.ID); err != nil {
				return nil, err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'next_fix_id'`, next+int64(len(b.Fixes))); err != nil {
		return nil, err
	}
	var tiles []tileKey
	for i := range b.Fixes {
		f := &b.Fixes[i]
		if b.Duplicates[i] {
			continue
		}
		if n := newest[f.VehicleID]; n == nil || !f.Time.Before(n.Time) {
			newest[f.VehicleID] = f
		}
		if k := tileOf(f); !s.tiles.known(k) && !slices.Contains(tiles, k) {
			tiles = append(tiles, k)
		}
	}
	if err := insertTiles(ctx, tx, tiles); err != nil {
		return nil, err
	}
	if len(newest) == 0 {
		return tiles, nil
	}
	latest, err := tx.PrepareContext(ctx, `INSERT INTO latest_fixes(vehicle_id, time_us, device_id) VALUES(?,?,?)
		ON CONFLICT(vehicle_id) DO UPDATE SET time_us = excluded.time_us, device_id = excluded.device_id
		WHERE excluded.time_us >= latest_fixes.time_us`)
	if err != nil {
		return nil, err
	}
	defer latest.Close()
	for v, f := range newest {
		if _, err := latest.ExecContext(ctx, v, us(f.Time), f.DeviceID); err != nil {
			return nil, err
		}
	}
	return tiles, nil
}

func insertFixesSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO fixes(vehicle_id, time_us, device_id, id, lat, lon, data) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT(vehicle_id, time_us, device_id) DO NOTHING RETURNING id`)
	return b.String()
}

type rowScanner interface{ Scan(dest ...any) error }

func scanFix(r rowScanner, data *sql.RawBytes) (tracker.Fix, error) {
	var f tracker.Fix
	var t int64
	if err := r.Scan(&f.ID, &f.VehicleID, &f.DeviceID, &t, &f.Lat, &f.Lon, data); err != nil {
		return f, err
	}
	f.Time = fromUS(t)
	return f, decodeFixData(*data, &f)
}

func (s *Store) queryFixes(ctx context.Context, query string, args ...any) ([]tracker.Fix, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tracker.Fix{}
	var data sql.RawBytes
	for rows.Next() {
		f, err := scanFix(rows, &data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Track returns a vehicle's fixes with from <= time < to in device-time order.
func (s *Store) Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error) {
	return s.queryFixes(ctx, `SELECT `+fixColumns+` FROM fixes WHERE vehicle_id = ? AND time_us >= ? AND time_us < ? ORDER BY time_us, device_id`,
		vehicleID, from.UnixMicro(), to.UnixMicro())
}

// LatestFixes returns the newest fix of every vehicle.
func (s *Store) LatestFixes(ctx context.Context) ([]tracker.Fix, error) {
	return s.queryFixes(ctx, `SELECT `+prefixed("f.", fixColumns)+` FROM latest_fixes l
		JOIN fixes f ON f.vehicle_id = l.vehicle_id AND f.time_us = l.time_us AND f.device_id = l.device_id ORDER BY f.vehicle_id`)
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
