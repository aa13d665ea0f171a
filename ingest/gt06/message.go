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

// Status is the terminal information of heartbeat (0x13) and alarm (0x16, 0x26) packets.
type Status struct {
	TerminalInfo byte // bit 0 armed, 1 ACC high, 2 charging, 3–5 alarm, 6 GPS tracking on, 7 oil and electricity cut
	// Voltage is the voltage level, 0 (none) to 6 (very high); some models send their battery
	// in percent (7–100) instead, and NoVoltage marks a layout without it.
	Voltage   byte
	GSMSignal byte   // level 0 (none) to 4 (strong)
	Alarm     uint16 // alarm code (alarm packets; 0 in heartbeats); 0x27 and 0xA4 extend it to 12 bits
	Language  byte   // 0x01 Chinese, 0x02 English
}

// NoVoltage is Status.Voltage of a layout that carries the battery elsewhere.
const NoVoltage = 0xFF

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

func decodeStatus(b []byte) Status {
	return Status{TerminalInfo: b[0], Voltage: b[1], GSMSignal: b[2], Alarm: uint16(b[3]), Language: b[4]}
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

// AlarmName returns the flag name of an alarm code, "" for none, an unknown code or one whose
// meaning depends on the make: 0x0C, 0x18, 0x19, 0x28, 0x29 and 0x30 mean different alarms in
// Concox's protocol (V3.1) and on the clones Traccar decodes; they are kept as the
// "alarm_code" attribute only. The other names follow Concox, then Traccar.
func AlarmName(code uint16) string {
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
	case AlarmTamper, 0x25, 0x32:
		return "tamper"
	case 0x14:
		return "door"
	case 0x1A, 0x27, 0xF1:
		return "hard_braking"
	case 0x1B, 0x2A, 0x2B, 0x2E:
		return "sharp_turn"
	case 0x23:
		return "fall"
	case 0x26, 0xF0:
		return "hard_acceleration"
	case 0x2C, 0xF2:
		return "collision"
	case 0x2D:
		return "rollover"
	case 0x33:
		return "lock"
	case 0x34:
		return "unlock"
	case 0x53:
		return "fuel_leak"
	case 0x5B, 0x5C:
		return "temperature"
	case 0xC9:
		return "idle"
	case 0x0107, 0x010B:
		return "jamming"
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
