package jt808

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt600"
	"github.com/borderwatch/borderwatch/tracker"
)

// Jointech's JT/T 808-based e-seals and padlocks (the successors of the JT701) send their
// positions as 0x5501 (live) and 0x5502 (from memory) with a short header:
//
//	7E | id WORD | attributes WORD | phone BCD[6] | serial BYTE | body | checksum | 7E
//
// Attribute bits 0–9 are the body length, bit 15 asks for the answer 0x4401 (id WORD, result
// BYTE); the checksum and escaping are JT/T 808's. The body is the JT701's location block,
// then signal BYTE, satellites BYTE, odometer DWORD (km), battery BYTE (percent; 0xAA, 0xAB
// charging), cell id DWORD, LAC WORD, product type BYTE, status WORD, alarm WORD, and items
// (id BYTE, length BYTE, value). The layout and the status and alarm bits are Traccar's
// (Jt808ProtocolDecoder.decodeLocation2); the lock event item 0x0B is read as Jointech's SDK
// reads it in 0x0200.
const (
	MsgSealLocation      = 0x5501
	MsgSealLocationBlind = 0x5502
	MsgSealResponse      = 0x4401
)

// ShortFrame is a 0x5501 or 0x5502 frame.
type ShortFrame struct {
	MsgID  uint16
	Ack    bool // the seal wants 0x4401
	Phone  Phone
	Serial byte
	Body   []byte
}

// IsShortHeader reports whether the bytes between two 7E delimiters (escaped or not: the id
// holds neither 7E nor 7D) are a 0x5501 or 0x5502 frame.
func IsShortHeader(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == 0x55 && (raw[1] == 0x01 || raw[1] == 0x02)
}

// DecodeShortFrame decodes the bytes between two 7E delimiters of a 0x5501 or 0x5502 frame. It
// unescapes in place, so the body aliases b.
func DecodeShortFrame(b []byte) (ShortFrame, error) {
	b, err := Unescape(b)
	if err != nil {
		return ShortFrame{}, err
	}
	if len(b) < 12 || !IsShortHeader(b) {
		return ShortFrame{}, malformed("short-header frame of %d bytes", len(b))
	}
	if Checksum(b[:len(b)-1]) != b[len(b)-1] {
		return ShortFrame{}, ErrChecksum
	}
	attr := binary.BigEndian.Uint16(b[2:])
	f := ShortFrame{MsgID: binary.BigEndian.Uint16(b), Ack: attr&0x8000 != 0, Serial: b[10], Body: b[11 : len(b)-1]}
	f.Phone.n = 6
	copy(f.Phone.bcd[:], b[4:10])
	if n := int(attr & attrLenMask); n != len(f.Body) {
		return ShortFrame{}, malformed("body is %d bytes, header says %d", len(f.Body), n)
	}
	return f, nil
}

// AppendShortResponse appends the 0x4401 answer to a short-header frame of phone. Its serial
// byte is 1, as Traccar sends it.
func AppendShortResponse(dst []byte, phone Phone, msgID uint16, result byte) []byte {
	var hb [14]byte
	binary.BigEndian.PutUint16(hb[0:], MsgSealResponse)
	binary.BigEndian.PutUint16(hb[2:], 3)
	copy(hb[4:10], phone.Bytes())
	hb[10] = 1
	binary.BigEndian.PutUint16(hb[11:], msgID)
	hb[13] = result
	dst = append(dst, flag)
	dst = AppendEscaped(dst, hb[:])
	dst = appendEscapedByte(dst, Checksum(hb[:]))
	return append(dst, flag)
}

// sealBodyLen is a 0x5501 body without items.
const sealBodyLen = jt600.LocationLen + 19

// Product types of 0x5501 bodies, which decide what the status and alarm bits mean.
const productLock = 3

// SealLocation is a decoded 0x5501/0x5502 body.
type SealLocation struct {
	jt600.Location
	Signal, Satellites byte
	OdometerKm         uint32
	Battery            byte
	CellID             uint32
	LAC                uint16
	Product            byte
	Status, Alarm      uint16
	Items              []byte // aliases the body
}

