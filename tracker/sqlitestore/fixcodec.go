package sqlitestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"

	"github.com/borderwatch/borderwatch/tracker"
)

// A fix's columns beyond its key and position travel as one binary value: reading a track is
// then one column per row instead of a dozen, which is most of what a replay costs.
//
//	version byte (1) | flags byte (bit 0 valid, bit 1 late) | received_us varint |
//	speed, heading, altitude float64 | protocol, flags (comma-joined), attrs (JSON) as
//	uvarint length + bytes
const fixCodecVersion = 1

func appendFixData(dst []byte, f *tracker.Fix) ([]byte, error) {
	var bits byte
	if f.Valid {
		bits |= 1
	}
	if f.Late {
		bits |= 2
	}
	dst = append(dst, fixCodecVersion, bits)
	dst = binary.AppendVarint(dst, us(f.ReceivedAt))
	for _, v := range [3]float64{f.SpeedKmh, f.Heading, f.AltitudeM} {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	dst = appendString(dst, f.Protocol)
	dst = appendString(dst, strings.Join(f.Flags, ","))
	attrs, err := jsonText(f.Attrs)
	if err != nil {
		return dst, err
	}
	return appendString(dst, attrs), nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errFixData = errors.New("corrupt fix data")

func decodeFixData(b []byte, f *tracker.Fix) error {
	if len(b) < 2 || b[0] != fixCodecVersion {
		return errFixData
	}
	f.Valid, f.Late = b[1]&1 != 0, b[1]&2 != 0
	b = b[2:]
	rcv, n := binary.Varint(b)
	if n <= 0 || len(b) < n+24 {
		return errFixData
	}
	f.ReceivedAt = fromUS(rcv)
	b = b[n:]
	f.SpeedKmh = math.Float64frombits(binary.LittleEndian.Uint64(b))
	f.Heading = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	f.AltitudeM = math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
	b = b[24:]
	var s [3]string
	for i := range s {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errFixData
		}
		s[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	f.Protocol, f.Flags = s[0], textFlags(s[1])
	if s[2] != "" {
		return json.Unmarshal([]byte(s[2]), &f.Attrs)
	}
	return nil
}
