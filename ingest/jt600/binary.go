package jt600

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// ErrMalformed reports a frame whose content does not follow the protocol.
var ErrMalformed = errors.New("jt600: malformed")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Sizes of the binary parts.
const (
	LocationLen = 17               // the location block
	shortRecLen = LocationLen + 10 // a short (JT600) record
	longRecLen  = LocationLen + 17 // a long (JT701) record without the JT701D extension
	longExtLen  = 17               // the extension JT701D (protocol 0x19) and later firmware append
	knotKmh     = 1.852            // km/h per knot
	maxRecords  = 64               // short records in one frame, far above the 15 devices send
)

// Location is the position block of JT600 binary records, JT701 reports and the JT/T 808
// 0x5501/0x5502 messages of Jointech's later seals: 17 bytes.
//
//	date BCD ddmmyy, time BCD hhmmss (UTC) | latitude BCD ddmm.mmmm | longitude BCD dddmm.mmmm
//	and a nibble: bit 0 positioned, bit 1 north, bit 2 east | speed BYTE knots | course BYTE /2
//
// The speed is a binary byte, as Jointech's SDK reads it: Traccar reads BCD, but real frames
// carry speeds of 0A, 0B and 1B, which no BCD encoder writes.
type Location struct {
	Time     time.Time // UTC; zero when the device sent an all-zero date
	Lat, Lon float64
	Valid    bool
	SpeedKmh float64
	Course   float64 // degrees
}

// DecodeLocation decodes a location block.
func DecodeLocation(b []byte) (Location, error) {
	if len(b) < LocationLen {
		return Location{}, malformed("location block of %d bytes, need %d", len(b), LocationLen)
	}
	var l Location
	t, err := bcdTime(b[:6])
	if err != nil {
		return l, err
	}
	l.Time = t
	lat, ok1 := bcd(b[6:10], 8)
	lon, ok2 := bcd(b[10:15], 9)
	if !ok1 || !ok2 {
		return l, malformed("coordinates % X are not BCD", b[6:15])
	}
	if l.Lat, err = degrees(lat); err != nil {
		return l, err
	}
	if l.Lon, err = degrees(lon); err != nil {
		return l, err
	}
	flags := b[14] & 0x0f
	l.Valid = flags&1 != 0
	if flags&2 == 0 {
		l.Lat = -l.Lat
	}
	if flags&4 == 0 {
		l.Lon = -l.Lon
	}
	if l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
		return l, malformed("coordinates %v, %v", l.Lat, l.Lon)
	}
	l.SpeedKmh = float64(b[15]) * knotKmh
	l.Course = math.Mod(float64(b[16])*2, 360)
	return l, nil
}

// degrees turns the integer the digits d…dmmmmmm spell (degrees, then minutes × 10⁴) into
// degrees.
func degrees(v int) (float64, error) {
	deg, min := v/1_000_000, v%1_000_000
	if min >= 60*10_000 {
		return 0, malformed("%d minutes in %d", min, v)
	}
	return float64(deg) + float64(min)/10_000/60, nil
}

// AppendLocation appends l as a location block, its speed in binary knots.
func AppendLocation(dst []byte, l *Location) []byte {
	if l.Time.IsZero() {
		dst = append(dst, 0, 0, 0, 0, 0, 0)
	} else {
		t := l.Time.UTC()
		for _, v := range [6]int{t.Day(), int(t.Month()), t.Year() % 100, t.Hour(), t.Minute(), t.Second()} {
			dst = append(dst, byte(v/10)<<4|byte(v%10))
		}
	}
	lat, lon := minutesE4(l.Lat), minutesE4(l.Lon)
	dst = appendDigits(dst, lat, 8)
	flags := byte(8) // bit 3: fixed 1
	if l.Valid {
		flags |= 1
	}
	if !math.Signbit(l.Lat) {
		flags |= 2
	}
	if !math.Signbit(l.Lon) {
		flags |= 4
	}
	dst = appendDigits(dst, lon, 9)
	dst[len(dst)-1] |= flags
	knots := math.Round(l.SpeedKmh / knotKmh)
	dst = append(dst, byte(min(max(knots, 0), 255)))
	return append(dst, byte(int(math.Round(l.Course/2))%180))
}

// minutesE4 is |deg| as degrees × 10⁶ + minutes × 10⁴, the integer the BCD digits spell.
func minutesE4(deg float64) int {
	total := int(math.Round(math.Abs(deg) * 60 * 10_000)) // in 10⁻⁴ minutes: no carry to fix
	return total/600_000*1_000_000 + total%600_000
}

