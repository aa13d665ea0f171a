// Package segment is the on-disk format of the embedded store's fix log segments: how a
// segment and its records are framed, and how a segment is read back, damaged or not. It knows
// nothing of what a record holds. (A package of its own, without SQLite, so that its fuzzer
// runs at full speed.)
//
// A segment (version 2, written now) begins with a header, and each record is one write():
//
//	header: "BWFL" | version byte (2) | 3 zero bytes | marker [4]byte | CRC-32C of the 12 bytes before
//	record: marker | payload length uint32 | ordinal uint32 | CRC-32C of the 12 bytes before |
//	        CRC-32C of the payload | payload
//
// all little-endian. The marker is random per segment and the ordinal numbers the segment's
// records from 0. A record damaged on disk is skipped: Read looks, byte by byte, for the next
// marker whose header and payload check out, and the gap in the ordinals says how many records
// were lost. The marker is known only to whoever can read the segment, so bytes a device chose
// (a fix is stored as sent) cannot pass for a record when Read scans through them.
//
// Version 1 segments (no header; a record is payload length | CRC-32C | payload) are read as
// they always were: the first record that does not check out ends the segment.
package segment

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

const (
	HeaderLen       = 16
	RecordHeaderLen = 20
	MaxRecordLen    = 1 << 30

	version           = 2
	recordHeaderLenV1 = 8
)

var (
	crcTable = crc32.MakeTable(crc32.Castagnoli)
	magic    = []byte("BWFL")
)

// Header returns a new segment's header.
func Header(marker [4]byte) []byte {
	h := append(append(make([]byte, 0, HeaderLen), magic...), version, 0, 0, 0)
	h = append(h, marker[:]...)
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, crcTable))
}

// PutRecordHeader fills in the header of record, RecordHeaderLen bytes before its payload.
func PutRecordHeader(record []byte, marker [4]byte, ordinal uint32) {
	payload := record[RecordHeaderLen:]
	copy(record, marker[:])
	binary.LittleEndian.PutUint32(record[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(record[8:], ordinal)
	binary.LittleEndian.PutUint32(record[12:], crc32.Checksum(record[:12], crcTable))
	binary.LittleEndian.PutUint32(record[16:], crc32.Checksum(payload, crcTable))
}

// Scan is what Read found beside the intact records.
type Scan struct {
	Damaged []Region
	Torn    int // bytes of a write torn at the end: never acknowledged, not a loss
}

// Region is a run of bytes that held no intact record, and how many records were in it.
type Region struct {
	Offset, Bytes, Records int
}

// Read calls record with the offset and payload of each intact record of a segment, in order.
// A record it refuses (false) counts as damaged.
func Read(data []byte, record func(off int, payload []byte) bool) Scan {
	if isV1(data) {
		return readV1(data, record)
	}
	var scan Scan
	if len(data) < HeaderLen+RecordHeaderLen {
		// A header without records, or with a torn first record: nothing was acknowledged.
		scan.Torn = max(len(data)-HeaderLen, 0)
		return scan
	}
	// The header's marker or, if the header is damaged, the first record's.
	headerOK := bytes.HasPrefix(data, magic) && data[4] == version && crc32.Checksum(data[:12], crcTable) == binary.LittleEndian.Uint32(data[12:])
	marker := [4]byte(data[HeaderLen : HeaderLen+4])
	bad := -1 // start of the damaged run being skipped, if any
	if headerOK {
		marker = [4]byte(data[8:12])
	} else {
		bad = 0
	}
	off, next := HeaderLen, uint32(0)
	whole, haveWhole := uint32(0), false // the last record of the run known to be written whole
	for off < len(data) {
		h, ok := readRecordHeader(data[off:], marker)
		if ok && h.ordinal >= next {
			end := off + RecordHeaderLen + int(h.length)
			if end <= len(data) && crc32.Checksum(data[off+RecordHeaderLen:end], crcTable) == h.sum && record(off, data[off+RecordHeaderLen:end]) {
				if bad >= 0 {
					scan.Damaged = append(scan.Damaged, Region{bad, off - bad, int(h.ordinal - next)})
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
		scan.Damaged = append(scan.Damaged, Region{bad, len(data) - bad, int(whole-next) + 1})
	case !headerOK && next == 0:
		scan.Damaged = append(scan.Damaged, Region{bad, len(data) - bad, 1}) // at least one
	default:
		scan.Torn = len(data) - bad
	}
	return scan
}

type recordHeader struct {
	length, ordinal, sum uint32
}

// readRecordHeader reads the header at the start of b if it checks out.
func readRecordHeader(b []byte, marker [4]byte) (recordHeader, bool) {
	if len(b) < RecordHeaderLen || [4]byte(b[:4]) != marker || crc32.Checksum(b[:12], crcTable) != binary.LittleEndian.Uint32(b[12:]) {
		return recordHeader{}, false
	}
	h := recordHeader{binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[16:])}
	return h, h.length <= MaxRecordLen
}

// isV1 reports a segment written before segments had headers: its first record checks out as
// a version 1 record. (A version 2 segment begins with "BWFL", which as a length is beyond
// MaxRecordLen.)
func isV1(data []byte) bool {
	if len(data) < recordHeaderLenV1 {
		return false
	}
	n := binary.LittleEndian.Uint32(data)
	return n <= MaxRecordLen && int(n) <= len(data)-recordHeaderLenV1 &&
		crc32.Checksum(data[recordHeaderLenV1:recordHeaderLenV1+int(n)], crcTable) == binary.LittleEndian.Uint32(data[4:])
}

// readV1 reads a version 1 segment as it was always read: to its first bad record.
func readV1(data []byte, record func(off int, payload []byte) bool) Scan {
	off := 0
	for len(data)-off >= recordHeaderLenV1 {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n > len(data)-off-recordHeaderLenV1 {
			break
		}
		payload := data[off+recordHeaderLenV1 : off+recordHeaderLenV1+n]
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(data[off+4:]) || !record(off, payload) {
			break
		}
		off += recordHeaderLenV1 + n
	}
	return Scan{Torn: len(data) - off}
}
