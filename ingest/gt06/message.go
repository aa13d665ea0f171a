package gt06

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrMalformed reports a packet whose content does not fit its protocol number.
var ErrMalformed = errors.New("gt06: malformed packet")

// Login is the content of a login packet (0x01).
type Login struct {
	IMEI   string // 15 digits
	TypeID uint16 // terminal type identifier; 0 when the packet has none
	// Zone is the terminal's time zone for the GPS times that follow, from the login's
	// time zone/language word; nil when the packet has none (times are then UTC).
	Zone *time.Location
	// Offset is the zone's offset from UTC, meaningful when Zone is not nil.
	Offset time.Duration
}

// DecodeLogin decodes a login packet's content.
func DecodeLogin(p Packet) (Login, error) {
	c := p.Content
	if len(c) < 8 {
		return Login{}, fmt.Errorf("%w: login with %d content bytes", ErrMalformed, len(c))
	}
	var l Login
	imei, ok := bcdDigits(c[:8])
	if !ok || imei[0] != '0' {
		return Login{}, fmt.Errorf("%w: IMEI % X is not BCD with a leading 0", ErrMalformed, c[:8])
	}
	l.IMEI = imei[1:]
	if len(c) >= 10 {
		l.TypeID = binary.BigEndian.Uint16(c[8:])
	}
	if len(c) >= 12 {
		// Concox: the high 12 bits are the zone as hhmm (GMT+8 → 800, GMT-12:45 → 1245),
		// bit 3 set means west of Greenwich.
		w := binary.BigEndian.Uint16(c[10:])
		v := int(w >> 4)
		h, m := v/100, v%100
		if h > 14 || m >= 60 {
			return Login{}, fmt.Errorf("%w: time zone word %04X", ErrMalformed, w)
		}
		l.Offset = time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
		if w&0x08 != 0 {
			l.Offset = -l.Offset
		}
		l.Zone = time.FixedZone(zoneName(l.Offset), int(l.Offset/time.Second))
	}
	return l, nil
}

func zoneName(d time.Duration) string {
	sign := '+'
	if d < 0 {
		sign, d = '-', -d
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// bcdDigits returns the decimal digits of packed BCD b.
func bcdDigits(b []byte) (string, bool) {
	d := make([]byte, 0, 2*len(b))
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return "", false
		}
		d = append(d, '0'+hi, '0'+lo)
	}
	return string(d), true
}

// Location is the content of a location packet: GPS (0x10), GPS+LBS (0x12, 0x22) or alarm
// (0x16, 0x26).
type Location struct {
	Time         time.Time // UTC
	Satellites   int
	GPSInfoLen   int // high nibble of the satellites byte, as sent
	Lat, Lon     float64
	SpeedKmh     int
	Course       int  // degrees, 0–359
	Positioned   bool // the fix is valid
	Differential bool
	ACCValid     bool // ACC carries the ignition state
	ACC          bool

	HasLBS bool
	LBS    LBS

	HasStatus bool
	Status    Status
}

// LBS is the serving cell a tracker reports next to its GPS position.
type LBS struct {
	MCC    uint16
	MNC    uint8
	LAC    uint16
	CellID uint32 // 3 bytes on the wire
}

// Status is the terminal information of heartbeat (0x13) and alarm (0x16, 0x26) packets.
type Status struct {
	TerminalInfo byte // bit 0 armed, 1 ACC high, 2 charging, 3–5 alarm, 6 GPS tracking on, 7 oil and electricity cut
	Voltage      byte // level 0 (none) to 6 (very high)
	GSMSignal    byte // level 0 (none) to 4 (strong)
	Alarm        byte // alarm code (alarm packets; 0 in heartbeats)
	Language     byte // 0x01 Chinese, 0x02 English
}

// Alarm codes of the alarm/language word.
const (
	AlarmNone       = 0x00
	AlarmSOS        = 0x01
	AlarmPowerCut   = 0x02
	AlarmVibration  = 0x03
	AlarmFenceIn    = 0x04
	AlarmFenceOut   = 0x05
	AlarmOverspeed  = 0x06
	AlarmMovement   = 0x09
	AlarmLowBattery = 0x0E // external battery low
	AlarmLowBattOff = 0x0F // external battery low, protection cut-off
	AlarmPowerOff   = 0x11
	AlarmTamper     = 0x13 // device removed / tampered
)

// Sizes of the content blocks.
const (
	gpsLen    = 18 // date-time 6, GPS info 1, lat 4, lon 4, speed 1, course/status 2
	lbsLen    = 8  // MCC 2, MNC 1, LAC 2, cell id 3
	statusLen = 5  // terminal info, voltage, GSM signal, alarm, language
)

