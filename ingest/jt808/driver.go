package jt808

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Messages that are not positions: they become events on the vehicle.
const (
	MsgWaybill        = 0x0701 // electronic waybill
	MsgDriverIdentity = 0x0702 // driver identity: IC card inserted or removed
)

// IC card read results of 0x0702.
const (
	CardReadOK          = 0
	CardKeyAuthFailed   = 1
	CardLocked          = 2
	CardPulledOut       = 3
	CardChecksumInvalid = 4
)

// DriverIdentity is a decoded 0x0702 body.
type DriverIdentity struct {
	Version Version // the edition whose layout the body has
	// Inserted is false when the card was removed; 2011 bodies, which only report a read card,
	// are Inserted.
	Inserted   bool
	Time       time.Time // UTC; zero in 2011 bodies, which carry none
	ReadResult byte      // when Inserted: CardReadOK or why the card could not be read
	// The card's contents, when read: name, qualification certificate number, the issuing
	// authority, the certificate's last valid day (zero: not sent) and the national ID
	// number (2011 and 2019 only).
	Name, Certificate, Authority string
	ValidTo                      time.Time
	IDNumber                     string
}

// DecodeDriverIdentity decodes a 0x0702 body in whichever edition's layout it has:
//
//	2013: status BYTE (1 inserted, 2 removed), time BCD[6]; inserted: result BYTE; read: name
//	      length BYTE, name, certificate STRING[20], authority length BYTE, authority, valid
//	      until BCD[4] (YYYYMMDD)
//	2019: the same and the national ID number STRING[20]
//	2011: name length BYTE, name, ID number STRING[20], certificate STRING[40], authority
//	      length BYTE, authority
//
// Terminals mix header and body editions, so the layout is chosen by what fits the body
// exactly, the header's edition first.
func DecodeDriverIdentity(body []byte, v2019 bool) (DriverIdentity, error) {
	order := [...]Version{V2013, V2019, V2011}
	if v2019 {
		order = [...]Version{V2019, V2013, V2011}
	}
	var first error
	for _, v := range order {
		d, err := decodeDriverIdentity(body, v)
		if err == nil {
			return d, nil
		}
		if first == nil {
			first = err
		}
	}
	return DriverIdentity{}, first
}

func decodeDriverIdentity(body []byte, v Version) (DriverIdentity, error) {
	r := reader{b: body}
	d := DriverIdentity{Version: v, Inserted: true}
	if v == V2011 {
		d.Name = r.text(int(r.byte()))
		d.IDNumber = r.text(20)
		d.Certificate = r.text(40)
		d.Authority = r.text(int(r.byte()))
		return d, r.done(v)
	}
	switch status := r.byte(); {
	case r.err != nil:
		return DriverIdentity{}, r.err
	case status == 2:
		d.Inserted = false
	case status != 1:
		return DriverIdentity{}, malformed("driver identity %d layout: card status %d", v, status)
	}
	if t := r.bytes(6); r.err == nil {
		var err error
		if d.Time, err = decodeBCDTime(t); err != nil {
			return DriverIdentity{}, err
		}
	}
	if !d.Inserted {
		return d, r.done(v)
	}
	if d.ReadResult = r.byte(); d.ReadResult != CardReadOK {
		return d, r.done(v)
	}
	d.Name = r.text(int(r.byte()))
	d.Certificate = r.text(20)
	d.Authority = r.text(int(r.byte()))
	if b := r.bytes(4); r.err == nil {
		d.ValidTo = decodeBCDDate(b)
	}
	if v == V2019 {
		d.IDNumber = r.text(20)
	}
	return d, r.done(v)
}

