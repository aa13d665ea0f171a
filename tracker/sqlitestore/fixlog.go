package sqlitestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// fixLog is the append-only log of fix batches beside the database (<db>.wal/): the point where
// a batch of fixes becomes durable. Each record is one write():
//
//	payload length uint32 LE | CRC-32C of the payload uint32 LE | payload
//
// and its payload begins with the record's LSN (see record.go). A segment is named after the
// LSN of its first record (16 hex digits); LSNs only grow, so a segment holds only LSNs below the
// next segment's name. Writing never reuses a segment after a failed write or a restart: a torn
// record can only be the last of its segment, and recovery drops it and reads on in the next.
type fixLog struct {
	dir    string
	sync   bool
	maxLen int64

	f      *os.File
	size   int64
	closed []uint64 // first LSNs of the segments before the current one, ascending
	cur    uint64   // first LSN of the current segment
	broken bool     // the last write failed: start a new segment
	last   uint64   // highest LSN written or replayed

	// writeHook, set only by tests, replaces a record's write and fdatasync to inject failures.
	writeHook func(f *os.File, frame []byte) (int, error)
}

const (
	segmentMaxLen = 64 << 20
	frameHeader   = 8
	maxRecordLen  = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func openFixLog(dir string, sync bool) (*fixLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
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

// replay calls fn for every intact record with LSN >= from, in LSN order. A record that does not
// check out ends its segment: it is a write torn by a crash (or a failed write) and was never
// acknowledged.
func (l *fixLog) replay(from uint64, log *slog.Logger, fn func(lsn uint64, payload []byte) error) error {
	for i, first := range l.closed {
		if i+1 < len(l.closed) && l.closed[i+1] <= from {
			continue // every record here is older than from
		}
		data, err := os.ReadFile(l.segPath(first))
		if err != nil {
			return err
		}
		off := 0
		for off < len(data) {
			if len(data)-off < frameHeader {
				break
			}
			n := int(binary.LittleEndian.Uint32(data[off:]))
			sum := binary.LittleEndian.Uint32(data[off+4:])
			if n > len(data)-off-frameHeader {
				break
			}
			payload := data[off+frameHeader : off+frameHeader+n]
			if crc32.Checksum(payload, crcTable) != sum {
				break
			}
			lsn, k := binary.Uvarint(payload)
			if k <= 0 {
				break
			}
			l.last = max(l.last, lsn)
			if lsn >= from {
				if err := fn(lsn, payload); err != nil {
					return fmt.Errorf("fix log %016x at %d: %w", first, off, err)
				}
			}
			off += frameHeader + n
		}
		if off < len(data) {
			log.Warn("fix log: discarded a torn record at the end of a segment", "segment", filepath.Base(l.segPath(first)), "offset", off, "bytes", len(data)-off)
		}
	}
	return nil
}

// append writes one record, frame[frameHeader:], after filling in its header, and, with sync,
// makes it survive power loss. On error nothing of the record counts: a torn remainder is dropped
// at recovery, and the next record starts a new segment. A *syncError reports a record written
// whole whose fdatasync failed.
func (l *fixLog) append(lsn uint64, frame []byte) error {
	payload := frame[frameHeader:]
	if len(payload) > maxRecordLen {
		return fmt.Errorf("fix log record of %d bytes", len(payload))
	}
	if l.f == nil || l.broken || l.size >= l.maxLen {
		if err := l.rotate(lsn); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(frame, uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(payload, crcTable))
	if l.writeHook != nil {
		n, err := l.writeHook(l.f, frame)
		l.size += int64(n)
		if n == len(frame) {
			l.last = lsn
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
	f, err := os.OpenFile(l.segPath(first), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if l.sync {
		// The new segment's directory entry must be durable before any record in it counts.
		if err := syncDir(l.dir); err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
	}
	l.f, l.cur, l.size, l.broken = f, first, 0, false
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
