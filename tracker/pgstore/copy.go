package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/borderwatch/borderwatch/tracker"
)

// copyNewFixes begins the transaction and inserts a batch whose device times are all new, with
// their reserved IDs, by binary COPY, in one round trip: the BEGIN statements and the COPY are
// one simple query, and the rows follow it without waiting for the server's answer. COPY
// parses no SQL arrays and no JSON text per row, and writes a day partition's rows many to a
// WAL record and a page lock; a device time already taken fails it with a unique violation.
// encoded are the fixes' rows as EncodeFix made them, or nil: encoded here.
func copyNewFixes(ctx context.Context, q querier, fixes []tracker.Fix, encoded [][]byte, ids []int64, stx *shareTx) error {
	var sql bytes.Buffer
	for _, s := range beginStatements(stx) {
		sql.WriteString(s)
		sql.WriteString("; ")
	}
	sql.WriteString("COPY fixes (" + fixCols + ") FROM STDIN (FORMAT binary)")
	buf := encodeCopy(copyBufs.Get().(*[]byte), fixes, encoded, ids)
	_, err := q.PgConn().CopyFrom(ctx, bytes.NewReader(*buf), sql.String())
	if cap(*buf) <= maxPooledCopy {
		copyBufs.Put(buf)
	}
	return err
}

// copyBufs are COPY buffers kept between group commits: growing a new one to a large batch's
// size (copying it at every doubling) cost a tenth of the server's CPU at 15,000 fixes/s.
var copyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledCopy: the buffer of the pipeline's largest batch (4,096 fixes of ~250 bytes) is
// kept, that of a longer one not.
const maxPooledCopy = 2 << 20

// pgEpochMicros is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix microseconds.
const pgEpochMicros = 946684800000000

// textOID is the type of text array elements in the binary array format.
const textOID = 25

// idField is a row's field count and its ID, which EncodeFix leaves to encodeCopy.
const idField = 2 + 4 + 8

// encodeCopy is fixes with their ids in COPY's binary format, the columns of fixCols, in
// *buf's storage; encoded, when not nil, holds each fix's row after its ID (EncodeFix's).
func encodeCopy(buf *[]byte, fixes []tracker.Fix, encoded [][]byte, ids []int64) *[]byte {
	size := 21 + len(fixes)*(idField+256)
	if encoded != nil {
		size = 21 + len(fixes)*idField
		for _, e := range encoded {
			size += len(e)
		}
	}
	b := (*buf)[:0]
	if cap(b) < size {
		b = make([]byte, 0, size)
	}
	b = append(b, "PGCOPY\n\xff\r\n\x00"...)
	b = binary.BigEndian.AppendUint32(b, 0) // flags
	b = binary.BigEndian.AppendUint32(b, 0) // header extension length
	for i := range fixes {
		b = binary.BigEndian.AppendUint16(b, 15)
		b = appendInt8(b, ids[i])
		if encoded != nil {
			b = append(b, encoded[i]...)
		} else {
			b = appendFixRow(b, &fixes[i])
		}
	}
	*buf = binary.BigEndian.AppendUint16(b, math.MaxUint16) // the trailer: -1 fields
	return buf
}

// errUnsafeText: a fix with text that PostgreSQL refuses is left for Commit to encode, after
// validFixText made it what text can hold.
var errUnsafeText = errors.New("pgstore: text to be made valid at commit")

// EncodeFix appends f's COPY row after its ID (reserved at Commit), on the pipeline's
// submitting goroutines (tracker.FixEncoder), so that the group commit only copies bytes. A fix
// whose text PostgreSQL would refuse is not encoded ahead: Commit makes it valid first.
func (s *Store) EncodeFix(dst []byte, f *tracker.Fix) ([]byte, error) {
	if !validFix(f) {
		return dst, errUnsafeText
	}
	// Room for the row at once: the pipeline's buffers are often new, and growing one by
	// doubling copies it again and again.
	return appendFixRow(slices.Grow(dst, fixRowSize+len(f.Attrs)*32), f), nil
}

// fixRowSize is the length of a fix's COPY row after its ID, without attributes, for short
// identifiers and no flags.
const fixRowSize = 3*(4+16) + 7*(4+8) + 2*(4+1) + 2*4

// appendFixRow appends the fields of fixCols after the ID, of a fix with valid text.
func appendFixRow(buf []byte, f *tracker.Fix) []byte {
	buf = appendText(buf, f.VehicleID)
	buf = appendText(buf, f.DeviceID)
	buf = appendText(buf, f.Protocol)
	buf = appendInt8(buf, f.Time.UnixMicro()-pgEpochMicros)
	buf = appendInt8(buf, f.ReceivedAt.UnixMicro()-pgEpochMicros)
	for _, x := range [...]float64{f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.AltitudeM} {
		buf = appendInt8(buf, int64(math.Float64bits(x)))
	}
	buf = appendBool(buf, f.Valid)
	buf = appendBool(buf, f.Late)
	if len(f.Flags) == 0 { // none is NULL, as fixColumns passes it
		buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32)
	} else {
		at := len(buf)
		buf = binary.BigEndian.AppendUint32(buf, 0) // the array's length, set below
		buf = binary.BigEndian.AppendUint32(buf, 1) // dimensions
		buf = binary.BigEndian.AppendUint32(buf, 0) // no NULL elements
		buf = binary.BigEndian.AppendUint32(buf, textOID)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(f.Flags)))
		buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
		for _, fl := range f.Flags {
			buf = appendText(buf, fl)
		}
		binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	}
	if len(f.Attrs) == 0 {
		return binary.BigEndian.AppendUint32(buf, math.MaxUint32)
	}
	at := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, 0) // the value's length, set below
	buf = append(buf, 1)                        // jsonb's binary format: version 1, then the text
	buf = appendAttrsJSON(buf, f.Attrs)
	binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	return buf
}

// appendAttrsJSON appends attributes as JSON text (non-empty ones), as jsonOrNil makes them.
// The attributes terminals send (numbers, plain strings, booleans) are written directly, keys
// in order; anything else goes through encoding/json: json.Marshal of the map was a seventh of
// the server's CPU at 15,000 fixes/s.
func appendAttrsJSON(buf []byte, m map[string]any) []byte {
	var stack [16]string
	keys := stack[:0]
	for k, v := range m {
		if !plainJSON(k) || !plainValue(v) {
			return append(buf, jsonOrNil(m).([]byte)...)
		}
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // insertion sort: a handful of keys, no allocation
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, k...)
		buf = append(buf, '"', ':')
		switch v := m[k].(type) {
		case nil:
			buf = append(buf, "null"...)
		case bool:
			buf = strconv.AppendBool(buf, v)
		case string:
			buf = append(buf, '"')
			buf = append(buf, v...)
			buf = append(buf, '"')
		case float64:
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		case int:
			buf = strconv.AppendInt(buf, int64(v), 10)
		case int64:
			buf = strconv.AppendInt(buf, v, 10)
		}
	}
	return append(buf, '}')
}

// plainValue reports whether appendAttrsJSON writes v itself: a finite number (NaN and the
// infinities are encoding/json's error), a plain string, a boolean or null.
func plainValue(v any) bool {
	switch x := v.(type) {
	case nil, bool, int, int64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case string:
		return plainJSON(x)
	}
	return false
}

// plainJSON reports whether s is JSON string content as it is: printable ASCII without
// quote or backslash.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func appendInt8(buf []byte, v int64) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(v))
}

func appendText(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func appendBool(buf []byte, b bool) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 1)
	if b {
		return append(buf, 1)
	}
	return append(buf, 0)
}
