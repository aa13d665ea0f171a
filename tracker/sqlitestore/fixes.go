package sqlitestore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/borderwatch/borderwatch/tracker"
)

// Fixes are kept the way a time-series database keeps samples (Prometheus TSDB's shape):
//
//   - The fix log (fixlog.go) is where a batch of fixes becomes durable: one write() per Commit,
//     fdatasync'ed with Options.SyncEveryCommit. A batch with events or alerts instead commits
//     its fixes' record to the fix_log table in the same SQLite transaction as the events and
//     alerts, so that all of a batch exists after a crash or none of it does.
//   - Each vehicle's fixes not yet in chunks wait in memory in its head, sorted by device time.
//     The head answers reads and deduplicates retransmissions.
//   - A background flush turns heads into chunks (record.go), one row of fix_chunks per run of a
//     vehicle's fixes, and in the same transaction indexes their tiles, records per vehicle up to
//     which LSN its fixes are in chunks (fix_series) and up to which LSN the log is needed at all
//     (meta.flushed_lsn), and deletes fix_log rows below it. Wholly flushed log segments are
//     deleted afterwards.
//   - Open replays the log from meta.flushed_lsn: a vehicle's fix is put back in its head unless
//     the vehicle's chunks already hold that LSN.
//
// Crash cases:
//   - Crash before a record's write() completes: the batch was not acknowledged; a torn record is
//     the last of its segment and recovery drops it. Its fixes get IDs again when resent.
//   - Crash after the write() (or the fix_log row's commit): recovery replays it; the fixes are
//     stored once, with the IDs the Commit reported.
//   - Crash during a flush: the flush transaction either committed (chunks, flushed LSNs and the
//     deletion of fix_log rows together) or did not (the log still holds everything).
//   - Crash after the flush committed but before segments were deleted: recovery skips records
//     below meta.flushed_lsn and a vehicle's fixes up to its flushed LSN; the files go next time.
//   - A failed Commit (write error, SQLite error) changes nothing in memory and may be retried
//     with the same batch. A record written whole whose fdatasync failed counts as written: the
//     Commit reports the error, and a retry finds its fixes stored, as duplicates with their IDs.
//   - Events and alerts are only ever in SQLite, committed with their batch's fixes' record: they
//     are applied once.

// Tuning of heads and chunks; fields of Store so that tests can make flushes happen.
const (
	defaultChunkFixes = 256               // a head this long is flushed (up to half longer, per vehicle)
	defaultChunkMax   = 1024              // at most this many fixes in one chunk
	defaultHeadAge    = 2 * time.Minute   // a head older than this is flushed however short
	defaultFlushEvery = time.Second       // how often the flusher looks at the heads
	maxChunkSpan      = int64(6 * 3600e6) // µs: a chunk covers at most 6 hours of device time
)

// series is one vehicle's fixes outside chunks and what the store knows of its chunks. Every
// vehicle holds one, so its fields are ordered (and its small ones sized) to fit the 320-byte
// allocation size class; what only one Commit needs (the marks to roll back to) is the
// Commit's (touchedSeries).
type series struct {
	vehicle    string
	head       []entry   // sorted by time, device
	headLSN    uint64    // lowest LSN with a fix in head; 0 when head is empty
	headMaxLSN uint64    // highest LSN with a fix in head
	headSince  time.Time // when head got its first fix
	flushing   []entry   // cut from head by the flush in progress
	chunkMax   int64     // newest device time in chunks; math.MinInt64 when none
	flushedLSN uint64    // every fix of the vehicle in records up to here is in chunks
	latest     entry

	// cw encodes head's fixes as they come: when they came in order (ordered), it is their chunk.
	cw chunkWriter

	// The size of the last head taken, to size the next: growing them costs more than filling
	// them. Bounded by defaultChunkMax and 256 KiB.
	hintN, hintBytes int32

	touched uint64 // LSN of the Commit that last added to head, to list each series once

	// bytes is the memory head holds: its entries, its chunk buffer, and the buffers that
	// buffer outgrew, which head's entries still point into (retired) until the flush takes
	// them. flushingBytes is the same of flushing.
	bytes, retired, flushingBytes int64

	// tile is the area index's newest tile of the vehicle stored by a flush, so that
	// consecutive fixes in the same tile and bucket, nearly all of them, cost no write. Owned
	// by the flush (Store.flushRun).
	tile lastTile

	hasLatest bool
	ordered   bool
	// mixed: head holds entries whose data is not in cw (put back by a failed flush).
	mixed bool
	// jitter (0–255) stretches this head's flush thresholds by up to half, so that a fleet
	// that connected at once does not fill, and flush, all its heads in the same second.
	jitter uint8
}

