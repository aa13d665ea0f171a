package sqlitestore

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/borderwatch/borderwatch/tracker"
)

// entry is a stored fix as the store keeps it in memory and in chunks: key, ID and position
// decoded, the rest as encoded fix data (fixcodec.go), decoded only when read.
type entry struct {
	t, id    int64
	dev      string
	lat, lon float64
	data     []byte
}

// less orders entries as a track is read: device time, then device.
func (e *entry) less(t int64, dev string) bool {
	return e.t < t || e.t == t && e.dev < dev
}

func (e *entry) fix(vehicle string, in interner) (tracker.Fix, error) {
	f := tracker.Fix{ID: e.id, VehicleID: vehicle, DeviceID: e.dev, Time: fromUS(e.t), Lat: e.lat, Lon: e.lon}
	return f, decodeFixData(e.data, &f, in)
}

// A log record is one Commit's new fixes:
//
//	LSN uvarint | per fix, to the end: vehicle, device (uvarint length + bytes), ID uvarint,
//	time_us varint, lat, lon float64, fix data (uvarint length + bytes)
//
// The same payload is the fix log's record and, for a batch with events or alerts, the row of
// fix_log that commits with them. A vehicle's newest fix in fix_series is one such fix alone.
//
// recordFixMax bounds a fix's encoding beside its data: the varints and floats at their widest.
const recordFixMax = 3*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64 + 16 + binary.MaxVarintLen64

// appendRecordFix appends a fix of vehicle.
func appendRecordFix(dst []byte, vehicle string, e *entry) []byte {
	dst = appendString(dst, vehicle)
	dst = appendString(dst, e.dev)
	dst = binary.AppendUvarint(dst, uint64(e.id))
	dst = binary.AppendVarint(dst, e.t)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.lat))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.lon))
	return appendBytes(dst, e.data)
}

func (r *reader) recordFix() (vehicle string, e entry) {
	vehicle = r.string()
	e.dev = r.string()
	e.id = int64(r.uvarint())
	e.t = r.varint()
	e.lat, e.lon = r.float(), r.float()
	e.data = r.bytes()
	return vehicle, e
}

// decodeRecord calls fn with every fix of a record payload; e.data points into payload.
func decodeRecord(payload []byte, fn func(vehicle string, e entry)) (lsn uint64, err error) {
	r := reader{b: payload}
	lsn = r.uvarint()
	for len(r.b) > 0 && r.err == nil {
		veh, e := r.recordFix()
		if r.err == nil {
			fn(veh, e)
		}
	}
	return lsn, r.err
}

// A chunk is a run of one vehicle's fixes in time order, one row of fix_chunks (n, the count,
// is a column of the row):
//
//	version byte (2) | per fix: device index uvarint (a new device: its index is the number of
//	devices so far, and its name follows as length + bytes), time_us delta varint, ID delta
//	varint, lat, lon float64, fix data (uvarint length + bytes)
//
// Deltas are from the previous fix (the first from zero): a fix's key costs a few bytes. The
// encoding streams: a head encodes each fix as it arrives, while the fix is in the cache, and a
// head whose fixes arrived in order is flushed as it is.
//
// Version 1 (written briefly) had a fix count and the device names up front.
const (
	chunkV1 = 1
	chunkV2 = 2
)

// chunkWriter appends fixes to a chunk.
type chunkWriter struct {
	buf           []byte
	devs          []string
	prevT, prevID int64
}

// chunkMark is where a chunkWriter was, to go back there.
type chunkMark struct {
	buf, devs     int
	prevT, prevID int64
}

func (w *chunkWriter) mark() chunkMark {
	return chunkMark{len(w.buf), len(w.devs), w.prevT, w.prevID}
}

func (w *chunkWriter) reset(m chunkMark) {
	w.buf, w.devs, w.prevT, w.prevID = w.buf[:m.buf], w.devs[:m.devs], m.prevT, m.prevID
}

// add appends e and returns its fix data as it now lies in the chunk.
func (w *chunkWriter) add(e *entry) []byte {
	if len(w.buf) == 0 {
		w.buf = append(w.buf, chunkV2)
	}
	k := slices.Index(w.devs, e.dev)
	if k < 0 {
		k = len(w.devs)
		w.devs = append(w.devs, e.dev)
		w.buf = binary.AppendUvarint(w.buf, uint64(k))
		w.buf = appendString(w.buf, e.dev)
	} else {
		w.buf = binary.AppendUvarint(w.buf, uint64(k))
	}
	w.buf = binary.AppendVarint(w.buf, e.t-w.prevT)
	w.buf = binary.AppendVarint(w.buf, e.id-w.prevID)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(e.lat))
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(e.lon))
	w.buf = appendBytes(w.buf, e.data)
	w.prevT, w.prevID = e.t, e.id
	// Not clipped: cap tells where in the buffer the data lies (see series.add). Nothing
	// appends to an entry's data.
	return w.buf[len(w.buf)-len(e.data):]
}

// appendChunk encodes es, sorted, as one chunk.
func appendChunk(es []entry) []byte {
	size := 1
	for i := range es {
		size += 4*binary.MaxVarintLen64 + 16 + len(es[i].data)
	}
	w := chunkWriter{buf: make([]byte, 0, size)}
	for i := range es {
		w.add(&es[i])
	}
	return w.buf
}

// decodeChunk calls fn with every fix of a chunk in order until fn returns false; e.data points
// into b. in may be nil.
func decodeChunk(b []byte, in interner, fn func(e *entry) bool) error {
	r := reader{b: b}
	var devs []string
	n := uint64(math.MaxUint64)
	switch r.byte() {
	case chunkV1:
		n = r.uvarint()
		nd := r.uvarint()
		if nd > uint64(len(r.b)) {
			return errFixData
		}
		for range nd {
			devs = append(devs, r.istring(in))
		}
	case chunkV2:
	default:
		return errFixData
	}
	var e entry
	for i := uint64(0); i < n && len(r.b) > 0 && r.err == nil; i++ {
		d := r.uvarint()
		switch {
		case d < uint64(len(devs)):
			e.dev = devs[d]
		case d == uint64(len(devs)) && b[0] == chunkV2:
			e.dev = r.istring(in)
			devs = append(devs, e.dev)
		default:
			return errFixData
		}
		e.t += r.varint()
		e.id += r.varint()
		e.lat, e.lon = r.float(), r.float()
		e.data = r.bytes()
		if r.err == nil && !fn(&e) {
			break
		}
	}
	return r.err
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
