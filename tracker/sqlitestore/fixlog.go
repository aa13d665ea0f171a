package sqlitestore

import (
	"bytes"
	"crypto/rand"
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
// a batch of fixes becomes durable. A segment is named after the LSN of its first record (16 hex
// digits); LSNs only grow, so a segment holds only LSNs below the next segment's name. Writing
// never reuses a segment after a failed write or a restart: a torn record can only be the last
// of its segment.
//
// A segment (version 2, written now) begins with a header, and each record is one write():
//
//	header: "BWFL" | version byte (2) | 3 zero bytes | marker [4]byte | CRC-32C of the 12 bytes before
//	record: marker | payload length uint32 | ordinal uint32 | CRC-32C of the 12 bytes before |
//	        CRC-32C of the payload | payload
//
// little-endian; a payload begins with the record's LSN (see record.go). The marker is random per
// segment and the ordinal numbers the segment's records from 0. A record damaged on disk is
// skipped: recovery looks, byte by byte, for the next marker whose header and payload check out,
// and the gap in the ordinals says how many records were lost (scanSegment). Since the marker is
// secret to the data directory, bytes a device chose (its attributes are stored as sent) cannot
// pass for a record when recovery scans through them.
//
// Version 1 segments (written before; a record is payload length | CRC-32C | payload, no header)
// are read as they were: the first record that does not check out ends the segment.
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
	segHeaderLen  = 16
	frameHeader   = 20 // a version 2 record's header
	frameHeaderV1 = 8
	maxRecordLen  = 1 << 30
)

var (
	crcTable = crc32.MakeTable(crc32.Castagnoli)
	segMagic = []byte("BWFL")
)

const segVersion = 2

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
		scan := scanSegment(data, func(off int, payload []byte) bool {
			lsn, k := binary.Uvarint(payload)
			if k <= 0 {
				return false
			}
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
		for _, d := range scan.damaged {
			log.Error("fix log: skipped a damaged region; the records in it are lost", "segment", name, "offset", d.offset, "bytes", d.bytes, "records_lost", d.records)
			l.damage.Records += d.records
			l.damage.Bytes += int64(d.bytes)
		}
		if len(scan.damaged) > 0 {
			l.damage.Segments = append(l.damage.Segments, path)
			if err := os.WriteFile(path+".damaged", data, 0o600); err != nil {
				log.Error("fix log: could not keep a copy of a damaged segment", "segment", name, "err", err)
			}
		}
		if scan.torn > 0 {
			log.Warn("fix log: discarded a torn record at the end of a segment", "segment", name, "offset", len(data)-scan.torn, "bytes", scan.torn)
		}
	}
	if l.damage.Records > 0 || l.damage.Bytes > 0 {
		log.Error("fix log damaged", "records_lost", l.damage.Records, "bytes_skipped", l.damage.Bytes, "segments", len(l.damage.Segments))
	}
	return nil
}

// segmentScan is what scanSegment found beside the intact records.
type segmentScan struct {
	damaged []damagedRegion
	torn    int // bytes of a torn write at the end
}

// damagedRegion is a run of bytes that held no intact record, and how many records it held.
type damagedRegion struct {
	offset, bytes, records int
}