// touchedSeries is a series a Commit adds to, with where its head's chunk stood before, to
// roll the Commit back.
type touchedSeries struct {
	se      *series
	saved   chunkMark
	ordered bool
}

// entrySize is the memory of one entry in a head, its data aside.
const entrySize = int64(unsafe.Sizeof(entry{}))

func newSeries(vehicle string) *series {
	return &series{vehicle: vehicle, chunkMax: math.MinInt64, ordered: true, jitter: uint8(rand.Uint32())}
}

// due reports whether se's head is long or old enough to flush.
func (s *Store) due(se *series, now time.Time) bool {
	return len(se.head) >= s.dueFixes(se) ||
		now.Sub(se.headSince) >= s.headAge+time.Duration(int64(s.headAge)*int64(se.jitter)/512)
}

// headRoom is how many fixes se's head is to make room for when it is full: as many as it
// will hold when flushed if it fills at a pace to reach that length before its age flushes it
// (a vehicle new to the store, reporting fast), else 0 (append's growth). Doubling such a head
// from one fix to ~300 copied it nine times in the Commit, which the group commit's
// submitters all wait for: that copying (and the fresh memory it touches) was most of the
// Commit's time in `borderwatch bench`, whose trials bring new vehicles.
func (s *Store) headRoom(se *series, now time.Time) int {
	n := len(se.head)
	if n < minPacedHead || n < cap(se.head) || se.headLSN == 0 {
		return 0
	}
	due := s.dueFixes(se)
	if n >= due || now.Sub(se.headSince)*time.Duration(due) >= s.headAge*time.Duration(n) {
		return 0
	}
	return min(due+due/8, defaultChunkMax)
}

// minPacedHead: a head's pace is judged once it holds this many fixes.
const minPacedHead = 16

// dueFixes is how long se's head may grow before it is flushed.
func (s *Store) dueFixes(se *series) int { return s.chunkFixes + s.chunkFixes*int(se.jitter)/512 }

// sizeNextHead sizes the head that follows one of n fixes cut for its length: its vehicle
// will fill it as far, up to its own length (its jitter is drawn anew). Sized for the last
// head only, a third of such heads outgrew it and were copied whole by the Commit, which
// all the group commit's submitters wait for.
func (s *Store) sizeNextHead(se *series, n int) {
	if n < s.chunkFixes || n == 0 {
		return // cut by age or to relieve memory: the last head's size is the hint
	}
	if want := min(s.dueFixes(se), defaultChunkMax); want > int(se.hintN) {
		se.hintBytes = int32(min(int(se.hintBytes)*want/int(se.hintN), 256<<10))
		se.hintN = int32(want)
	}
}

// startHead notes that se's head has fixes from lsn on, listing it for the flush. s.mu is held.
func (s *Store) startHead(se *series, lsn uint64, now time.Time) {
	if se.headLSN == 0 {
		se.headLSN, se.headSince = lsn, now
		s.active = append(s.active, se)
	}
}

// sameKey returns the entries of es (sorted by time and device) with time t from dev: the
// reports of one device time, in the order they were stored.
func sameKey(es []entry, t int64, dev string) []entry {
	if len(es) == 0 || es[len(es)-1].less(t, dev) || t < es[0].t {
		return nil
	}
	i, ok := slices.BinarySearchFunc(es, entry{t: t, dev: dev}, cmpEntry)
	if !ok {
		return nil
	}
	j := i + 1
	for j < len(es) && es[j].t == t && es[j].dev == dev {
		j++
	}
	return es[i:j]
}

func cmpEntry(a, b entry) int {
	if a.t != b.t {
		if a.t < b.t {
			return -1
		}
		return 1
	}
	return strings.Compare(a.dev, b.dev)
}

