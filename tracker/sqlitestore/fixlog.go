package sqlitestore

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/borderwatch/borderwatch/tracker/sqlitestore/internal/segment"
)

// fixLog is the append-only log of fix batches beside the database (<db>.wal/): the point where
// a batch of fixes becomes durable. A segment is named after the LSN of its first record (16 hex
// digits); LSNs only grow, so a segment holds only LSNs below the next segment's name. Writing
// never reuses a segment after a failed write or a restart: a torn record can only be the last
// of its segment. Each record is one write(), framed as package segment says, and its payload
// begins with the record's LSN (see record.go).
type fixLog struct {
	dir    string
	sync   bool
	maxLen int64

	f       *os.File
	size    int64
	closed  []uint64 // first LSNs of the segments before the current one, ascending
	cur     uint64   // first LSN of the current segment
	marker  [4]byte  // the current segment's
	ordinal uint32   // the next record's in the current segment
	broken  bool     // the last write failed: start a new segment
	last    uint64   // highest LSN written or replayed

	damage LogDamage // what replay found damaged

	// writeHook, set only by tests, replaces a record's write and fdatasync to inject failures.
	writeHook func(f *os.File, frame []byte) (int, error)
}

// LogDamage is what recovery found damaged in the fix log when the store opened: records that
// were written whole (and so may have been acknowledged) but no longer check out. Their fixes
// are lost; every other record was read.
type LogDamage struct {
	Records  int      `json:"records"`  // records lost
	Bytes    int64    `json:"bytes"`    // bytes skipped, torn writes at segment ends not included
	Segments []string `json:"segments"` // the damaged segments' paths; a copy of each is kept at <path>.damaged
}

const (
	segmentMaxLen = 64 << 20
	frameHeader   = segment.RecordHeaderLen
)

func openFixLog(dir string, sync bool) (*fixLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &fixLog{dir: dir, sync: sync, maxLen: segmentMaxLen}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if lsn, err := strconv.ParseUint(e.Name(), 16, 64); err == nil && len(e.Name()) == 16 && e.Type().IsRegular() {
			l.closed = append(l.closed, lsn)
		}
	}
	slices.Sort(l.closed)
	return l, nil
}

func (l *fixLog) segPath(first uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x", first))
}

// replay calls fn for every intact record with LSN >= from, in LSN order. A record cut short at
// the end of its segment is a write torn by a crash (or a failed write) and was never
// acknowledged; one damaged anywhere else is skipped, counted in l.damage and logged, and the
// segment is copied aside for whoever investigates.
func (l *fixLog) replay(from uint64, log *slog.Logger, fn func(lsn uint64, payload []byte) error) error {
	for i, first := range l.closed {
		if i+1 < len(l.closed) && l.closed[i+1] <= from {
			continue // every record here is older than from
		}
		path := l.segPath(first)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var fnErr error
		// The LSN of the record after each gap: a damaged region followed by a record below
		// from held only records below it too, which are in chunks already.
		after, prevEnd := map[int]uint64{}, -1
		scan := segment.Read(data, func(off int, payload []byte) bool {
			lsn, k := binary.Uvarint(payload)
			if k <= 0 {
				return false
			}
			if off != prevEnd {
				after[off] = lsn
			}
			prevEnd = off + frameHeader + len(payload)
			l.last = max(l.last, lsn)
			if lsn >= from && fnErr == nil {
				if err := fn(lsn, payload); err != nil {
					fnErr = fmt.Errorf("fix log %016x at %d: %w", first, off, err)
				}
			}
			return true
		})
		if fnErr != nil {
			return fnErr
		}
		name := filepath.Base(path)
		lost := false
		for _, d := range scan.Damaged {
			if lsn, ok := after[d.Offset+d.Bytes]; ok && lsn < from {
				log.Warn("fix log: skipped a damaged region holding only fixes already in the database", "segment", name, "offset", d.Offset, "bytes", d.Bytes)
				continue
			}
			log.Error("fix log: skipped a damaged region; the records in it are lost", "segment", name, "offset", d.Offset, "bytes", d.Bytes, "records_lost", d.Records)
			l.damage.Records += d.Records
			l.damage.Bytes += int64(d.Bytes)
			lost = true
		}
		if lost {
			l.damage.Segments = append(l.damage.Segments, path)
			if err := os.WriteFile(path+".damaged", data, 0o600); err != nil {
				log.Error("fix log: could not keep a copy of a damaged segment", "segment", name, "err", err)
			}
		}
		if scan.Torn > 0 {
			log.Warn("fix log: discarded a torn record at the end of a segment", "segment", name, "offset", len(data)-scan.Torn, "bytes", scan.Torn)
		}
	}
	if l.damage.Records > 0 || l.damage.Bytes > 0 {
		log.Error("fix log damaged", "records_lost", l.damage.Records, "bytes_skipped", l.damage.Bytes, "segments", len(l.damage.Segments))
	}
	return nil
}