// scanSegment calls record with the offset and payload of each intact record of a segment, in
// order. A record it refuses (false) counts as damaged.
func scanSegment(data []byte, record func(off int, payload []byte) bool) segmentScan {
	if isSegmentV1(data) {
		return scanSegmentV1(data, record)
	}
	var scan segmentScan
	if len(data) < segHeaderLen+frameHeader {
		// A header without records, or with a torn first record: nothing was acknowledged.
		scan.torn = max(len(data)-segHeaderLen, 0)
		return scan
	}
	// The header's marker or, if the header is damaged, the first record's.
	headerOK := bytes.HasPrefix(data, segMagic) && data[4] == segVersion && crc32.Checksum(data[:12], crcTable) == binary.LittleEndian.Uint32(data[12:])
	marker := [4]byte(data[segHeaderLen : segHeaderLen+4])
	bad := -1 // start of the damaged run being skipped, if any
	if headerOK {
		marker = [4]byte(data[8:12])
	} else {
		bad = 0
	}
	off, next := segHeaderLen, uint32(0)
	whole, haveWhole := uint32(0), false // the last record of the run known to be written whole
	for off < len(data) {
		h, ok := readRecordHeader(data[off:], marker)
		if ok && h.ordinal >= next {
			end := off + frameHeader + int(h.length)
			if end <= len(data) && crc32.Checksum(data[off+frameHeader:end], crcTable) == h.sum && record(off, data[off+frameHeader:end]) {
				if bad >= 0 {
					scan.damaged = append(scan.damaged, damagedRegion{bad, off - bad, int(h.ordinal - next)})
					bad, haveWhole = -1, false
				}
				next, off = h.ordinal+1, end
				continue
			}
			if end <= len(data) {
				whole, haveWhole = h.ordinal, true
			}
		}
		if bad < 0 {
			bad = off
		}
		i := bytes.Index(data[off+1:], marker[:])
		if i < 0 {
			break
		}
		off += 1 + i
	}
	if bad < 0 {
		return scan
	}
	// The damage runs to the end. A record whose header checks out and which ends within the
	// segment was written whole: it and those before it are lost. A record running past the
	// end is a torn write, and so is a tail in which no header checks out, unless nothing of
	// the segment could be read at all.
	switch {
	case haveWhole:
		scan.damaged = append(scan.damaged, damagedRegion{bad, len(data) - bad, int(whole-next) + 1})
	case !headerOK && next == 0:
		scan.damaged = append(scan.damaged, damagedRegion{bad, len(data) - bad, 1}) // at least one
	default:
		scan.torn = len(data) - bad
	}
	return scan
}

// recordHeader is a version 2 record's header.
type recordHeader struct {
	length, ordinal, sum uint32
}

// readRecordHeader reads the header at the start of b if it checks out.
func readRecordHeader(b []byte, marker [4]byte) (recordHeader, bool) {
	if len(b) < frameHeader || [4]byte(b[:4]) != marker || crc32.Checksum(b[:12], crcTable) != binary.LittleEndian.Uint32(b[12:]) {
		return recordHeader{}, false
	}
	h := recordHeader{binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[16:])}
	return h, h.length <= maxRecordLen
}

// isSegmentV1 reports a segment written before segments had headers: its first record checks
// out as a version 1 record. (A version 2 segment begins with "BWFL", which as a length is
// beyond maxRecordLen.)
func isSegmentV1(data []byte) bool {
	if len(data) < frameHeaderV1 {
		return false
	}
	n := binary.LittleEndian.Uint32(data)
	return n <= maxRecordLen && int(n) <= len(data)-frameHeaderV1 &&
		crc32.Checksum(data[frameHeaderV1:frameHeaderV1+int(n)], crcTable) == binary.LittleEndian.Uint32(data[4:])
}

// scanSegmentV1 reads a version 1 segment as it was always read: to its first bad record.
func scanSegmentV1(data []byte, record func(off int, payload []byte) bool) segmentScan {
	off := 0
	for len(data)-off >= frameHeaderV1 {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n > len(data)-off-frameHeaderV1 {
			break
		}
		payload := data[off+frameHeaderV1 : off+frameHeaderV1+n]
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(data[off+4:]) || !record(off, payload) {
			break
		}
		off += frameHeaderV1 + n
	}
	return segmentScan{torn: len(data) - off}
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
	copy(frame, l.marker[:])
	binary.LittleEndian.PutUint32(frame[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[8:], l.ordinal)
	binary.LittleEndian.PutUint32(frame[12:], crc32.Checksum(frame[:12], crcTable))
	binary.LittleEndian.PutUint32(frame[16:], crc32.Checksum(payload, crcTable))
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
	header := append(append(slices.Clip(segMagic), segVersion, 0, 0, 0), marker[:]...)
	header = binary.LittleEndian.AppendUint32(header, crc32.Checksum(header, crcTable))
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
