package cluster

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// The fix stream's messages: a version byte, then the fixes. Version 1 is a compact binary
// form (what JSON's reflection cost the gateway and the tracker per fix, for every field
// name and number in text); a message that begins with '[' is the JSON list older gateways
// published, still read so that a stream written before an upgrade is consumed after it.
//
// Version 1, after the byte 1: the number of fixes (uvarint), then each fix: vehicle, device
// and protocol (uvarint length and bytes each), id (varint), device time and reception time
// (seconds since 1970 as a varint and nanoseconds as a uvarint each: read back in UTC, as the
// pipeline keeps them), latitude, longitude,
// speed, heading and altitude (IEEE 754 bits, little-endian, 8 bytes each), a byte of
// booleans (1 valid, 2 late), the flags (their count plus one, 0 for none at all, and the
// strings), and the attributes as JSON (uvarint length, 0 when none).
const fixCodecV1 = 1

// minFixBytes is the smallest a version 1 fix can be: empty strings, times and counts of a
// byte, five floats.
const minFixBytes = 3 + 1 + 2*2 + 5*8 + 1 + 1 + 1

// errFixMessage is a message no gateway made: cut short, or of an unknown version.
var errFixMessage = errors.New("cluster: not a fix message")

// encodeFixes appends the message carrying fixes to buf.
func encodeFixes(buf []byte, fixes []tracker.Fix) ([]byte, error) {
	buf = append(buf, fixCodecV1)
	buf = binary.AppendUvarint(buf, uint64(len(fixes)))
	for i := range fixes {
		f := &fixes[i]
		buf = appendString(buf, f.VehicleID)
		buf = appendString(buf, f.DeviceID)
		buf = appendString(buf, f.Protocol)
		buf = binary.AppendVarint(buf, f.ID)
		buf = appendTime(buf, f.Time)
		buf = appendTime(buf, f.ReceivedAt)
		for _, v := range [...]float64{f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.AltitudeM} {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
		var bools byte
		if f.Valid {
			bools |= 1
		}
		if f.Late {
			bools |= 2
		}
		buf = append(buf, bools)
		if f.Flags == nil {
			buf = append(buf, 0)
		} else {
			buf = binary.AppendUvarint(buf, uint64(len(f.Flags))+1)
		}
		for _, fl := range f.Flags {
			buf = appendString(buf, fl)
		}
		if len(f.Attrs) == 0 {
			buf = append(buf, 0)
			continue
		}
		attrs, err := json.Marshal(f.Attrs)
		if err != nil {
			return nil, fmt.Errorf("cluster: encoding a fix's attributes: %w", err)
		}
		buf = binary.AppendUvarint(buf, uint64(len(attrs)))
		buf = append(buf, attrs...)
	}
	return buf, nil
}

// DecodeFixes reads a message of the fix stream (BW_FIXES), for tools that look into it.
func DecodeFixes(data []byte) ([]tracker.Fix, error) {
	if len(data) == 0 {
		return nil, errFixMessage
	}
	switch data[0] {
	case '[':
		var fixes []tracker.Fix
		if err := json.Unmarshal(data, &fixes); err != nil {
			return nil, fmt.Errorf("%w: %w", errFixMessage, err)
		}
		return fixes, nil
	case fixCodecV1:
	default:
		return nil, fmt.Errorf("%w: version %d", errFixMessage, data[0])
	}
	r := fixReader{b: data[1:]}
	n := r.uvarint()
	// A count of fixes the bytes cannot hold is a corrupt message, not an allocation to make.
	if r.err != nil || n > uint64(len(r.b))/minFixBytes {
		return nil, errFixMessage
	}
	fixes := make([]tracker.Fix, n)
	for i := range fixes {
		f := &fixes[i]
		f.VehicleID, f.DeviceID, f.Protocol = r.string(), r.string(), r.string()
		f.ID = r.varint()
		f.Time, f.ReceivedAt = r.time(), r.time()
		f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.AltitudeM = r.float(), r.float(), r.float(), r.float(), r.float()
		bools := r.byte()
		f.Valid, f.Late = bools&1 != 0, bools&2 != 0
		switch nf := r.uvarint(); {
		case nf == 0:
		case nf-1 > uint64(len(r.b)):
			r.fail()
		default:
			f.Flags = make([]string, nf-1)
			for j := range f.Flags {
				f.Flags[j] = r.string()
			}
		}
		if attrs := r.bytes(); len(attrs) > 0 && r.err == nil {
			if err := json.Unmarshal(attrs, &f.Attrs); err != nil {
				return nil, fmt.Errorf("%w: attributes: %w", errFixMessage, err)
			}
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the fixes", errFixMessage, len(r.b))
	}
	return fixes, nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = binary.AppendVarint(buf, t.Unix())
	return binary.AppendUvarint(buf, uint64(t.Nanosecond()))
}

// fixReader reads a version 1 message; its first error sticks and makes every later read
// return zero.
type fixReader struct {
	b   []byte
	err error
}

func (r *fixReader) fail() { r.err, r.b = errFixMessage, nil }

func (r *fixReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fixReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fixReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *fixReader) string() string { return string(r.bytes()) }

func (r *fixReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fixReader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *fixReader) time() time.Time {
	s, ns := r.varint(), r.uvarint()
	if ns >= uint64(time.Second) {
		r.fail()
		return time.Time{}
	}
	return time.Unix(s, int64(ns)).UTC()
}