// appendDigits appends v as n BCD digits; an odd n leaves the last low nibble zero.
func appendDigits(dst []byte, v, n int) []byte {
	s := strconv.Itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	if n%2 != 0 {
		s += "0"
	}
	for i := 0; i < len(s); i += 2 {
		dst = append(dst, (s[i]-'0')<<4|(s[i+1]-'0'))
	}
	return dst
}

// bcd reads n BCD digits from b (an odd n reads the high nibble of the last byte).
func bcd(b []byte, n int) (int, bool) {
	v := 0
	for i := range n {
		d := b[i/2] >> 4
		if i%2 != 0 {
			d = b[i/2] & 0x0f
		}
		if d > 9 {
			return 0, false
		}
		v = v*10 + int(d)
	}
	return v, true
}

// bcdTime reads ddmmyyhhmmss; all zeros is the zero time.
func bcdTime(b []byte) (time.Time, error) {
	var v [6]int
	zero := true
	for i := range v {
		d, ok := bcd(b[i:i+1], 2)
		if !ok {
			return time.Time{}, malformed("date-time % X is not BCD", b[:6])
		}
		v[i] = d
		zero = zero && d == 0
	}
	if zero {
		return time.Time{}, nil
	}
	return dateTime(v[2], v[1], v[0], v[3], v[4], v[5])
}

