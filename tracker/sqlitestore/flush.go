package sqlitestore

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// flusher turns heads into chunks: every flushEvery, and when a Commit fills a head.
func (s *Store) flusher() {
	defer close(s.flusherDone)
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.flushReq:
		}
		err := s.flush(context.Background(), false)
		if err != nil {
			s.logger.Warn("fix flush failed; the fixes stay in the log and in memory", "err", err)
		}
		s.mu.Lock()
		close(s.relieved)
		s.relieved, s.flushErr = make(chan struct{}), err
		s.mu.Unlock()
	}
}

// cut is one vehicle's head taken by a flush.
type cut struct {
	se             *series
	es             []entry
	minLSN, maxLSN uint64
	since          time.Time
	bytes          int64    // the head's memory (series.bytes)
	chunk          []byte   // the head's own encoding, if its fixes came in order
	buf            []byte   // the head's chunk buffer, to reuse once written
	tile           lastTile // the tile of its newest fix, the series' once written
}

// chunkRow is one row of fix_chunks.
type chunkRow struct {
	vehicle    string
	start, end int64
	n          int
	data       []byte
}

// Flush writes every head to chunks now, as Close does: what stays in memory of a vehicle is
// then its state alone (a benchmark's measure; an operator's before a copy of the database).
func (s *Store) Flush(ctx context.Context) error {
	return s.flush(ctx, true)
}

// flush writes heads to chunks: those long or old enough, or all of them. One flush runs at a
// time (flushRun).
func (s *Store) flush(ctx context.Context, all bool) error {
	s.flushRun.Lock()
	defer s.flushRun.Unlock()
	s.commitMu.Lock()
	s.mu.Lock()
	now := time.Now()
	floor := s.nextLSN // the log is needed from here on: the lowest LSN left in a head
	// Crowded memory is relieved down to half of maxHeadBytes from the heads begun longest
	// ago: s.active lists heads in the order they began (a head put back after a failed
	// flush at the end), so those are its first ones. The vehicles that stopped reporting (a
	// fleet going idle leaves its heads to age) go first, not every head at once; and nothing
	// is sorted while Commits wait on commitMu.
	var evict int64
	if !all && s.crowded() {
		evict = s.headBytes - s.maxHeadBytes/2
	}
	var cuts []cut
	active := s.active[:0]
	for _, se := range s.active {
		if len(se.head) == 0 {
			se.headLSN = 0
			continue
		}
		if all || evict > 0 || s.due(se, now) {
			evict -= se.bytes
			c := cut{se: se, es: se.head, buf: se.cw.buf, minLSN: se.headLSN, maxLSN: se.headMaxLSN, since: se.headSince}
			if se.ordered {
				c.chunk = se.cw.buf
			}
			s.headFixes -= len(se.head)
			se.flushing = se.head
			se.resetHead()
			s.sizeNextHead(se, len(c.es))
			c.bytes = se.flushingBytes
			cuts = append(cuts, c)
			continue
		}
		floor = min(floor, se.headLSN)
		active = append(active, se)
	}
	clear(s.active[len(active):])
	s.active = active
	nextID := s.nextID
	s.mu.Unlock()
	s.commitMu.Unlock()
	if len(cuts) == 0 && floor == s.flushedLSN {
		return nil
	}
	defer func() { s.m.flushSecs.Observe(time.Since(now).Seconds()) }()

	// In transactions of at most flushTxFixes fixes: a batch carrying events or alerts
	// commits on the same SQLite connection and waits for the one in progress.
	for first := true; first || len(cuts) > 0; first = false {
		n, fixes := 0, 0
		for n < len(cuts) && (n == 0 || fixes+len(cuts[n].es) <= flushTxFixes) {
			fixes += len(cuts[n].es)
			n++
		}
		group, last := cuts[:n], n == len(cuts)
		rows, tiles := s.encodeCuts(group)
		if err := s.writeChunks(ctx, rows, tiles, group, last, floor, nextID); err != nil {
			s.m.flushFails.Inc()
			s.restoreCuts(cuts) // this group and those not tried
			return err
		}
		s.m.flushed.Add(float64(fixes))
		for _, c := range group {
			c.se.tile = c.tile
		}
		cuts = cuts[n:]
	}
	s.flushedLSN = floor
	s.commitMu.Lock()
	gone := s.log.takeBelow(floor)
	s.commitMu.Unlock()
	return s.log.remove(gone)
}

// flushTxFixes bounds the fixes one flush transaction writes to chunks (a few milliseconds).
const flushTxFixes = 4096

