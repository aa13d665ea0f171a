package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"

	"github.com/borderwatch/borderwatch/tracker"
)

// copyNewFixes begins the transaction and inserts a batch whose device times are all new, with
// their reserved IDs, by binary COPY, in one round trip: the BEGIN statements and the COPY are
// one simple query, and the rows follow it without waiting for the server's answer. COPY
// parses no SQL arrays and no JSON text per row, and writes a day partition's rows many to a
// WAL record and a page lock; a device time already taken fails it with a unique violation.
// attrs are the fixes' attributes as attrsJSON gives them.
func copyNewFixes(ctx context.Context, q querier, fixes []tracker.Fix, ids []int64, attrs []any, stx *shareTx) error {
	var sql bytes.Buffer
	for _, s := range beginStatements(stx) {
		sql.WriteString(s)
		sql.WriteString("; ")
	}
	sql.WriteString("COPY fixes (" + fixCols + ") FROM STDIN (FORMAT binary)")
	_, err := q.PgConn().CopyFrom(ctx, bytes.NewReader(encodeCopy(fixes, ids, attrs)), sql.String())
	return err
}

// pgEpochMicros is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix microseconds.
const pgEpochMicros = 946684800000000

// textOID is the type of text array elements in the binary array format.
const textOID = 25

// encodeCopy is fixes with their ids and attrs (attrsJSON's) in COPY's binary format, the
// columns of fixCols.
func encodeCopy(fixes []tracker.Fix, ids []int64, attrs []any) []byte {
	buf := make([]byte, 0, 19+len(fixes)*200)
	buf = append(buf, "PGCOPY\n\xff\r\n\x00"...)
	buf = binary.BigEndian.AppendUint32(buf, 0) // flags
	buf = binary.BigEndian.AppendUint32(buf, 0) // header extension length
	for i := range fixes {
		f := &fixes[i]
		buf = binary.BigEndian.AppendUint16(buf, 15)
		buf = appendInt8(buf, ids[i])
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
		if attrs[i] == nil {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32)
		} else {
			j := attrs[i].([]byte)
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(j)+1))
			buf = append(buf, 1) // jsonb's binary format: version 1, then the text
			buf = append(buf, j...)
		}
	}
	return binary.BigEndian.AppendUint16(buf, math.MaxUint16) // the trailer: -1 fields
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