// dateTime checks and builds a UTC time of year 2000+yy.
func dateTime(yy, mo, d, h, mi, s int) (time.Time, error) {
	t := time.Date(2000+yy, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || t.Day() != d {
		return time.Time{}, malformed("date %02d%02d%02d time %02d%02d%02d", d, mo, yy, h, mi, s)
	}
	return t, nil
}

// Status bits of the JT701's device status word (long binary records).
const (
	StatusLBS           = 1 << 0 // positioned by cell towers
	StatusFenceIn       = 1 << 1 // geofence entered (alarm)
	StatusFenceOut      = 1 << 2 // geofence left (alarm)
	StatusRopeCut       = 1 << 3 // the steel rope was cut (alarm)
	StatusVibration     = 1 << 4 // alarm
	StatusAckRequired   = 1 << 5 // the platform must confirm the report
	StatusRopeInserted  = 1 << 6
	StatusMotorLocked   = 1 << 7
	StatusUnlockedLong  = 1 << 8 // unlocked for too long (alarm)
	StatusWrongPassword = 1 << 9 // five wrong unlock passwords (alarm)
	StatusIllegalCard   = 1 << 10
	StatusLowBattery    = 1 << 11
	StatusCoverOpened   = 1 << 12 // the back cover was opened (alarm)
	StatusCoverClosed   = 1 << 13
	StatusMotorFault    = 1 << 14
)

var statusFlags = [...]struct {
	bit  uint16
	name string
}{
	{StatusFenceIn, "geofence_enter"}, {StatusFenceOut, "geofence_exit"}, {StatusRopeCut, "seal_rope_cut"},
	{StatusVibration, "vibration"}, {StatusUnlockedLong, "seal_unlocked_long"}, {StatusWrongPassword, "seal_wrong_password"},
	{StatusIllegalCard, "seal_illegal_card"}, {StatusLowBattery, "low_battery"}, {StatusCoverOpened, "seal_shell_opened"},
	{StatusMotorFault, "seal_motor_fault"},
}

// SealOf reads the seal from a JT701 status word: its state (a cut rope, an opened cover,
// unlocked when the motor is open or the rope out, locked otherwise), the event a cut or an
// opened cover is, and a low battery. The bits are those of Jointech's JT701 protocol as its
// SDK and Wialon's device page read them; Traccar reads the same bits 3, 7, 11 and 14.
func SealOf(status uint16) Seal {
	s := Seal{State: tracker.SealLocked, BatteryLow: status&StatusLowBattery != 0}
	switch {
	case status&StatusRopeCut != 0:
		s.State, s.Event = tracker.SealRopeCut, tracker.SealEventRopeCut
	case status&StatusCoverOpened != 0:
		s.State, s.Event = tracker.SealShellOpened, tracker.SealEventShellOpened
	case status&StatusMotorLocked == 0 || status&StatusRopeInserted == 0:
		s.State = tracker.SealUnlocked
	}
	return s
}

// decodeBinary decodes a '$' frame.
func decodeBinary(b []byte) (Report, error) {
	if err := checkBinary(b); err != nil {
		return Report{}, err
	}
	r := Report{DeviceID: deviceID(b[1:6]), Kind: KindBinary, Index: int(b[len(b)-1])}
	if b[8] == 0 {
		return r, decodeLong(&r, b)
	}
	typ := b[6]
	r.DataType = typ & 0x0f
	data := b[9 : len(b)-1]
	for p := 0; p < len(data); p += shortRecLen {
		rec, err := decodeShort(data[p:p+shortRecLen], typ>>4)
		if err != nil {
			return Report{}, err
		}
		r.Records = append(r.Records, rec)
	}
	return r, nil
}

// checkBinary checks a binary frame's layout: what the reader needs to trust its length.
func checkBinary(b []byte) error {
	if len(b) < minShort || b[0] != '$' {
		return malformed("binary frame of %d bytes", len(b))
	}
	if _, ok := bcd(b[1:6], 10); !ok {
		return malformed("terminal id % X is not BCD", b[1:6])
	}
	if b[8] == 0 {
		if n := int(binary.BigEndian.Uint16(b[8:])); len(b) < minLong || n+10 != len(b) {
			return malformed("long frame of %d bytes says %d", len(b), n)
		}
		return nil
	}
	n := int(binary.BigEndian.Uint16(b[7:]))
	switch {
	case n+10 != len(b):
		return malformed("short frame of %d bytes says %d", len(b), n)
	case n%shortRecLen != 0 || n/shortRecLen > maxRecords:
		return malformed("short frame of %d record bytes", n)
	case b[6]>>4 < 1 || b[6]>>4 > 3:
		return malformed("short record version %d", b[6]>>4)
	}
	return nil
}

// deviceID is the terminal id without leading zeros, as the device prints it.
func deviceID(b []byte) string {
	s := hex.EncodeToString(b)
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// decodeLong decodes a JT701 record: location, odometer, satellites, vehicle id, status word,
// battery, cell, and on later firmware a fence id, a wake-up source, the IMEI, the cell id's
// high half and the network.
func decodeLong(r *Report, b []byte) error {
	r.Version, r.DataType = b[6], b[7]&0x0f
	d := b[10 : len(b)-1]
	loc, err := DecodeLocation(d)
	if err != nil {
		return err
	}
	status := binary.BigEndian.Uint16(d[26:])
	rec := Record{Location: loc, Seal: SealOf(status), Attrs: map[string]any{
		"odometer_km": int(binary.BigEndian.Uint32(d[17:])),
		"satellites":  int(d[21]),
		"status":      fmt.Sprintf("%04x", status),
		"cell_id":     int(binary.BigEndian.Uint16(d[29:])),
		"lac":         int(binary.BigEndian.Uint16(d[31:])),
		"gsm_signal":  int(d[33]),
	}}
	if v := binary.BigEndian.Uint32(d[22:]); v != 0 {
		rec.Attrs["bound_vehicle_id"] = int(v)
	}
	if d[28] == 0xff {
		rec.Attrs["charging"] = true
	} else {
		rec.Attrs["battery_percent"] = int(d[28])
	}
	if status&StatusLBS != 0 {
		rec.Attrs["lbs_position"] = true
	}
	for _, f := range statusFlags {
		if status&f.bit != 0 {
			rec.Flags = append(rec.Flags, f.name)
		}
	}
	switch ext := d[longRecLen:]; {
	case len(ext) >= 4:
		// Protocols 0x17 and later: the fence of a fence alarm, then JT701D's wake-up source,
		// IMEI, the cell id's high half and the network (0F bytes fill what a device lacks).
		if ext[0] != 0 {
			rec.Attrs["fence_id"] = int(ext[0])
		}
		if len(ext) < longExtLen {
			break
		}
		rec.Attrs["wake_source"] = int(ext[1] & 0x0f)
		if imei, ok := bcd(ext[4:12], 16); ok {
			rec.Attrs["imei"] = strconv.Itoa(imei)
		}
		if hi := binary.BigEndian.Uint16(ext[12:]); hi != 0 {
			rec.Attrs["cell_id"] = int(hi)<<16 | rec.Attrs["cell_id"].(int)
		}
		rec.Attrs["mcc"] = int(binary.BigEndian.Uint16(ext[14:]))
		rec.Attrs["mnc"] = int(ext[16])
	case len(ext) > 0:
		rec.Attrs["extension"] = hex.EncodeToString(ext)
	}
	r.Records = []Record{rec}
	if status&StatusAckRequired != 0 {
		// Traccar and Jointech's SDK answer so; the device resends an alarm until answered.
		r.Reply = "(P35)"
		if r.Version >= 0x19 {
			r.Reply = fmt.Sprintf("(P69,0,%d)", r.Index)
		}
	}
	return nil
}

// decodeShort decodes a JT600 record of layout version 1, 2 or 3 (the type byte's high nibble).
func decodeShort(b []byte, version byte) (Record, error) {
	loc, err := DecodeLocation(b)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Location: loc, Attrs: map[string]any{}}
	d := b[LocationLen:]
	switch version {
	case 1:
		rec.Attrs["satellites"] = int(d[0])
		rec.Attrs["power"] = int(d[1])
		rec.AltitudeM = float64(binary.BigEndian.Uint16(d[3:]))
		cid, lac := binary.BigEndian.Uint16(d[5:]), binary.BigEndian.Uint16(d[7:])
		if cid != 0 && lac != 0 {
			rec.Attrs["cell_id"], rec.Attrs["lac"] = int(cid), int(lac)
		}
		rec.Attrs["gsm_signal"] = int(d[9])
	case 2:
		rec.Attrs["fuel"] = int(d[0])<<8 | int(d[9])
		rec.Attrs["odometer_km"] = int(binary.BigEndian.Uint32(d[5:]))
		rec.Flags = shortStatusFlags(d[1:5])
	case 3:
		v := binary.BigEndian.Uint64(d[:8])
		rec.Attrs["fuel1"] = int(v >> 52)
		rec.Attrs["fuel2"] = int(v >> 40 & 0xfff)
		rec.Attrs["fuel3"] = int(v >> 28 & 0xfff)
		rec.Attrs["odometer_km"] = int(v >> 8 & 0xfffff)
		status := int(v&0xff)<<16 | int(d[8])<<8 | int(d[9])
		rec.Attrs["status"] = fmt.Sprintf("%06x", status)
		if status&1 != 0 {
			rec.Flags = append(rec.Flags, "acc_on")
		}
	}
	return rec, nil
}

// shortStatusFlags reads the four status bytes of a version 2 record as Traccar does.
func shortStatusFlags(s []byte) []string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(s[0]&0x01 != 0, "acc_on")
	add(s[0]&0x40 != 0, "door_open")
	add(s[1]&0x01 != 0, "charging")
	add(s[1]&0x02 != 0, "blocked")
	add(s[1]&0x04 != 0, "sos")
	add(s[1]&0x18 != 0, "gps_antenna_cut")
	add(s[1]&0x10 != 0, "overspeed")
	add(s[2]&0x04 != 0, "fatigue")
	add(s[2]&0x08 != 0, "tow")
	return f
}