// encodeCuts makes the chunk rows of cuts and the tiles they add to the area index.
func (s *Store) encodeCuts(cuts []cut) ([]chunkRow, []tileKey) {
	var rows []chunkRow
	var tiles []tileKey
	seen := map[tileKey]bool{}
	for ci := range cuts {
		c := &cuts[ci]
		n := len(c.es)
		if c.chunk != nil && n <= s.chunkMax && c.es[n-1].t-c.es[0].t <= maxChunkSpan {
			rows = append(rows, chunkRow{c.se.vehicle, c.es[0].t, c.es[n-1].t, n, c.chunk})
			n = 0 // no need to encode again
		}
		for lo := 0; lo < n; {
			hi := lo + 1
			for hi < n && hi-lo < s.chunkMax && c.es[hi].t-c.es[lo].t <= maxChunkSpan {
				hi++
			}
			run := c.es[lo:hi]
			rows = append(rows, chunkRow{c.se.vehicle, run[0].t, run[len(run)-1].t, len(run), appendChunk(run)})
			lo = hi
		}
		var last tileKey
		for i := range c.es {
			k := tileKey{bucket: c.es[i].t / tileBucket.Microseconds(), tile: tileRow(c.es[i].lat)*tileCols + tileCol(c.es[i].lon), vehicle: c.se.vehicle}
			if i > 0 && k == last {
				continue
			}
			last = k
			if !seen[k] && !c.se.tile.is(k) {
				seen[k] = true
				tiles = append(tiles, k)
			}
		}
		c.tile = lastTileOf(last)
	}
	return rows, tiles
}

// restoreCuts puts cuts that were not written back into their heads, with the fixes that came
// meanwhile: the next round tries again.
func (s *Store) restoreCuts(cuts []cut) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cuts {
		se := c.se
		se.head = append(se.flushing, se.head...)
		slices.SortFunc(se.head, cmpEntry)
		se.ordered, se.mixed = false, true // cw no longer holds all of head
		// The cut's buffers are the head's again: its entries point into them.
		se.retired += c.bytes
		s.headBytes += se.measure() - c.bytes
		se.flushingBytes = 0
		s.headFixes += len(c.es)
		s.startHead(se, c.minLSN, c.since)
		se.headLSN = min(se.headLSN, c.minLSN)
		se.headMaxLSN = max(se.headMaxLSN, c.maxLSN)
		if se.headSince.IsZero() || c.since.Before(se.headSince) {
			se.headSince = c.since
		}
		se.flushing = nil
	}
}

