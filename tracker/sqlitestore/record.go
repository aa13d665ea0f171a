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

// A chunk is a run of one vehicle's fixes in time order, one row of fix_chunks:
//
//	version byte (1) | fix count uvarint | device count uvarint, devices (length + bytes) |
//	per fix: device index uvarint, time_us delta varint, ID delta varint, lat, lon float64,
//	fix data (uvarint length + bytes)
//
// Deltas are from the previous fix (the first from zero): a fix's key costs a few bytes.
const chunkVersion = 1

func appendChunk(dst []byte, es []entry) []byte {
	size := 1 + 2*binary.MaxVarintLen64
	for i := range es {
		size += 4*binary.MaxVarintLen64 + 16 + len(es[i].data)
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, chunkVersion)
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	var devs []string
	idx := make([]int, len(es))
	for i := range es {
		k := -1
		for j, d := range devs {
			if d == es[i].dev {
				k = j
				break
			}
		}
		if k < 0 {
			k = len(devs)
			devs = append(devs, es[i].dev)
		}
		idx[i] = k
	}
	dst = binary.AppendUvarint(dst, uint64(len(devs)))
	for _, d := range devs {
		dst = appendString(dst, d)
	}
	var pt, pid int64
	for i := range es {
		e := &es[i]
		dst = binary.AppendUvarint(dst, uint64(idx[i]))
		dst = binary.AppendVarint(dst, e.t-pt)
		dst = binary.AppendVarint(dst, e.id-pid)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.lat))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.lon))
		dst = appendBytes(dst, e.data)
		pt, pid = e.t, e.id
	}
	return dst
}

// decodeChunk calls fn with every fix of a chunk in order until fn returns false; e.data points
// into b. in may be nil.
func decodeChunk(b []byte, in interner, fn func(e *entry) bool) error {
	r := reader{b: b}
	if r.byte() != chunkVersion {
		return errFixData
	}
	n := r.uvarint()
	nd := r.uvarint()
	if nd > uint64(len(r.b)) {
		return errFixData
	}
	devs := make([]string, nd)
	for i := range devs {
		devs[i] = r.istring(in)
	}
	var e entry
	for i := uint64(0); i < n && r.err == nil; i++ {
		d := r.uvarint()
		if d >= nd {
			return errFixData
		}
		e.dev = devs[d]
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