// add encodes e into the head's chunk and puts it in head in order; live fixes arrive in order
// and append. A full head is made room for room fixes when that is more than it holds (see
// Store.headRoom), else grows as append grows it. It returns e with its data where the head
// keeps it, and how much more memory the head holds.
func (se *series) add(e entry, room int, bufs *headBufs) (entry, int64) {
	if se.head == nil && se.hintN > 0 {
		se.head = bufs.getEntries(int(se.hintN + se.hintN/8))
		se.cw.buf = bufs.getBytes(int(se.hintBytes + se.hintBytes/8))
	}
	was := cap(se.cw.buf)
	if n := len(se.head); n > 0 && room > cap(se.head) {
		se.head = append(bufs.getEntries(room), se.head...)
		se.cw.buf = append(bufs.getBytes(len(se.cw.buf)/n*room), se.cw.buf...)
	}
	e.data = se.cw.add(&e)
	if cap(se.cw.buf) != was {
		se.rebase(was)
	}
	n := len(se.head)
	if n == 0 || se.head[n-1].less(e.t, e.dev) {
		se.head = append(se.head, e)
	} else {
		// After the entries of the same key: the reports of one device time stay in commit order.
		i, _ := slices.BinarySearchFunc(se.head, e, func(a, b entry) int { return cmp.Or(cmpEntry(a, b), -1) })
		se.head = slices.Insert(se.head, i, e)
		se.ordered = false
	}
	return e, se.measure()
}

// rebase points head's entries into the chunk buffer that replaced one of capacity was, so
// that the old one can go: an entry's data lies cap(was)-cap(data) bytes into it. Entries put
// back by a failed flush (mixed) point elsewhere: their buffers are counted as retired.
func (se *series) rebase(was int) {
	if se.mixed {
		se.retired += int64(was)
		return
	}
	for i := range se.head {
		d := se.head[i].data
		off := was - cap(d)
		se.head[i].data = se.cw.buf[off : off+len(d)]
	}
}

// measure updates se.bytes and returns by how much it changed.
func (se *series) measure() int64 {
	was := se.bytes
	se.bytes = int64(cap(se.head))*entrySize + int64(cap(se.cw.buf)) + se.retired
	return se.bytes - was
}

// resetHead empties head after a flush took it; its memory counts as flushing's until the
// flush ends. The latest fix gets its own copy of its data: pointing into the chunk buffer,
// it would keep that buffer (the whole head's fixes) for as long as the vehicle is known.
func (se *series) resetHead() {
	se.hintN, se.hintBytes = int32(min(len(se.head), defaultChunkMax)), int32(min(len(se.cw.buf), 256<<10))
	se.head, se.headLSN, se.headMaxLSN = nil, 0, 0
	se.cw, se.ordered, se.mixed = chunkWriter{}, true, false
	se.jitter = uint8(rand.Uint32())
	se.flushingBytes, se.bytes, se.retired = se.bytes, 0, 0
	se.latest.data = bytes.Clone(se.latest.data)
}

// newer reports whether e replaces the vehicle's latest fix: the later commit wins a tie. A
// conflicting report is evidence, never the vehicle's position.
func (se *series) newer(e *entry) bool {
	return (!se.hasLatest || e.t >= se.latest.t) && !conflicted(e.data)
}

var errClosed = errors.New("store closed")

// EncodeFix encodes f's data as Commit does (tracker.FixEncoder), for the pipeline to do it
// on the goroutine that submitted f instead of in the serial group commit.
func (s *Store) EncodeFix(dst []byte, f *tracker.Fix) ([]byte, error) { return appendFixData(dst, f) }