// AppendDriverIdentity appends the 0x0702 body of d in the layout of d.Version (2013 when unset).
func AppendDriverIdentity(dst []byte, d *DriverIdentity) ([]byte, error) {
	var w writer
	switch {
	case d.Version == V2011:
		w.lenText(d.Name)
		w.text(d.IDNumber, 20)
		w.text(d.Certificate, 40)
		w.lenText(d.Authority)
	case !d.Inserted:
		w.b = append(w.b, 2)
		w.b = appendBCDTime(w.b, d.Time)
	default:
		w.b = append(w.b, 1)
		w.b = appendBCDTime(w.b, d.Time)
		w.b = append(w.b, d.ReadResult)
		if d.ReadResult != CardReadOK {
			break
		}
		w.lenText(d.Name)
		w.text(d.Certificate, 20)
		w.lenText(d.Authority)
		w.b = appendBCDDate(w.b, d.ValidTo)
		if d.Version == V2019 {
			w.text(d.IDNumber, 20)
		}
	}
	if w.err != nil {
		return dst, w.err
	}
	return append(dst, w.b...), nil
}

// Waybill is a decoded 0x0701 body: length DWORD, then the waybill, whose format the
// standard leaves to the parties.
type Waybill struct {
	Content []byte // aliases the body
}

// DecodeWaybill decodes a 0x0701 body.
func DecodeWaybill(body []byte) (Waybill, error) {
	if len(body) < 4 {
		return Waybill{}, malformed("waybill of %d bytes", len(body))
	}
	if n := binary.BigEndian.Uint32(body); uint64(n) != uint64(len(body)-4) {
		return Waybill{}, malformed("waybill says %d bytes, has %d", n, len(body)-4)
	}
	return Waybill{Content: body[4:]}, nil
}

// AppendWaybill appends a 0x0701 body.
func AppendWaybill(dst []byte, content []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(content)))
	return append(dst, content...)
}

// reader reads fields in order; the first short read sets err and zero values follow.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		if r.err == nil {
			r.err = malformed("field of %d bytes cut short", n)
		}
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

// text reads a GBK string of n bytes, its zero and space padding trimmed.
func (r *reader) text(n int) string {
	b := r.bytes(n)
	if r.err != nil {
		return ""
	}
	s, err := gbk(bytes.Trim(b, "\x00 "))
	if err != nil {
		r.err = err
	}
	return s
}

// done reports the first error, or bytes left over: the layout did not fit.
func (r *reader) done(v Version) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = malformed("driver identity %d layout: %d bytes left", v, len(r.b))
	}
	return r.err
}

type writer struct {
	b   []byte
	err error
}

func (w *writer) lenText(s string) {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil || len(b) > 255 {
		w.err = fmt.Errorf("jt808: text %q: not GBK of at most 255 bytes", s)
		return
	}
	w.b = append(w.b, byte(len(b)))
	w.b = append(w.b, b...)
}

func (w *writer) text(s string, n int) {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil || len(b) > n {
		w.err = fmt.Errorf("jt808: text %q: not GBK of at most %d bytes", s, n)
		return
	}
	w.b = append(w.b, b...)
	w.b = append(w.b, make([]byte, n-len(b))...)
}

func gbk(b []byte) (string, error) {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return "", malformed("text is not GBK: %v", err)
	}
	return string(s), nil
}

// decodeBCDDate reads YYYYMMDD; anything that is not a date (all zeros, binary) is zero.
func decodeBCDDate(b []byte) time.Time {
	if !isBCD(b) {
		return time.Time{}
	}
	v := func(c byte) int { return int(c>>4)*10 + int(c&0xf) }
	y, mo, d := v(b[0])*100+v(b[1]), v(b[2]), v(b[3])
	if y < 1900 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) {
		return time.Time{}
	}
	return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
}

func daysInMonth(y, mo int) int {
	return time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func appendBCDDate(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0, 0, 0, 0)
	}
	for _, v := range [4]int{t.Year() / 100, t.Year() % 100, int(t.Month()), t.Day()} {
		dst = append(dst, byte(v/10)<<4|byte(v%10))
	}
	return dst
}

// isText reports whether b is readable text: GBK that decodes, without control characters
// other than tab and line ends.
func isText(b []byte) (string, bool) {
	b = bytes.TrimRight(b, "\x00")
	s, err := gbk(b)
	if err != nil {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\r' && r != '\n' || r == 0x7f || r == 0xfffd {
			return "", false
		}
	}
	return s, true
}