// LongReport is a JT701 long binary report, as the simulator sends it.
type LongReport struct {
	DeviceID   string // up to 10 digits
	Version    byte   // protocol version, e.g. 0x19 (JT701D)
	DataType   byte   // 1 real time, 2 alarm, 3 re-uploaded
	Location   Location
	OdometerKm uint32
	Satellites byte
	Status     uint16
	Battery    byte // percent; 0xFF charging
	CellID     uint32
	LAC        uint16
	Signal     byte
	MCC        uint16
	MNC        byte
	Index      byte
}

// AppendLong appends r as a long binary frame with the JT701D extension.
func AppendLong(dst []byte, r *LongReport) ([]byte, error) {
	id, err := strconv.ParseUint(r.DeviceID, 10, 64)
	if err != nil || len(r.DeviceID) > 10 {
		return dst, fmt.Errorf("jt600: terminal id %q: need up to 10 digits", r.DeviceID)
	}
	dst = append(dst, '$')
	dst = appendDigits(dst, int(id), 10)
	dst = append(dst, r.Version, 1<<4|r.DataType&0x0f)
	dst = binary.BigEndian.AppendUint16(dst, longRecLen+longExtLen+1)
	dst = AppendLocation(dst, &r.Location)
	dst = binary.BigEndian.AppendUint32(dst, r.OdometerKm)
	dst = append(dst, r.Satellites, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, r.Status)
	dst = append(dst, r.Battery)
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.CellID))
	dst = binary.BigEndian.AppendUint16(dst, r.LAC)
	dst = append(dst, r.Signal, 0, 1, 0, 0)
	dst = append(dst, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f) // no IMEI
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.CellID>>16))
	dst = binary.BigEndian.AppendUint16(dst, r.MCC)
	return append(dst, r.MNC, r.Index), nil
}