// Commit stores the batch: fixes that are new get IDs and go into the fix log (or, with events
// or alerts, into one SQLite transaction with them); fixes already stored are marked in
// b.Duplicates with their IDs.
func (s *Store) Commit(ctx context.Context, b *tracker.Batch) error {
	eventFixes, err := b.EventFixes()
	if err != nil {
		return err
	}
	if len(b.Fixes) > 0 {
		if err := s.waitForRoom(ctx); err != nil {
			return err
		}
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if s.closed {
		return errClosed
	}
	b.Duplicates = resize(b.Duplicates, len(b.Fixes))

	// Encode first: a fix that cannot be encoded fails the batch before anything changes.
	// Heads keep copies of what they need, so every buffer here is the Store's, reused. Fixes
	// the pipeline had encoded ahead (EncodeFix) are only copied.
	ahead := len(b.Encoded) == len(b.Fixes)
	data, ends := s.scratch[:0], s.ends[:0]
	size := binary.MaxVarintLen64
	for i := range b.Fixes {
		f := &b.Fixes[i]
		size += len(f.VehicleID) + len(f.DeviceID) + recordFixMax
		if ahead {
			size += len(b.Encoded[i])
			continue
		}
		var err error
		if data, err = appendFixData(data, f); err != nil {
			return fmt.Errorf("fix %d: %w", i, err)
		}
		ends = append(ends, len(data))
	}
	s.scratch, s.ends = data, ends
	// The record: room for the log's frame header, then the LSN and the new fixes.
	lsn := s.nextLSN
	s.nextLSN++
	frame := slices.Grow(s.frame[:0], frameHeader+size+len(data))[:frameHeader]
	frame = binary.AppendUvarint(frame, lsn)

	now := time.Now()
	s.mu.Lock()
	first := s.nextID
	touched, added := s.touched[:0], s.added[:0]
	var se *series
	for i := range b.Fixes {
		f := &b.Fixes[i]
		if i == 0 || f.VehicleID != b.Fixes[i-1].VehicleID {
			if se = s.series[f.VehicleID]; se == nil {
				se = newSeries(f.VehicleID)
				s.series[f.VehicleID] = se
			}
		}
		t := us(f.Time)
		stored, lerr := s.storedAt(ctx, f.VehicleID, se, t, f.DeviceID)
		if lerr != nil {
			err = fmt.Errorf("fix %d: looking for a stored copy: %w", i, lerr)
			break
		}
		var fixData []byte
		if ahead {
			fixData = b.Encoded[i]
		} else {
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			fixData = data[start:ends[i]]
		}
		if stored != nil {
			if k := tracker.AgainstStored(f, stored); k >= 0 {
				b.Duplicates[i] = true
				f.ID = stored[k].ID
				continue
			}
			// Merged or flagged: its own record, encoded again.
			if fixData, err = appendFixData(nil, f); err != nil {
				err = fmt.Errorf("fix %d: %w", i, err)
				break
			}
		}
		f.ID = s.nextID
		s.nextID++
		if se.touched != lsn {
			se.touched = lsn
			touched = append(touched, touchedSeries{se, se.cw.mark(), se.ordered})
		}
		e := entry{t: t, id: f.ID, dev: f.DeviceID, lat: f.Lat, lon: f.Lon, data: fixData}
		frame = appendRecordFix(frame, f.VehicleID, &e)
		e, grew := se.add(e, s.headRoom(se, now), &s.bufs)
		s.headBytes += grew
		added = append(added, addedFix{se, e})
	}
	s.frame = frame
	s.touched, s.added = touched, added
	// Its entries point into heads' chunk buffers: left in the reused slice, they would keep
	// buffers a flush took alive until later Commits overwrote them.
	defer clear(added)
	if err != nil {
		s.rollback(touched, first)
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()

	var written error
	switch {
	case len(b.Events) > 0 || len(b.Alerts) > 0:
		written = s.commitSQL(ctx, b, eventFixes, lsn, frame[frameHeader:], len(added) > 0)
	case len(added) > 0:
		written = s.log.append(lsn, frame)
	}
	var synced *syncError
	if written != nil && !errors.As(written, &synced) {
		s.mu.Lock()
		s.rollback(touched, first)
		s.mu.Unlock()
		return written
	}

	s.mu.Lock()
	s.durable = s.nextID
	now = time.Now()
	full := false
	for _, ts := range touched {
		se := ts.se
		s.startHead(se, lsn, now)
		se.headMaxLSN = lsn
		full = full || s.due(se, now)
	}
	for _, a := range added {
		if a.se.newer(&a.e) {
			a.se.latest, a.se.hasLatest = a.e, true
		}
	}
	s.headFixes += len(added)
	full = full || s.crowded()
	s.mu.Unlock()
	if full {
		select {
		case s.flushReq <- struct{}{}:
		default:
		}
	}
	return written
}

// crowded reports whether heads hold so much memory that the next flush must relieve them,
// before Commits have to wait for it. s.mu is held.
func (s *Store) crowded() bool { return s.headBytes > s.maxHeadBytes*3/4 }

// waitForRoom makes a Commit wait while heads hold MaxUnflushedBytes, until a flush relieves
// them. The wait is before the Commit takes anything: fixes already durable were acknowledged
// when their own Commit returned, and the flush needs commitMu to cut heads. While flushes
// fail it returns their error: the pipeline keeps the batch and retries, bounded by its backlog.
func (s *Store) waitForRoom(ctx context.Context) error {
	var start time.Time
	for {
		s.mu.RLock()
		over, relieved, ferr := s.headBytes >= s.maxHeadBytes, s.relieved, s.flushErr
		s.mu.RUnlock()
		if !over {
			if !start.IsZero() {
				s.m.roomWait.Add(time.Since(start).Seconds())
			}
			return nil
		}
		if start.IsZero() {
			start = time.Now()
		} else if ferr != nil {
			s.m.roomWait.Add(time.Since(start).Seconds())
			return fmt.Errorf("unflushed fixes fill their %d bytes and the flush fails: %w", s.maxHeadBytes, ferr)
		}
		select {
		case s.flushReq <- struct{}{}:
		default:
		}
		select {
		case <-relieved:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return errClosed
		}
	}
}

// addedFix is a fix a Commit adds, to make it its vehicle's latest once written.
type addedFix struct {
	se *series
	e  entry
}

// rollback takes a failed Commit's fixes (IDs from first on) out of the heads. s.mu is held.
func (s *Store) rollback(touched []touchedSeries, first int64) {
	for _, ts := range touched {
		se := ts.se
		se.head = slices.DeleteFunc(se.head, func(e entry) bool { return e.id >= first })
		se.cw.reset(ts.saved)
		se.ordered = ts.ordered
		se.touched = 0
	}
	s.nextID = first
}

// commitSQL writes a batch with events or alerts in one SQLite transaction, its new fixes'
// record included; eventFixes are b.EventFixes().
func (s *Store) commitSQL(ctx context.Context, b *tracker.Batch, eventFixes []int, lsn uint64, payload []byte, fixes bool) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if fixes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fix_log(lsn, record) VALUES(?, ?)`, int64(lsn), payload); err != nil {
			return err
		}
	}
	if len(b.Events) > 0 {
		if err := commitEvents(ctx, tx, b, eventFixes); err != nil {
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

// storedAt returns the stored reports of the vehicle with device time t from dev (nil when
// there are none): in its head, in the flush in progress, or, for a fix no newer than its
// chunks, in them. s.mu is held.
func (s *Store) storedAt(ctx context.Context, vehicle string, se *series, t int64, dev string) ([]tracker.Fix, error) {
	var out []tracker.Fix
	for _, es := range [2][]entry{se.flushing, se.head} {
		for _, e := range sameKey(es, t, dev) {
			f, err := e.fix(vehicle, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	if t > se.chunkMax {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM fix_chunks WHERE vehicle_id = ? AND start_us <= ? AND start_us >= ? AND end_us >= ?`,
		vehicle, t, t-maxChunkSpan, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var data sql.RawBytes
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var ferr error
		err := decodeChunk(data, nil, func(e *entry) bool {
			if e.t == t && e.dev == dev {
				var f tracker.Fix
				f, ferr = e.fix(vehicle, nil)
				out = append(out, f)
			}
			return e.t <= t && ferr == nil
		})
		if err == nil {
			err = ferr
		}
		if err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// owned is e with its own copy of its data: a head's buffer is reused once flushed
// (headBufs), so what a reader keeps after unlocking Store.mu must not point into it.
func (e entry) owned() entry {
	e.data = bytes.Clone(e.data)
	return e
}

// memEntries copies the vehicle's fixes in [lo, hi) that are in memory and written.
func (s *Store) memEntries(vehicle string, lo, hi int64) []entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	se := s.series[vehicle]
	if se == nil {
		return nil
	}
	var out []entry
	for _, es := range [2][]entry{se.flushing, se.head} {
		i, _ := slices.BinarySearchFunc(es, entry{t: lo}, cmpEntry)
		for ; i < len(es) && es[i].t < hi; i++ {
			if es[i].id < s.durable {
				out = append(out, es[i].owned())
			}
		}
	}
	return out
}

// Track returns a vehicle's fixes with from <= time < to in device-time order: its chunks and
// what is still in memory, read under flushMu so that a flush ending in between does not give a
// fix twice.
func (s *Store) Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error) {
	lo, hi := from.UnixMicro(), to.UnixMicro()
	out := []tracker.Fix{}
	if hi <= lo {
		return out, nil
	}
	s.flushMu.RLock()
	mem := s.memEntries(vehicleID, lo, hi)
	chunks, total, err := s.fetchChunks(ctx, vehicleID, lo, hi)
	s.flushMu.RUnlock()
	if err != nil {
		return nil, err
	}
	in := interner{}
	out, err = decodeChunks(slices.Grow(out, total+len(mem)), chunks, vehicleID, lo, hi, nil, in)
	if err != nil {
		return nil, err
	}
	for i := range mem {
		f, err := mem[i].fix(vehicleID, in)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return sortFixes(out, cmpTrack), nil
}

func cmpTrack(a, b *tracker.Fix) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.DeviceID, b.DeviceID)
}