// writeChunks writes one transaction of a flush: its cuts' chunks, tiles and series. The last
// one also moves the store's flushed LSN and deletes the log rows below it; until then a
// restart replays those records, and each vehicle's own flushed LSN skips what is in chunks.
func (s *Store) writeChunks(ctx context.Context, rows []chunkRow, tiles []tileKey, cuts []cut, last bool, floor uint64, nextID int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if len(rows) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO fix_chunks(vehicle_id, start_us, end_us, n, data) VALUES(?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, r := range rows {
			if _, err := ins.ExecContext(ctx, r.vehicle, r.start, r.end, r.n, r.data); err != nil {
				return err
			}
		}
	}
	if err := insertTiles(ctx, tx, tiles); err != nil {
		return err
	}
	if len(cuts) > 0 {
		up, err := tx.PrepareContext(ctx, `INSERT INTO fix_series(vehicle_id, flushed_lsn, max_us, latest_us, latest) VALUES(?,?,?,?,?)
			ON CONFLICT(vehicle_id) DO UPDATE SET flushed_lsn = excluded.flushed_lsn, max_us = max(max_us, excluded.max_us),
			latest = CASE WHEN excluded.latest_us >= latest_us THEN excluded.latest ELSE latest END,
			latest_us = max(latest_us, excluded.latest_us)`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, c := range cuts {
			// The newest fix of the cut; with equal times the later written, as in memory. A
			// cut of nothing but conflicting reports leaves the series' latest as it is.
			var newest *entry
			for i := range c.es {
				e := &c.es[i]
				if (newest == nil || e.t > newest.t || e.t == newest.t && e.id > newest.id) && !conflicted(e.data) {
					newest = e
				}
			}
			if newest == nil {
				if _, err := tx.ExecContext(ctx, `UPDATE fix_series SET flushed_lsn = ?, max_us = max(max_us, ?) WHERE vehicle_id = ?`,
					int64(c.maxLSN), c.es[len(c.es)-1].t, c.se.vehicle); err != nil {
					return err
				}
				continue
			}
			latest := appendRecordFix(nil, c.se.vehicle, newest)
			if _, err := up.ExecContext(ctx, c.se.vehicle, int64(c.maxLSN), c.es[len(c.es)-1].t, newest.t, latest); err != nil {
				return err
			}
		}
	}
	if last {
		if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'flushed_lsn'`, int64(floor)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = max(value, ?) WHERE key = 'next_fix_id'`, nextID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM fix_log WHERE lsn < ?`, int64(floor)); err != nil {
			return err
		}
	}
	// The cuts leave memory as their chunks become visible: a Track sees each fix once.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if err := tx.Commit(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cuts {
		c.se.chunkMax = max(c.se.chunkMax, c.es[len(c.es)-1].t)
		c.se.flushedLSN = c.maxLSN
		c.se.flushing, c.se.flushingBytes = nil, 0
		s.headBytes -= c.bytes
		// Out of reach now: readers copied what they took of it under s.mu.
		s.bufs.put(c.es, c.buf)
	}
	return nil
}

// recover loads what the store knows of each vehicle's chunks and replays the fix log into the
// heads: records from meta.flushed_lsn on, in the fix_log table and in the log files alike.
func (s *Store) recover(ctx context.Context) error {
	var floor, next int64
	if err := s.w.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE key = 'flushed_lsn'), (SELECT value FROM meta WHERE key = 'next_fix_id')`).Scan(&floor, &next); err != nil {
		return err
	}
	// LSNs start at 1: 0 means none (an empty head's headLSN, a series not yet touched).
	s.flushedLSN, s.nextLSN, s.nextID = uint64(floor), max(uint64(floor), 1), next
	rows, err := s.w.QueryContext(ctx, `SELECT vehicle_id, flushed_lsn, max_us, latest FROM fix_series`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v string
		var flushed, maxUS int64
		var latest []byte
		if err := rows.Scan(&v, &flushed, &maxUS, &latest); err != nil {
			rows.Close()
			return err
		}
		// A new record at or below a vehicle's flushed LSN would be skipped by the next
		// recovery. The log always reaches past them, except in a backup's copy of the
		// database, which may hold chunks newer than its copy of the log.
		s.nextLSN = max(s.nextLSN, uint64(flushed)+1)
		se := newSeries(v)
		se.chunkMax, se.flushedLSN = maxUS, uint64(flushed)
		r := reader{b: latest}
		if _, se.latest = r.recordFix(); r.err != nil {
			rows.Close()
			return fmt.Errorf("latest fix of %s: %w", v, r.err)
		}
		se.hasLatest = true
		s.series[v] = se
	}
	if err := rows.Close(); err != nil {
		return err
	}

	type record struct {
		lsn     uint64
		payload []byte
	}
	var recs []record
	rows, err = s.w.QueryContext(ctx, `SELECT lsn, record FROM fix_log WHERE lsn >= ?`, floor)
	if err != nil {
		return err
	}
	for rows.Next() {
		var lsn int64
		var payload []byte
		if err := rows.Scan(&lsn, &payload); err != nil {
			rows.Close()
			return err
		}
		recs = append(recs, record{uint64(lsn), payload})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	err = s.log.replay(uint64(floor), s.logger, func(lsn uint64, payload []byte) error {
		recs = append(recs, record{lsn, payload})
		return nil
	})
	if err != nil {
		return err
	}
	s.m.corruptRecords.Add(float64(s.log.damage.Records))
	s.m.corruptBytes.Add(float64(s.log.damage.Bytes))
	slices.SortFunc(recs, func(a, b record) int { return cmpUint(a.lsn, b.lsn) })
	now := time.Now()
	for _, r := range recs {
		_, err := decodeRecord(r.payload, func(v string, e entry) {
			se := s.series[v]
			if se == nil {
				se = newSeries(v)
				s.series[v] = se
			}
			s.nextID = max(s.nextID, e.id+1)
			if r.lsn <= se.flushedLSN {
				return // flushed to chunks already
			}
			if slices.ContainsFunc(sameKey(se.head, e.t, e.dev), func(h entry) bool { return h.id == e.id }) {
				return
			}
			e, grew := se.add(e, 0, &s.bufs)
			s.headBytes += grew
			s.headFixes++
			s.startHead(se, r.lsn, now)
			se.headMaxLSN = r.lsn
			if se.newer(&e) {
				se.latest, se.hasLatest = e, true
			}
		})
		if err != nil {
			return fmt.Errorf("fix log record %d: %w", r.lsn, err)
		}
		s.nextLSN = max(s.nextLSN, r.lsn+1)
	}
	s.nextLSN = max(s.nextLSN, s.log.last+1)
	s.durable = s.nextID
	if len(recs) > 0 {
		s.logger.Info("fix log replayed", "records", len(recs), "from_lsn", floor, "head_fixes", s.headFixes)
	}
	return s.log.removeBelow(uint64(floor))
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
