package jt808

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame delimiter and escape bytes.
const (
	flag   = 0x7e
	escape = 0x7d
)

// Message ids handled by this package.
const (
	MsgTerminalResponse = 0x0001 // terminal general response
	MsgHeartbeat        = 0x0002
	MsgLogout           = 0x0003
	MsgRegister         = 0x0100
	MsgAuth             = 0x0102
	MsgLocation         = 0x0200
	MsgLocationReply    = 0x0201 // answer to a location query: reply serial WORD, 0x0200 body
	MsgBatch            = 0x0704 // batch / blind-area location upload
	MsgPlatformResponse = 0x8001 // platform general response
	MsgRegisterResponse = 0x8100
)

// Results of the general responses 0x0001 and 0x8001.
const (
	ResultOK             = 0
	ResultFailure        = 1
	ResultMessageError   = 2
	ResultUnsupported    = 3
	ResultAlarmConfirmed = 4
)

// Results of the register response 0x8100.
const (
	RegisterOK             = 0
	RegisterVehicleTaken   = 1
	RegisterNoSuchVehicle  = 2
	RegisterTerminalTaken  = 3
	RegisterNoSuchTerminal = 4
)

// Body attribute bits.
const (
	attrLenMask    = 0x03ff
	attrEncShift   = 10
	attrEncMask    = 0x7
	attrFragmented = 1 << 13
	attrV2019      = 1 << 14
)

// MaxBodyLen is the largest body one frame can carry (10 bits of length).
const MaxBodyLen = attrLenMask

var (
	// ErrChecksum reports a frame whose XOR checksum does not match.
	ErrChecksum = errors.New("jt808: bad checksum")
	// ErrMalformed reports a frame or body that does not follow the standard.
	ErrMalformed = errors.New("jt808: malformed")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Phone is the terminal's phone number as sent: BCD[6] in 2011/2013 headers, BCD[10] in 2019.
// It is comparable, so a gateway can notice a change without allocating.
type Phone struct {
	bcd [10]byte
	n   uint8
}

// ParsePhone encodes a decimal number as the BCD[6] of a 2013 header (long=false) or the
// BCD[10] of a 2019 header (long=true), padding with leading zeros.
func ParsePhone(s string, long bool) (Phone, error) {
	var p Phone
	p.n = 6
	if long {
		p.n = 10
	}
	if len(s) == 0 || len(s) > 2*int(p.n) {
		return Phone{}, fmt.Errorf("jt808: phone %q: need 1 to %d digits", s, 2*p.n)
	}
	digits := 2 * int(p.n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Phone{}, fmt.Errorf("jt808: phone %q: not a decimal number", s)
		}
		pos := digits - len(s) + i
		if pos%2 == 0 {
			p.bcd[pos/2] |= (c - '0') << 4
		} else {
			p.bcd[pos/2] |= c - '0'
		}
	}
	return p, nil
}

// Bytes returns the BCD bytes as sent.
func (p Phone) Bytes() []byte { return p.bcd[:p.n] }

// String returns the device id of the external contract: the number without leading zeros,
// or, for a 2013 header whose six bytes are not BCD, the 15-digit IMEI they hold in binary.
// Jimi/Concox JT/T 808 firmware (JC371, VL502, …) sends its IMEI without the check digit as a
// 48-bit number there (Traccar's Jt808ProtocolDecoder.decodeId reads it the same way), so the
// IMEI printed on the box is the id to register. Other nibbles that are not decimal digits
// are written as hex so two different numbers never print the same.
func (p Phone) String() string {
	if imei, ok := p.imei(); ok {
		return imei
	}
	var buf [20]byte
	n := 0
	for _, b := range p.bcd[:p.n] {
		for _, d := range [2]byte{b >> 4, b & 0xf} {
			if n == 0 && d == 0 {
				continue
			}
			buf[n] = "0123456789abcdef"[d]
			n++
		}
	}
	if n == 0 {
		return "0"
	}
	return string(buf[:n])
}

// imei reads a binary IMEI from a 2013 phone field that is not BCD: its 14 digits (the
// value, below 10¹⁴) and the Luhn check digit.
func (p Phone) imei() (string, bool) {
	if p.n != 6 || isBCD(p.bcd[:6]) {
		return "", false
	}
	var v uint64
	for _, b := range p.bcd[:6] {
		v = v<<8 | uint64(b)
	}
	if v >= 1e14 {
		return "", false
	}
	var d [15]byte
	for i := 13; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	d[14] = luhn(d[:14])
	return string(d[:]), true
}

func isBCD(b []byte) bool {
	for _, c := range b {
		if c>>4 > 9 || c&0xf > 9 {
			return false
		}
	}
	return true
}