// append writes one record, frame[frameHeader:], after filling in its header, and, with sync,
// makes it survive power loss. On error nothing of the record counts: a torn remainder is dropped
// at recovery, and the next record starts a new segment. A *syncError reports a record written
// whole whose fdatasync failed.
func (l *fixLog) append(lsn uint64, frame []byte) error {
	payload := frame[frameHeader:]
	if len(payload) > segment.MaxRecordLen {
		return fmt.Errorf("fix log record of %d bytes", len(payload))
	}
	if l.f == nil || l.broken || l.size >= l.maxLen {
		if err := l.rotate(lsn); err != nil {
			return err
		}
	}
	segment.PutRecordHeader(frame, l.marker, l.ordinal)
	if l.writeHook != nil {
		n, err := l.writeHook(l.f, frame)
		l.size += int64(n)
		if n == len(frame) {
			l.last = lsn
			l.ordinal++
		}
		if err != nil {
			l.broken = true
		}
		return err
	}
	n, err := l.f.Write(frame)
	l.size += int64(n)
	if err != nil {
		l.broken = true
		return fmt.Errorf("fix log write: %w", err)
	}
	l.last = lsn
	l.ordinal++
	if l.sync {
		if err := syscall.Fdatasync(int(l.f.Fd())); err != nil {
			l.broken = true
			return &syncError{err}
		}
	}
	return nil
}

// syncError is a record written whole whose fdatasync failed: it may or may not survive a power
// loss, and it does survive a process crash, so the store treats it as written.
type syncError struct{ err error }

func (e *syncError) Error() string { return "fix log fdatasync: " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

func (l *fixLog) rotate(first uint64) error {
	if l.f != nil {
		l.closed = append(l.closed, l.cur)
		err := l.f.Close()
		l.f = nil
		if err != nil && !l.broken {
			return err
		}
	}
	f, err := os.OpenFile(l.segPath(first), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	var marker [4]byte
	rand.Read(marker[:])
	header := segment.Header(marker)
	_, err = f.Write(header)
	if err == nil && l.sync {
		// The new segment's directory entry must be durable before any record in it counts
		// (its header is made durable by the first record's fdatasync).
		err = syncDir(l.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	l.f, l.cur, l.size, l.broken = f, first, int64(len(header)), false
	l.marker, l.ordinal = marker, 0
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeBelow deletes the closed segments whose every record has an LSN below lsn.
func (l *fixLog) removeBelow(lsn uint64) error {
	return l.remove(l.takeBelow(lsn))
}

// takeBelow takes the closed segments whose every record has an LSN below lsn off the list,
// for remove: unlinking a segment can take tens of milliseconds, and a Commit must not wait
// for it.
func (l *fixLog) takeBelow(lsn uint64) []uint64 {
	keep := l.closed[:0]
	var gone []uint64
	for i, first := range l.closed {
		next := l.cur
		if i+1 < len(l.closed) {
			next = l.closed[i+1]
		} else if l.f == nil {
			next = max(l.last+1, first) // no segment after it: it ends at the last LSN seen
		}
		if next <= lsn {
			gone = append(gone, first)
			continue
		}
		keep = append(keep, first)
	}
	l.closed = keep
	return gone
}

// remove deletes segments taken by takeBelow. One that cannot be deleted is left on disk:
// the next Open replays it from the flushed LSN on, which skips it, and deletes it then.
func (l *fixLog) remove(segments []uint64) error {
	var errs []error
	for _, first := range segments {
		if err := os.Remove(l.segPath(first)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close closes the current segment; it stays for recovery until a flush passes it.
func (l *fixLog) close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.closed = append(l.closed, l.cur)
	l.f = nil
	return err
}

// segments is the number of segment files, for a metric and tests.
func (l *fixLog) segments() int {
	n := len(l.closed)
	if l.f != nil {
		n++
	}
	return n
}
