package sqlitestore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/borderwatch/borderwatch/tracker"
)

// A fix's fields beyond its key and position travel as one binary value, in the fix log and
// in chunks alike.
//
// Version 2 (written now):
//
//	version byte (2) | flags byte (bit 0 valid, bit 1 late) | received_us − time_us varint |
//	speed, heading, altitude float64 | protocol, flags (comma-joined) as uvarint length + bytes |
//	attribute count uvarint, then per attribute: key (uvarint length + bytes), tag byte, value
//
// Attribute values are stored as JSON would give them back (every number a float64), so both
// stores answer alike; a value of another shape (nested object, list, float32) is kept as JSON
// text. Binary attributes cost a fraction of json.Marshal and json.Unmarshal, which were most
// of a fix's encoding and of a replay.
//
// Version 1 (rows of the former fixes table, read only to migrate them) had received_us as an
// absolute varint and the attributes as one JSON text.
const (
	fixCodecV1 = 1
	fixCodecV2 = 2
)

// Attribute value tags.
const (
	attrNull = iota
	attrFalse
	attrTrue
	attrNumber
	attrString
	attrJSON
)

func appendFixData(dst []byte, f *tracker.Fix) ([]byte, error) {
	var bits byte
	if f.Valid {
		bits |= 1
	}
	if f.Late {
		bits |= 2
	}
	dst = append(dst, fixCodecV2, bits)
	dst = binary.AppendVarint(dst, us(f.ReceivedAt)-us(f.Time))
	for _, v := range [3]float64{f.SpeedKmh, f.Heading, f.AltitudeM} {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	dst = appendString(dst, f.Protocol)
	dst = appendJoined(dst, f.Flags)
	dst = binary.AppendUvarint(dst, uint64(len(f.Attrs)))
	for k, v := range f.Attrs {
		dst = appendString(dst, k)
		var err error
		if dst, err = appendAttr(dst, v); err != nil {
			return dst, fmt.Errorf("attribute %q: %w", k, err)
		}
	}
	return dst, nil
}

func appendAttr(dst []byte, v any) ([]byte, error) {
	num := func(x float64) ([]byte, error) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return dst, fmt.Errorf("unsupported number %v", x) // as json.Marshal refuses it
		}
		return binary.LittleEndian.AppendUint64(append(dst, attrNumber), math.Float64bits(x)), nil
	}
	switch x := v.(type) {
	case nil:
		return append(dst, attrNull), nil
	case bool:
		if x {
			return append(dst, attrTrue), nil
		}
		return append(dst, attrFalse), nil
	case float64:
		return num(x)
	case int:
		return num(float64(x))
	case int64:
		return num(float64(x))
	case int32:
		return num(float64(x))
	case int16:
		return num(float64(x))
	case int8:
		return num(float64(x))
	case uint:
		return num(float64(x))
	case uint64:
		return num(float64(x))
	case uint32:
		return num(float64(x))
	case uint16:
		return num(float64(x))
	case uint8:
		return num(float64(x))
	case string:
		if utf8.ValidString(x) {
			return appendString(append(dst, attrString), x), nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return appendString(append(dst, attrJSON), string(b)), nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendJoined appends ss joined by commas as one string, without building it first.
func appendJoined(dst []byte, ss []string) []byte {
	n := max(len(ss)-1, 0)
	for _, s := range ss {
		n += len(s)
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, s...)
	}
	return dst
}

// conflicted reports whether fix data carries tracker.FlagConflict or tracker.FlagClockAhead
// (evidence, see tracker.Fix.Evidence), decoding no more than its flags: it decides whether a
// fix may become its vehicle's latest.
func conflicted(data []byte) bool {
	if len(data) == 0 || data[0] != fixCodecV2 {
		return false // version 1 predates conflicts
	}
	r := reader{b: data[1:]}
	r.byte()
	r.varint()
	r.float()
	r.float()
	r.float()
	r.bytes()
	flags := r.bytes()
	for r.err == nil && len(flags) > 0 {
		name, rest, _ := bytes.Cut(flags, []byte{','})
		if n := string(name); n == tracker.FlagConflict || n == tracker.FlagClockAhead {
			return true
		}
		flags = rest
	}
	return false
}

var errFixData = errors.New("corrupt fix data")

// reader consumes a byte slice; the first error sticks and later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errFixData
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes() []byte {
	l := r.uvarint()
	if uint64(len(r.b)) < l {
		r.fail()
		return nil
	}
	v := r.b[:l:l]
	r.b = r.b[l:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

// interner hands out one string per distinct value while a read decodes many fixes: a track's
// protocol, flags, device and attribute names are the same in nearly every fix.
type interner map[string]string

func (r *reader) istring(in interner) string {
	b := r.bytes()
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) > 1024 {
		return string(b)
	}
	s := string(b)
	in[s] = s
	return s
}

// decodeFixData fills f's fields beyond key and position; f.Time must already be set. in may
// be nil.
func decodeFixData(b []byte, f *tracker.Fix, in interner) error {
	if len(b) > 0 && b[0] == fixCodecV1 {
		return decodeFixDataV1(b, f)
	}
	r := reader{b: b}
	if r.byte() != fixCodecV2 {
		return errFixData
	}
	bits := r.byte()
	f.Valid, f.Late = bits&1 != 0, bits&2 != 0
	if rcv := us(f.Time) + r.varint(); rcv != 0 {
		f.ReceivedAt = fromUS(rcv)
	}
	f.SpeedKmh, f.Heading, f.AltitudeM = r.float(), r.float(), r.float()
	f.Protocol = r.istring(in)
	f.Flags = textFlags(r.istring(in))
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) {
			return errFixData
		}
		f.Attrs = make(map[string]any, n)
		for range n {
			k := r.istring(in)
			switch r.byte() {
			case attrNull:
				f.Attrs[k] = nil
			case attrFalse:
				f.Attrs[k] = false
			case attrTrue:
				f.Attrs[k] = true
			case attrNumber:
				f.Attrs[k] = r.float()
			case attrString:
				f.Attrs[k] = r.string()
			case attrJSON:
				var v any
				if err := json.Unmarshal(r.bytes(), &v); err != nil {
					return err
				}
				f.Attrs[k] = v
			default:
				return errFixData
			}
		}
	}
	return r.err
}

func decodeFixDataV1(b []byte, f *tracker.Fix) error {
	r := reader{b: b[1:]}
	bits := r.byte()
	f.Valid, f.Late = bits&1 != 0, bits&2 != 0
	f.ReceivedAt = fromUS(r.varint())
	f.SpeedKmh, f.Heading, f.AltitudeM = r.float(), r.float(), r.float()
	f.Protocol = r.string()
	f.Flags = textFlags(r.string())
	attrs := r.bytes()
	if r.err != nil {
		return r.err
	}
	if len(attrs) > 0 {
		// Into a local: &f.Attrs given to json would make every decoded fix escape to the heap.
		var m map[string]any
		err := json.Unmarshal(attrs, &m)
		f.Attrs = m
		return err
	}
	return nil
}