// sortFixes sorts fixes (usually sorted already) and drops a fix read twice, once from memory
// and once from the chunk it was flushed to meanwhile: the two copies sort next to each other.
func sortFixes(fs []tracker.Fix, cmp func(a, b *tracker.Fix) int) []tracker.Fix {
	sorted := true
	for i := 1; i < len(fs) && sorted; i++ {
		sorted = cmp(&fs[i-1], &fs[i]) <= 0
	}
	if !sorted {
		slices.SortFunc(fs, func(a, b tracker.Fix) int {
			if c := cmp(&a, &b); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
	}
	return slices.CompactFunc(fs, func(a, b tracker.Fix) bool { return a.ID == b.ID })
}

// readChunks appends the vehicle's fixes in [lo, hi) from its chunks, those in box if box is
// given.
func (s *Store) readChunks(ctx context.Context, out []tracker.Fix, vehicle string, lo, hi int64, box *tracker.Box, in interner) ([]tracker.Fix, error) {
	chunks, _, err := s.fetchChunks(ctx, vehicle, lo, hi)
	if err != nil {
		return out, err
	}
	return decodeChunks(out, chunks, vehicle, lo, hi, box, in)
}

// fetchChunks reads the vehicle's chunks that may hold fixes in [lo, hi), in start order, and
// how many fixes they hold. Reading them all before decoding lets a track grow its result once:
// appending a month of fixes one by one would copy them over and over.
func (s *Store) fetchChunks(ctx context.Context, vehicle string, lo, hi int64) ([][]byte, int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT n, data FROM fix_chunks WHERE vehicle_id = ? AND start_us < ? AND start_us >= ? AND end_us >= ? ORDER BY start_us`,
		vehicle, hi, lo-maxChunkSpan, lo)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var chunks [][]byte
	total := 0
	for rows.Next() {
		var n int
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			return nil, 0, err
		}
		chunks = append(chunks, data)
		total += n
	}
	return chunks, total, rows.Err()
}

func decodeChunks(out []tracker.Fix, chunks [][]byte, vehicle string, lo, hi int64, box *tracker.Box, in interner) ([]tracker.Fix, error) {
	var ferr error
	for _, data := range chunks {
		err := decodeChunk(data, in, func(e *entry) bool {
			if e.t < lo || e.t >= hi {
				return e.t < hi
			}
			if box != nil && !inBox(box, e.lat, e.lon) {
				return true
			}
			var f tracker.Fix
			if f, ferr = e.fix(vehicle, in); ferr != nil {
				return false
			}
			out = append(out, f)
			return true
		})
		if err == nil {
			err = ferr
		}
		if err != nil {
			return out, fmt.Errorf("chunk of %s: %w", vehicle, err)
		}
	}
	return out, nil
}

func inBox(b *tracker.Box, lat, lon float64) bool {
	return lat >= b.MinLat && lat <= b.MaxLat && lon >= b.MinLon && lon <= b.MaxLon
}

// LatestFixes returns the newest fix of every vehicle.
func (s *Store) LatestFixes(ctx context.Context) ([]tracker.Fix, error) {
	type latest struct {
		vehicle string
		e       entry
	}
	s.mu.RLock()
	ls := make([]latest, 0, len(s.series))
	for v, se := range s.series {
		if se.hasLatest {
			ls = append(ls, latest{v, se.latest.owned()})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(ls, func(a, b latest) int { return strings.Compare(a.vehicle, b.vehicle) })
	out := make([]tracker.Fix, 0, len(ls))
	in := interner{}
	for _, l := range ls {
		f, err := l.e.fix(l.vehicle, in)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, ctx.Err()
}
