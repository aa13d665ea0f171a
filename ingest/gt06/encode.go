package gt06

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Packet encodes l as a login packet. The type and time zone words are sent when TypeID is
// not zero or Zone is set; the time zone word only when Zone is set (Offset is what is sent).
func (l Login) Packet(serial uint16) (Packet, error) {
	if len(l.IMEI) != 15 {
		return Packet{}, fmt.Errorf("gt06: IMEI %q is not 15 digits", l.IMEI)
	}
	c := make([]byte, 8, 12)
	digits := "0" + l.IMEI
	for i := range 8 {
		hi, lo := digits[2*i]-'0', digits[2*i+1]-'0'
		if hi > 9 || lo > 9 {
			return Packet{}, fmt.Errorf("gt06: IMEI %q is not 15 digits", l.IMEI)
		}
		c[i] = hi<<4 | lo
	}
	if l.TypeID != 0 || l.Zone != nil {
		c = binary.BigEndian.AppendUint16(c, l.TypeID)
	}
	if l.Zone != nil {
		off := l.Offset
		var west uint16
		if off < 0 {
			off, west = -off, 0x08
		}
		h, m := int(off/time.Hour), int(off%time.Hour/time.Minute)
		if h > 14 {
			return Packet{}, fmt.Errorf("gt06: time zone offset %v out of range", l.Offset)
		}
		c = binary.BigEndian.AppendUint16(c, uint16(h*100+m)<<4|west)
	}
	return Packet{Protocol: ProtoLogin, Content: c, Serial: serial}, nil
}

// Packet encodes l as a location packet of the given protocol (ProtoGPS, ProtoGPSLBS,
// ProtoGPSLBS2, ProtoAlarm or ProtoAlarm2), its GPS time written in zone (UTC when nil). These
// layouts carry a 2G cell and a one-byte alarm code.
func (l Location) Packet(protocol byte, serial uint16, zone *time.Location) (Packet, error) {
	if zone == nil {
		zone = time.UTC
	}
	t := l.Time.In(zone)
	if t.Year() < 2000 || t.Year() > 2255 {
		return Packet{}, fmt.Errorf("gt06: year %d cannot be sent", t.Year())
	}
	if !(math.Abs(l.Lat) <= 90) || !(math.Abs(l.Lon) <= 180) {
		return Packet{}, fmt.Errorf("gt06: coordinates %v, %v out of range", l.Lat, l.Lon)
	}
	if c := l.LBS; protocol != ProtoGPS && (c.MCC > 0x7FFF || c.MNC > 0xFF || c.LAC > 0xFFFF || c.CellID > 0xFFFFFF) {
		return Packet{}, fmt.Errorf("gt06: cell %+v does not fit 0x%02X", c, protocol)
	}
	if l.Status.Alarm > 0xFF {
		return Packet{}, fmt.Errorf("gt06: alarm code 0x%X does not fit 0x%02X", l.Status.Alarm, protocol)
	}
	c := make([]byte, 0, gpsLen+1+lbsLen+statusLen+4)
	c = append(c, byte(t.Year()-2000), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()))
	info := l.GPSInfoLen
	if info == 0 {
		info = 0x0C // what trackers send: 12 bytes of GPS information follow
	}
	c = append(c, byte(info)<<4|byte(min(max(l.Satellites, 0), 15)))
	c = binary.BigEndian.AppendUint32(c, uint32(math.Round(math.Abs(l.Lat)*1_800_000)))
	c = binary.BigEndian.AppendUint32(c, uint32(math.Round(math.Abs(l.Lon)*1_800_000)))
	c = append(c, byte(min(max(l.SpeedKmh, 0), 255)))
	cs := uint16(((l.Course%360)+360)%360) & 0x3FF
	if l.Lat >= 0 {
		cs |= 1 << 10
	}
	if l.Lon < 0 {
		cs |= 1 << 11
	}
	if l.Positioned {
		cs |= 1 << 12
	}
	if l.Differential {
		cs |= 1 << 13
	}
	if l.ACCValid {
		cs |= 1 << 14
		if l.ACC {
			cs |= 1 << 15
		}
	}
	c = binary.BigEndian.AppendUint16(c, cs)
	switch protocol {
	case ProtoGPS:
	case ProtoGPSLBS:
		c = appendLBS(c, l.LBS)
	case ProtoGPSLBS2:
		c = appendLBS(c, l.LBS)
		acc := byte(0)
		if l.ACC {
			acc = 1
		}
		c = append(c, acc, 0x00, 0x00) // ACC, upload mode (timed), real-time
	case ProtoAlarm, ProtoAlarm2:
		c = append(c, 1+lbsLen)
		c = appendLBS(c, l.LBS)
		s := l.Status
		c = append(c, s.TerminalInfo, s.Voltage, s.GSMSignal, byte(s.Alarm), s.Language)
	default:
		return Packet{}, fmt.Errorf("gt06: protocol 0x%02X is not a location", protocol)
	}
	return Packet{Protocol: protocol, Content: c, Serial: serial}, nil
}

func appendLBS(c []byte, l LBS) []byte {
	c = binary.BigEndian.AppendUint16(c, l.MCC)
	c = append(c, byte(l.MNC))
	c = binary.BigEndian.AppendUint16(c, uint16(l.LAC))
	return append(c, byte(l.CellID>>16), byte(l.CellID>>8), byte(l.CellID))
}

// Packet encodes s as a heartbeat (0x13), which carries the alarm code's low byte.
func (s Status) Packet(serial uint16) Packet {
	return Packet{
		Protocol: ProtoStatus,
		Content:  []byte{s.TerminalInfo, s.Voltage, s.GSMSignal, byte(s.Alarm), s.Language},
		Serial:   serial,
	}
}

// AppendAck appends the server's acknowledgement of a packet (78 78 05 protocol serial CRC
// 0D 0A) to dst.
func AppendAck(dst []byte, protocol byte, serial uint16) []byte {
	return AppendFrame(dst, Packet{Protocol: protocol, Serial: serial})
}
