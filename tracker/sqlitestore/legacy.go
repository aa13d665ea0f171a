package sqlitestore

import "context"

// convertLegacyFixes moves the rows of the fixes table (schema before migration 3) into chunks,
// one vehicle at a time, and drops fixes and latest_fixes, all in one transaction: an
// interrupted conversion leaves the old table whole and runs again at the next Open. Their
// tiles are in fix_tiles already; the fix data keeps codec version 1, which decodeFixData reads.
func (s *Store) convertLegacyFixes(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'fixes'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT vehicle_id FROM fixes`)
	if err != nil {
		return err
	}
	var vehicles []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		vehicles = append(vehicles, v)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	moved := 0
	for _, v := range vehicles {
		rows, err := tx.QueryContext(ctx, `SELECT time_us, device_id, id, lat, lon, data FROM fixes WHERE vehicle_id = ? ORDER BY time_us, device_id`, v)
		if err != nil {
			return err
		}
		var es []entry
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.t, &e.dev, &e.id, &e.lat, &e.lon, &e.data); err != nil {
				rows.Close()
				return err
			}
			es = append(es, e)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		// The newest fix: as latest_fixes had it, else the last in time order.
		newest := &es[len(es)-1]
		var lt int64
		var ld string
		if tx.QueryRowContext(ctx, `SELECT time_us, device_id FROM latest_fixes WHERE vehicle_id = ?`, v).Scan(&lt, &ld) == nil {
			for i := range es {
				if es[i].t == lt && es[i].dev == ld {
					newest = &es[i]
				}
			}
		}
		for lo := 0; lo < len(es); {
			hi := lo + 1
			for hi < len(es) && hi-lo < defaultChunkMax && es[hi].t-es[lo].t <= maxChunkSpan {
				hi++
			}
			run := es[lo:hi]
			if _, err := tx.ExecContext(ctx, `INSERT INTO fix_chunks(vehicle_id, start_us, end_us, n, data) VALUES(?,?,?,?,?)`,
				v, run[0].t, run[len(run)-1].t, len(run), appendChunk(run)); err != nil {
				return err
			}
			lo = hi
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fix_series(vehicle_id, flushed_lsn, max_us, latest_us, latest) VALUES(?,?,?,?,?)`,
			v, 0, es[len(es)-1].t, newest.t, appendRecordFix(nil, v, newest)); err != nil {
			return err
		}
		moved += len(es)
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE fixes; DROP TABLE latest_fixes`); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if moved > 0 {
		s.logger.Info("moved fixes into chunks", "fixes", moved, "vehicles", len(vehicles))
	}
	return nil
}
