package jt808

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// An itemDecoder puts the named attributes of one extra item of a location into m. It
// returns false, having set nothing, when the value does not have a length its documentation
// gives: the item is then kept raw.
type itemDecoder func(v []byte, m map[string]any) bool

// itemDecoders decode the extra items whose meaning is documented: the standard's (JT/T 808
// 2013 and 2019, JT/T 1078 video alarms, the T/JSATL12 ADAS and DSM alarms) and the common
// vendor items of Chinese makers as Traccar's Jt808ProtocolDecoder and GPS51's JT/T 808
// extension read them. Makers give some ids different meanings; each decoder takes only the
// lengths of one meaning, so an item of another maker is kept raw rather than read wrong.
var itemDecoders = [256]itemDecoder{
	0x01: fixed(4, func(v []byte, m map[string]any) { m["mileage_km"] = float64(be32(v)) / 10 }),
	0x02: fixed(2, func(v []byte, m map[string]any) { m["fuel_l"] = float64(be16(v)) / 10 }),
	0x03: fixed(2, func(v []byte, m map[string]any) { m["recorder_speed_kmh"] = float64(be16(v)) / 10 }),
	0x04: fixed(2, func(v []byte, m map[string]any) { m["manual_alarm_id"] = int(be16(v)) }),
	0x06: decodeItem06,
	0x11: decodeOverspeedArea,
	0x12: fixed(6, func(v []byte, m map[string]any) {
		m["area_type"] = int(v[0])
		m["area_id"] = int64(be32(v[1:]))
		m["area_direction"] = inOut[v[5]&1]
	}),
	0x13: fixed(7, func(v []byte, m map[string]any) {
		m["route_section_id"] = int64(be32(v))
		m["route_time_s"] = int(be16(v[4:]))
		m["route_time_result"] = shortLong[v[6]&1]
	}),
	0x14: fixed(4, func(v []byte, m map[string]any) { m["video_alarms"] = int64(be32(v)) }),
	0x15: fixed(4, func(v []byte, m map[string]any) { m["video_signal_lost_channels"] = int64(be32(v)) }),
	0x16: fixed(4, func(v []byte, m map[string]any) { m["video_occluded_channels"] = int64(be32(v)) }),
	0x17: fixed(2, func(v []byte, m map[string]any) { m["video_storage_faults"] = int(be16(v)) }),
	0x18: fixed(3, func(v []byte, m map[string]any) {
		m["abnormal_driving"] = int(be16(v))
		m["fatigue_level"] = int(v[2])
	}),
	0x25: fixed(4, func(v []byte, m map[string]any) { m["vehicle_signals"] = int64(be32(v)) }),
	0x2a: fixed(2, func(v []byte, m map[string]any) { m["io_status"] = int(be16(v)) }),
	// Analog inputs: bits 0–15 AD0, bits 16–31 AD1.
	0x2b: fixed(4, func(v []byte, m map[string]any) {
		m["analog_ad0"] = int(be16(v[2:]))
		m["analog_ad1"] = int(be16(v))
	}),
	0x30: fixed(1, func(v []byte, m map[string]any) { m["signal"] = int(v[0]) }),
	0x31: fixed(1, func(v []byte, m map[string]any) { m["satellites"] = int(v[0]) }),
	0x51: decodeTemperatures,
	0x56: fixed(2, func(v []byte, m map[string]any) { m["battery_percent"] = int(v[0]) * 10 }),
	0x57: fixed(8, func(v []byte, m map[string]any) {
		a := be16(v)
		setIf(m, "harsh_acceleration", a&(1<<8) != 0)
		setIf(m, "harsh_braking", a&(1<<9) != 0)
		setIf(m, "harsh_cornering", a&(1<<10) != 0)
	}),
	0x60: func(v []byte, m map[string]any) bool {
		if len(v) < 2 {
			return false
		}
		m["event"] = int(be16(v))
		return true
	},
	0x61: fixed(2, func(v []byte, m map[string]any) { m["power_v"] = float64(be16(v)) / 100 }),
	0x63: decodeLocks,
	0x64: decodeADAS,
	0x65: decodeDSM,
	0x67: fixed(bsdLen, func(v []byte, m map[string]any) {
		m["bsd_alarm"] = int(v[5])
		m["bsd_alarm_status"] = int(v[4])
	}),
	0x69: fixed(2, func(v []byte, m map[string]any) { m["battery_v"] = float64(be16(v)) / 100 }),
	0x82: fixed(2, func(v []byte, m map[string]any) { m["power_v"] = float64(be16(v)) / 10 }),
	0xbc: text("driver_name"),
	0xbd: text("driver_id"),
	0xcc: func(v []byte, m map[string]any) bool {
		if len(v) != 20 || !printable(v) {
			return false
		}
		m["iccid"] = string(v)
		return true
	},
	0xd3: fixed(2, func(v []byte, m map[string]any) { m["power_v"] = float64(be16(v)) / 10 }),
	0xd4: fixed(1, func(v []byte, m map[string]any) { m["battery_percent"] = int(v[0]) }),
	0xe1: decodeItemE1,
	0xe3: fixed(6, func(v []byte, m map[string]any) {
		m["battery_percent"] = int(v[1])
		m["battery_v"] = float64(be16(v[2:])) / 100
	}),
	0xe4: fixed(2, func(v []byte, m map[string]any) {
		m["charging"] = v[0] == 0
		m["battery_percent"] = int(v[1])
	}),
	0xe5: fixed(1, func(v []byte, m map[string]any) { m["motion"] = v[0] == 1 }),
	0xe6: func(v []byte, m map[string]any) bool {
		return printable(bytes.TrimRight(v, "\r\n")) && obdRT(string(v), func(k string, x any) { m[k] = x })
	},
	0xeb: decodeItemEB,
	0xee: fixed(6, func(v []byte, m map[string]any) {
		m["signal"] = int(v[0])
		m["power_v"] = float64(be16(v[1:])) / 1000
		m["battery_v"] = float64(be16(v[3:])) / 1000
		m["satellites"] = int(v[5])
	}),
	0xf1: func(v []byte, m map[string]any) bool {
		switch {
		case len(v) == 4:
			m["power_v"] = float64(be32(v)) / 1000
		case len(v) == 20 && printable(v):
			m["iccid"] = string(v)
		default:
			return false
		}
		return true
	},
	0xf6: func(v []byte, m map[string]any) bool {
		if len(v) != 8 || v[0]>>4 != 0 || !isBCD(v) {
			return false
		}
		m["imei"] = hex.EncodeToString(v)[1:]
		return true
	},
	0xf7: func(v []byte, m map[string]any) bool {
		if len(v) < 4 || len(v) > 6 {
			return false
		}
		m["battery_v"] = float64(be32(v)) / 1000
		if len(v) >= 5 {
			m["charging"] = v[4] == 2 || v[4] == 3
		}
		if len(v) == 6 {
			m["battery_percent"] = int(v[5])
		}
		return true
	},
	0xfe: func(v []byte, m map[string]any) bool {
		switch len(v) {
		case 1:
			m["battery_percent"] = int(v[0])
		case 2:
			m["power_v"] = float64(be16(v)) / 10
		default:
			return false
		}
		return true
	},
}