// DecodeSealLocation decodes a 0x5501/0x5502 body.
func DecodeSealLocation(body []byte) (SealLocation, error) {
	if len(body) < sealBodyLen {
		return SealLocation{}, malformed("0x5501 body of %d bytes, need %d", len(body), sealBodyLen)
	}
	loc, err := jt600.DecodeLocation(body)
	if err != nil {
		return SealLocation{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	b := body[jt600.LocationLen:]
	return SealLocation{Location: loc, Signal: b[0], Satellites: b[1], OdometerKm: binary.BigEndian.Uint32(b[2:]), Battery: b[6],
		CellID: binary.BigEndian.Uint32(b[7:]), LAC: binary.BigEndian.Uint16(b[11:]), Product: b[13],
		Status: binary.BigEndian.Uint16(b[14:]), Alarm: binary.BigEndian.Uint16(b[16:]), Items: b[18:]}, nil
}

var sealAlarms = [...]struct {
	bit  uint16
	name string
}{{1 << 0, "overspeed"}, {1 << 1, "low_power"}, {1 << 2, "vibration"}, {1 << 3, "low_battery"},
	{1 << 5, "geofence_enter"}, {1 << 6, "geofence_exit"}}

// Fix turns l, from device d, into a fix; blind: a 0x5502 from the seal's memory.
//
// For product type 3 (the lock) the seal is locked when status bit 5 is set: Traccar reads that
// bit as "blocked", the state of the JT701's motor lock; product types 1 and 2 say nothing of
// the seal here. A lock event item (0x0B) with a result says who opened the seal and whether
// it opened. Unlock passwords are not kept: they would open the seal.
func (l *SealLocation) Fix(d tracker.Device, blind bool, receivedAt time.Time) tracker.Fix {
	f := tracker.Fix{VehicleID: d.VehicleID, DeviceID: d.ID, Protocol: tracker.ProtocolJT808, Time: l.Time,
		ReceivedAt: receivedAt.UTC(), Lat: l.Lat, Lon: l.Lon, SpeedKmh: l.SpeedKmh, Heading: l.Course, Valid: l.Valid}
	f.Flags = []string{}
	f.Attrs = map[string]any{"gsm_signal": int(l.Signal), "satellites": int(l.Satellites), "odometer_km": int(l.OdometerKm),
		"product": int(l.Product), "status": fmt.Sprintf("%04x", l.Status), "alarm": fmt.Sprintf("%04x", l.Alarm)}
	switch {
	case l.Battery <= 100:
		f.Attrs["battery_percent"] = int(l.Battery)
	case l.Battery == 0xAA || l.Battery == 0xAB:
		f.Attrs["charging"] = true
	}
	if l.CellID > 0 && l.LAC > 0 {
		f.Attrs["cell_id"], f.Attrs["lac"] = int(l.CellID), int(l.LAC)
	}
	if blind {
		f.Late = true
		f.Flags = append(f.Flags, tracker.FlagBlindArea)
	}
	switch l.Product {
	case 1, 2:
		if l.Alarm&1 != 0 {
			f.Flags = append(f.Flags, "low_power")
		}
	case productLock:
		for _, a := range sealAlarms {
			if l.Alarm&a.bit != 0 {
				f.Flags = append(f.Flags, a.name)
			}
		}
		f.Attrs[tracker.AttrSealState] = tracker.SealUnlocked
		if l.Status&(1<<5) != 0 {
			f.Attrs[tracker.AttrSealState] = tracker.SealLocked
		}
		if l.Alarm&(1<<3) != 0 {
			f.Attrs[tracker.AttrBatteryLow] = true
		}
	}
	l.itemAttrs(&f)
	return f
}

// itemAttrs reads the items Traccar knows into f; any other is kept as hex.
func (l *SealLocation) itemAttrs(f *tracker.Fix) {
	p := l.Items
	for len(p) >= 2 {
		id, n := p[0], int(p[1])
		if 2+n > len(p) {
			f.Attrs["items_trailing"] = hex.EncodeToString(p)
			return
		}
		v := p[2 : 2+n]
		p = p[2+n:]
		switch {
		case id == 0x02 && n == 2:
			f.AltitudeM = float64(int16(binary.BigEndian.Uint16(v)))
		case id == 0x10 && n == 1:
			f.Attrs["wake_source"] = int(v[0])
		case id == 0x0A && n == 3:
			f.Attrs["mcc"], f.Attrs["mnc"] = int(binary.BigEndian.Uint16(v)), int(v[2])
		case id == 0x0B && n >= 1:
			lockEvent(f, v)
		case id == 0x0C && n == 6:
			f.Attrs["tilt"] = [3]int{int(int16(binary.BigEndian.Uint16(v))), int(int16(binary.BigEndian.Uint16(v[2:]))),
				int(int16(binary.BigEndian.Uint16(v[4:])))}
		case id == 0xFC && n == 1:
			f.Attrs["fence_id"] = int(v[0])
		default:
			f.Attrs[itemKeys[id]] = hex.EncodeToString(v)
		}
	}
	if len(p) > 0 {
		f.Attrs["items_trailing"] = hex.EncodeToString(p)
	}
}

// lockEvent reads item 0x0B: a command byte, then a card DWORD (length 5–6) or a password of
// six characters (length 7 and more), and a result byte when the length is even: 0xFF refused,
// anything else opened.
func lockEvent(f *tracker.Fix, v []byte) {
	f.Attrs["lock_command"] = int(v[0])
	method := ""
	switch n := len(v); {
	case n >= 5 && n <= 6:
		method = tracker.UnlockCard
		f.Attrs[tracker.AttrUnlockCard] = fmt.Sprintf("%010d", binary.BigEndian.Uint32(v[1:]))
	case n >= 7:
		method = tracker.UnlockPassword
	}
	if len(v)%2 != 0 {
		return
	}
	result := v[len(v)-1]
	f.Attrs["unlock_result"] = int(result)
	f.Attrs[tracker.AttrSealEvent] = tracker.SealEventUnlocked
	if result == 0xFF {
		f.Attrs[tracker.AttrSealEvent] = tracker.SealEventUnlockRefused
	}
	if method != "" {
		f.Attrs[tracker.AttrUnlockMethod] = method
	}
}

// sealReport handles a 0x5501/0x5502 frame: a location submitted on its own, answered with
// 0x4401 once stored when the seal asks for it. It reports whether the connection stays open.
func (c *conn) sealReport(ctx context.Context, raw []byte) bool {
	c.submitBatch() // replies keep the order of the frames
	f, err := DecodeShortFrame(raw)
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			c.s.m.reject(reasonChecksum)
		} else {
			c.s.m.reject(reasonMalformed)
		}
		return true
	}
	c.s.m.frame(f.MsgID)
	h := Header{MsgID: f.MsgID, Phone: f.Phone}
	if !c.admit(ctx, &h) {
		return true
	}
	answer := func(result byte) {
		if !f.Ack {
			return
		}
		if c.pending == nil {
			c.pending = c.s.replyBufs.Get().(*[]byte)
		}
		*c.pending = AppendShortResponse(*c.pending, f.Phone, f.MsgID, result)
	}
	switch {
	case c.unknown:
		c.s.m.reject(reasonUnknownDevice)
		answer(ResultFailure)
		return true
	case c.dev.AuthCode != "" && !c.authed:
		c.s.m.reject(reasonUnauthenticated)
		answer(ResultFailure)
		return true
	}
	loc, err := DecodeSealLocation(f.Body)
	if err != nil {
		c.s.m.reject(reasonMalformed)
		answer(ResultMessageError)
		return true
	}
	if !c.admitFixes(1) {
		return !c.abusive
	}
	fix := loc.Fix(c.dev, f.MsgID == MsgSealLocationBlind, c.now)
	if err := c.s.cfg.Sink.Submit(c.s.submitContext(ctx, c.now), []tracker.Fix{fix}); !stored(err) {
		c.s.log.Warn("jt808 submit", "device", c.dev.ID, "fixes", 1, "err", err)
		return true
	}
	answer(ResultOK)
	return true
}