// luhn returns the check digit of the decimal digits in d, as IMEIs carry it.
func luhn(d []byte) byte {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 0 { // from the right, every other digit starting with the last is doubled
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}

// Header is a frame's message header.
type Header struct {
	MsgID      uint16
	BodyLen    int   // from the attributes; after reassembly, the whole message's length
	Encryption uint8 // attribute bits 10–12; 0 = plain
	V2019      bool  // attribute bit 14: 2019 header with protocol version and BCD[10] phone
	// ProtoVersion is the 2019 protocol version byte (1 for the first 2019 edition).
	ProtoVersion uint8
	Phone        Phone
	Serial       uint16
	Fragmented   bool   // attribute bit 13: Total and Index follow
	Total, Index uint16 // sub-package count and 1-based index
}

// Len returns the encoded header length: 12/16 bytes (2013), 17/21 bytes (2019).
func (h *Header) Len() int {
	n := 12
	if h.V2019 {
		n = 17
	}
	if h.Fragmented {
		n += 4
	}
	return n
}

// Reply returns the header of a platform message answering h: same header version,
// protocol version and phone, the given id and serial.
func (h *Header) Reply(msgID, serial uint16) Header {
	return Header{MsgID: msgID, V2019: h.V2019, ProtoVersion: h.ProtoVersion, Phone: h.Phone, Serial: serial}
}

// Frame is one decoded message: header and (unescaped) body.
type Frame struct {
	Header Header
	Body   []byte
}

// Unescape reverses the transmission escaping in place (7D 02 → 7E, 7D 01 → 7D) and returns
// the shortened slice.
func Unescape(b []byte) ([]byte, error) {
	if bytes.IndexByte(b, flag) >= 0 {
		return nil, malformed("delimiter inside frame")
	}
	// Most frames have nothing escaped, and the rest little: skip to the first escape.
	w := bytes.IndexByte(b, escape)
	if w < 0 {
		return b, nil
	}
	for r := w; r < len(b); r++ {
		c := b[r]
		if c == escape {
			r++
			if r == len(b) {
				return nil, malformed("escape at end of frame")
			}
			switch b[r] {
			case 0x01:
				c = escape
			case 0x02:
				c = flag
			default:
				return nil, malformed("bad escape 7d %02x", b[r])
			}
		}
		b[w] = c
		w++
	}
	return b[:w], nil
}

// DecodeFrame decodes the bytes between two 7E delimiters. It unescapes in place, so the
// returned body aliases b. headerRead reports whether the header could be read, also when the
// error is ErrChecksum or ErrMalformed: the frame then carries the header, so the sender can be
// told "message error".
func DecodeFrame(b []byte) (f Frame, headerRead bool, err error) {
	b, err = Unescape(b)
	if err != nil {
		return Frame{}, false, err
	}
	h, hl, err := parseHeader(b, true)
	if err != nil {
		return Frame{}, false, err
	}
	if h.V2019 && len(b)-1-hl != h.BodyLen {
		// Bit 14 is reserved in 2013 and some 2013 terminals set it: when the body length
		// fits a 2013 header instead, the frame has one.
		if h13, hl13, err := parseHeader(b, false); err == nil && len(b)-1-hl13 == h13.BodyLen {
			h, hl = h13, hl13
		}
	}
	f = Frame{Header: h}
	if len(b) < hl+1 {
		return f, true, malformed("no checksum")
	}
	if Checksum(b[:len(b)-1]) != b[len(b)-1] {
		return f, true, ErrChecksum
	}
	f.Body = b[hl : len(b)-1]
	if len(f.Body) != h.BodyLen {
		body, ok := locationBody(b, hl, h)
		if !ok {
			return Frame{Header: h}, true, malformed("body is %d bytes, header says %d", len(f.Body), h.BodyLen)
		}
		f.Body, f.Header.BodyLen = body, len(body)
	}
	return f, true, nil
}

// locationBody is the body of a location report (0x0200, 0x0201) whose header's body length
// is wrong, where the report itself leaves no doubt, else ok is false. Two mistakes are known
// from real terminals: an item appended after the length was counted (the body is then every
// byte up to the checksum), and bytes of padding after the checksum, which is then where the
// header's length puts it (the last byte, the frame's checksum, passes only because the pad
// is zero). Traccar decodes both (it bounds the body by the header's length when that is
// shorter than the frame). It is taken only from a 2013 header (a 2019 one, or a 2013 one
// with bit 14 set, would place the body elsewhere), whose items end exactly at the body's
// end; a header that says more than the frame holds is a report cut short, and refused.
func locationBody(b []byte, hl int, h Header) (body []byte, ok bool) {
	if h.MsgID != MsgLocation && h.MsgID != MsgLocationReply || h.V2019 || h.Fragmented ||
		binary.BigEndian.Uint16(b[2:])&attrV2019 != 0 {
		return nil, false
	}
	all := b[hl : len(b)-1]
	if len(all) < h.BodyLen {
		return nil, false
	}
	if itemsEnd(h.MsgID, all) {
		return all, true
	}
	n := hl + h.BodyLen
	for _, pad := range b[n+1 : len(b)-1] {
		if pad != 0 {
			return nil, false
		}
	}
	if b[n] == Checksum(b[:n]) && itemsEnd(h.MsgID, b[hl:n]) {
		return b[hl:n], true
	}
	return nil, false
}

// itemsEnd reports whether body, of a location report with id msgID, has the fixed part of a
// 0x0200 body and additional items (id BYTE, length BYTE, value) that end exactly at its end.
func itemsEnd(msgID uint16, body []byte) bool {
	if msgID == MsgLocationReply {
		if len(body) < 2 {
			return false
		}
		body = body[2:]
	}
	if len(body) < LocationLen {
		return false
	}
	for p := LocationLen; p != len(body); {
		if len(body)-p < 2 || len(body)-p-2 < int(body[p+1]) {
			return false
		}
		p += 2 + int(body[p+1])
	}
	return true
}

// parseHeader reads a 2013 header, or a 2019 one when attribute bit 14 says so and v2019.
func parseHeader(b []byte, v2019 bool) (Header, int, error) {
	if len(b) < 12 {
		return Header{}, 0, malformed("frame of %d bytes is shorter than a header", len(b))
	}
	attr := binary.BigEndian.Uint16(b[2:])
	h := Header{
		MsgID:      binary.BigEndian.Uint16(b),
		BodyLen:    int(attr & attrLenMask),
		Encryption: uint8(attr>>attrEncShift) & attrEncMask,
		V2019:      v2019 && attr&attrV2019 != 0,
		Fragmented: attr&attrFragmented != 0,
	}
	p := 4
	if h.V2019 {
		if len(b) < 17 {
			return Header{}, 0, malformed("2019 frame of %d bytes is shorter than a header", len(b))
		}
		h.ProtoVersion = b[4]
		h.Phone.n = 10
		copy(h.Phone.bcd[:], b[5:15])
		p = 15
	} else {
		h.Phone.n = 6
		copy(h.Phone.bcd[:], b[4:10])
		p = 10
	}
	h.Serial = binary.BigEndian.Uint16(b[p:])
	p += 2
	if h.Fragmented {
		if len(b) < p+4 {
			return Header{}, 0, malformed("sub-package header cut short")
		}
		h.Total = binary.BigEndian.Uint16(b[p:])
		h.Index = binary.BigEndian.Uint16(b[p+2:])
		p += 4
	}
	return h, p, nil
}

// AppendFrame appends the complete wire form of a message — 7E, escaped header, body and
// checksum, 7E — to dst. The header's BodyLen is taken from body.
func AppendFrame(dst []byte, h *Header, body []byte) ([]byte, error) {
	if len(body) > MaxBodyLen {
		return dst, fmt.Errorf("jt808: body of %d bytes exceeds %d", len(body), MaxBodyLen)
	}
	if h.Phone.n == 0 {
		return dst, errors.New("jt808: header without phone")
	}
	if h.V2019 != (h.Phone.n == 10) {
		return dst, errors.New("jt808: phone length does not match header version")
	}
	attr := uint16(len(body)) | uint16(h.Encryption&attrEncMask)<<attrEncShift
	if h.Fragmented {
		attr |= attrFragmented
	}
	if h.V2019 {
		attr |= attrV2019
	}
	var buf [21]byte
	hb := binary.BigEndian.AppendUint16(buf[:0], h.MsgID)
	hb = binary.BigEndian.AppendUint16(hb, attr)
	if h.V2019 {
		hb = append(hb, h.ProtoVersion)
	}
	hb = append(hb, h.Phone.Bytes()...)
	hb = binary.BigEndian.AppendUint16(hb, h.Serial)
	if h.Fragmented {
		hb = binary.BigEndian.AppendUint16(hb, h.Total)
		hb = binary.BigEndian.AppendUint16(hb, h.Index)
	}
	sum := Checksum(hb) ^ Checksum(body)
	dst = append(dst, flag)
	dst = AppendEscaped(dst, hb)
	dst = AppendEscaped(dst, body)
	dst = appendEscapedByte(dst, sum)
	return append(dst, flag), nil
}

// Checksum is the frame checksum of an unescaped header and body: the XOR of all bytes, eight at
// a time.
func Checksum(b []byte) byte {
	var w uint64
	for len(b) >= 8 {
		w ^= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	w ^= w >> 32
	w ^= w >> 16
	w ^= w >> 8
	sum := byte(w)
	for _, c := range b {
		sum ^= c
	}
	return sum
}

// plain reports whether b holds neither delimiter nor escape byte, eight bytes at a time.
func plain(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		if hasZero(w^(ones*flag))|hasZero(w^(ones*escape)) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c == flag || c == escape {
			return false
		}
	}
	return true
}

// AppendEscaped appends b, an unescaped header, body or checksum, with 0x7e and 0x7d escaped as
// the wire wants them (the frame's delimiters are the caller's).
func AppendEscaped(dst, b []byte) []byte {
	if plain(b) {
		return append(dst, b...)
	}
	for _, c := range b {
		dst = appendEscapedByte(dst, c)
	}
	return dst
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case flag:
		return append(dst, escape, 0x02)
	case escape:
		return append(dst, escape, 0x01)
	}
	return append(dst, c)
}