var (
	inOut     = [2]string{"in", "out"}
	shortLong = [2]string{"short", "long"}
)

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// fixed is a decoder for a value of exactly n bytes.
func fixed(n int, set func(v []byte, m map[string]any)) itemDecoder {
	return func(v []byte, m map[string]any) bool {
		if len(v) != n {
			return false
		}
		set(v, m)
		return true
	}
}

// text is a decoder for a printable ASCII value, padding trimmed.
func text(key string) itemDecoder {
	return func(v []byte, m map[string]any) bool {
		s := strings.TrimRight(string(v), "\x00 ")
		if s == "" || !printable([]byte(s)) {
			return false
		}
		m[key] = s
		return true
	}
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func setIf(m map[string]any, key string, set bool) {
	if set {
		m[key] = true
	}
}

// signMagnitude reads a WORD whose top bit is the sign (1: below zero), as the 2019 edition's
// compartment temperature and the vendors' temperature probes send it.
func signMagnitude(w uint16) float64 {
	if w&0x8000 != 0 {
		return -float64(w & 0x7fff)
	}
	return float64(w)
}

// decodeItem06: the 2019 compartment temperature WORD in °C; a single byte is the battery
// level of vendors that used the id before 2019.
func decodeItem06(v []byte, m map[string]any) bool {
	switch len(v) {
	case 1:
		m["battery_percent"] = int(v[0])
	case 2:
		m["compartment_temp_c"] = signMagnitude(be16(v))
	default:
		return false
	}
	return true
}

// decodeOverspeedArea: location type BYTE (0 none), then the area or route id DWORD.
func decodeOverspeedArea(v []byte, m map[string]any) bool {
	switch {
	case len(v) == 1 && v[0] == 0:
	case len(v) == 5 && v[0] != 0:
		m["overspeed_area_id"] = int64(be32(v[1:]))
	default:
		return false
	}
	m["overspeed_area_type"] = int(v[0])
	return true
}

// decodeTemperatures: probe temperatures, WORDs in 0.1 °C with a sign bit; FFFF is no probe.
func decodeTemperatures(v []byte, m map[string]any) bool {
	if len(v) == 0 || len(v)%2 != 0 || len(v) > 16 {
		return false
	}
	for i := 0; i < len(v); i += 2 {
		if w := be16(v[i:]); w != 0xffff {
			m[fmt.Sprintf("temp_%d_c", i/2+1)] = signMagnitude(w) / 10
		}
	}
	return true
}

// decodeLocks: padlocks read over LoRa, 11 bytes each: id BYTE[6], battery WORD (mV),
// seal BYTE ('1' sealed), physical state BYTE, signal BYTE.
func decodeLocks(v []byte, m map[string]any) bool {
	if len(v) == 0 || len(v)%11 != 0 {
		return false
	}
	for i := 0; i < len(v); i += 11 {
		p := fmt.Sprintf("lock_%d_", i/11+1)
		m[p+"id"] = hex.EncodeToString(v[i : i+6])
		m[p+"battery_v"] = float64(be16(v[i+6:])) / 1000
		m[p+"sealed"] = v[i+8] == '1'
	}
	return true
}

// Lengths of the T/JSATL12 active-safety alarm items: alarm id DWORD, status BYTE, type BYTE,
// … speed, altitude, position, BCD time, vehicle status and the 16-byte alarm reference.
const (
	adasLen = 47 // 0x64
	dsmLen  = 47 // 0x65
	bsdLen  = 41 // 0x67
)

// decodeADAS: forward collision, lane departure, distance, pedestrian … (type), level 1–2.
func decodeADAS(v []byte, m map[string]any) bool {
	if len(v) != adasLen {
		return false
	}
	m["adas_alarm"] = int(v[5])
	m["adas_alarm_level"] = int(v[6])
	m["adas_alarm_status"] = int(v[4])
	return true
}

// decodeDSM: fatigue, phone call, smoking, distraction … (type), level, fatigue degree.
func decodeDSM(v []byte, m map[string]any) bool {
	if len(v) != dsmLen {
		return false
	}
	m["dsm_alarm"] = int(v[5])
	m["dsm_alarm_level"] = int(v[6])
	m["dsm_alarm_status"] = int(v[4])
	m["fatigue_level"] = int(v[7])
	return true
}

// decodeItemE1: one byte is the battery level (FF: charging), a WORD the supply in 0.1 V.
func decodeItemE1(v []byte, m map[string]any) bool {
	switch {
	case len(v) == 1 && v[0] == 0xff:
		m["charging"] = true
	case len(v) == 1:
		m["battery_percent"] = int(v[0])
	case len(v) == 2:
		m["power_v"] = float64(be16(v)) / 10
	default:
		return false
	}
	return true
}

// decodeItemEB reads Concox/Jimi's extension block: printable text is the terminal's time
// zone; otherwise sub-items of length WORD (counting the type), type WORD, value. Sub-items
// without a documented meaning are kept raw as item_0xeb_0xNNNN.
func decodeItemEB(v []byte, m map[string]any) bool {
	if len(v) > 0 && printable(v) {
		m["timezone"] = string(v)
		return true
	}
	type sub struct {
		typ uint16
		val []byte
	}
	var subs []sub
	for p := 0; p < len(v); {
		if p+4 > len(v) {
			return false
		}
		n := int(be16(v[p:]))
		if n < 2 || p+2+n > len(v) {
			return false
		}
		subs = append(subs, sub{be16(v[p+2:]), v[p+4 : p+2+n]})
		p += 2 + n
	}
	if len(subs) == 0 {
		return false
	}
	for _, s := range subs {
		val := s.val
		switch {
		case s.typ == 0x0089 && len(val) == 4: // alarm bits, active low
			a := be32(val)
			setIf(m, "power_off_alarm", a&1 == 0)
			setIf(m, "removal_alarm", a&(1<<12) == 0)
		case s.typ == 0x00b2 && len(val) == 10:
			m["iccid"] = strings.TrimRight(hex.EncodeToString(val), "f")
		case s.typ == 0x002d && len(val) == 2:
			m["battery_v"] = float64(be16(val)) / 1000
		case s.typ == 0x002d && len(val) == 4:
			m["power_v"] = float64(be32(val)) / 1000
		case (s.typ == 0x00a8 || s.typ == 0x00e1) && len(val) == 1:
			m["battery_percent"] = int(val[0])
		case s.typ == 0x00ce && len(val) == 2:
			m["power_v"] = float64(be16(val)) / 100
		default:
			m["item_0xeb_0x"+strconv.FormatUint(uint64(s.typ)|0x10000, 16)[1:]] = hex.EncodeToString(val)
		}
	}
	return true
}