// DecodeLocation decodes a location packet's content. GPS times are in zone (UTC when nil).
func DecodeLocation(p Packet, zone *time.Location) (Location, error) {
	c := p.Content
	var l Location
	if len(c) < gpsLen {
		return l, fmt.Errorf("%w: 0x%02X with %d content bytes", ErrMalformed, p.Protocol, len(c))
	}
	if err := decodeGPS(&l, c[:gpsLen], zone); err != nil {
		return l, err
	}
	c = c[gpsLen:]
	switch p.Protocol {
	case ProtoGPS:
	case ProtoGPSLBS, ProtoGPSLBS2:
		if len(c) < lbsLen {
			return l, fmt.Errorf("%w: 0x%02X without LBS", ErrMalformed, p.Protocol)
		}
		l.HasLBS, l.LBS = true, decodeLBS(c)
		c = c[lbsLen:]
		// 0x22 continues with ACC, upload mode, re-upload flag and (newer firmware) mileage.
		if p.Protocol == ProtoGPSLBS2 && len(c) >= 1 {
			l.ACCValid, l.ACC = true, c[0] != 0
		}
	case ProtoAlarm, ProtoAlarm2:
		// The LBS block of alarm packets starts with its own length, itself included.
		if len(c) < 1 {
			return l, fmt.Errorf("%w: 0x%02X without LBS", ErrMalformed, p.Protocol)
		}
		n := int(c[0])
		switch {
		case n == 0:
			c = c[1:]
		case n < 1+lbsLen || n > len(c):
			return l, fmt.Errorf("%w: LBS length %d", ErrMalformed, n)
		default:
			l.HasLBS, l.LBS = true, decodeLBS(c[1:])
			c = c[n:]
		}
		if len(c) < statusLen {
			return l, fmt.Errorf("%w: 0x%02X without status", ErrMalformed, p.Protocol)
		}
		l.HasStatus, l.Status = true, decodeStatus(c)
	default:
		return l, fmt.Errorf("gt06: protocol 0x%02X is not a location", p.Protocol)
	}
	return l, nil
}

func decodeGPS(l *Location, b []byte, zone *time.Location) error {
	if zone == nil {
		zone = time.UTC
	}
	y, mo, d, h, mi, s := int(b[0]), time.Month(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return fmt.Errorf("%w: date-time % X", ErrMalformed, b[:6])
	}
	l.Time = time.Date(2000+y, mo, d, h, mi, s, 0, zone).UTC()
	l.GPSInfoLen, l.Satellites = int(b[6]>>4), int(b[6]&0x0F)
	lat := float64(binary.BigEndian.Uint32(b[7:])) / 1_800_000
	lon := float64(binary.BigEndian.Uint32(b[11:])) / 1_800_000
	if lat > 90 || lon > 180 {
		return fmt.Errorf("%w: coordinates %v, %v", ErrMalformed, lat, lon)
	}
	l.SpeedKmh = int(b[15])
	cs := binary.BigEndian.Uint16(b[16:])
	l.Course = int(cs & 0x3FF)
	if cs&(1<<10) == 0 {
		lat = -lat
	}
	if cs&(1<<11) != 0 {
		lon = -lon
	}
	l.Lat, l.Lon = lat, lon
	l.Positioned = cs&(1<<12) != 0
	l.Differential = cs&(1<<13) != 0
	l.ACCValid = cs&(1<<14) != 0
	l.ACC = cs&(1<<15) != 0
	return nil
}

func decodeLBS(b []byte) LBS {
	return LBS{
		MCC:    binary.BigEndian.Uint16(b),
		MNC:    b[2],
		LAC:    binary.BigEndian.Uint16(b[3:]),
		CellID: uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
	}
}

func decodeStatus(b []byte) Status {
	return Status{TerminalInfo: b[0], Voltage: b[1], GSMSignal: b[2], Alarm: b[3], Language: b[4]}
}

// DecodeStatus decodes a heartbeat (0x13) packet's content.
func DecodeStatus(p Packet) (Status, error) {
	if len(p.Content) < statusLen {
		return Status{}, fmt.Errorf("%w: status with %d content bytes", ErrMalformed, len(p.Content))
	}
	return decodeStatus(p.Content), nil
}

// Flags returns the flag names of s: its alarm code, the alarm bits of its terminal info,
// and states worth filtering on.
func (s Status) Flags() []string {
	var f []string
	if s.TerminalInfo&0x02 != 0 {
		f = append(f, "acc_on")
	}
	if s.TerminalInfo&0x04 != 0 {
		f = append(f, "charging")
	}
	if s.TerminalInfo&0x80 != 0 {
		f = append(f, "oil_cut")
	}
	switch (s.TerminalInfo >> 3) & 0x07 {
	case 1:
		f = append(f, "vibration")
	case 2:
		f = append(f, "power_cut")
	case 3:
		f = append(f, "low_battery")
	case 4:
		f = append(f, "sos")
	}
	if name := AlarmName(s.Alarm); name != "" && !contains(f, name) {
		f = append(f, name)
	}
	return f
}

// AlarmName returns the flag name of an alarm code, "" for none or an unknown code.
func AlarmName(code byte) string {
	switch code {
	case AlarmSOS:
		return "sos"
	case AlarmPowerCut:
		return "power_cut"
	case AlarmVibration:
		return "vibration"
	case AlarmFenceIn:
		return "fence_in"
	case AlarmFenceOut:
		return "fence_out"
	case AlarmOverspeed:
		return "overspeed"
	case AlarmMovement:
		return "movement"
	case AlarmLowBattery, AlarmLowBattOff:
		return "low_battery"
	case AlarmPowerOff:
		return "power_off"
	case AlarmTamper:
		return "tamper"
	}
	return ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
