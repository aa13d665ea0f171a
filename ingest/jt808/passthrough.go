package jt808

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MsgPassThrough is the terminal's pass-through (data uplink) message.
const MsgPassThrough = 0x0900

// Pass-through (0x0900) content types.
const (
	PassGNSS    = 0x00 // GNSS module detail: the receiver's NMEA 0183 sentences
	PassSerial1 = 0x41 // serial port 1, e.g. an OBD box's "$OBD-RT,…" text
	PassSerial2 = 0x42
	PassBLETags = 0x53 // AOVX GL100: position and Bluetooth tags
	PassSensors = 0x54 // AOVX GL100: position and sensor samples
	PassOBD     = 0xf0 // Concox/Jimi VL502: time, OBD data stream, fault codes or alarms, position
)

// PassThrough is a decoded 0x0900 body. Loc is the position it carries when HasLoc; Attrs
// are the values it carries beside (nil when none).
type PassThrough struct {
	Type    byte
	Content []byte // after the type byte; aliases the body
	HasLoc  bool
	Loc     Location
	Attrs   map[string]any
}

// Known reports whether the content type has a documented layout that DecodePassThrough reads.
func (p *PassThrough) Known() bool {
	switch p.Type {
	case PassGNSS, PassSerial1, PassSerial2, PassBLETags, PassSensors, PassOBD:
		return true
	}
	return false
}

// DecodePassThrough decodes a 0x0900 body. A content type without a documented layout is
// returned with its content only (not Known); a documented one that does not parse is an error.
func DecodePassThrough(body []byte) (PassThrough, error) {
	if len(body) == 0 {
		return PassThrough{}, malformed("empty pass-through")
	}
	p := PassThrough{Type: body[0], Content: body[1:]}
	var err error
	switch p.Type {
	case PassGNSS:
		err = p.decodeNMEA()
	case PassSerial1, PassSerial2:
		p.decodeSerial()
	case PassBLETags, PassSensors:
		err = p.decodeAOVX()
	case PassOBD:
		err = p.decodeOBD()
	}
	if err != nil {
		return PassThrough{}, err
	}
	return p, nil
}

func (p *PassThrough) attr(k string, v any) {
	if p.Attrs == nil {
		p.Attrs = make(map[string]any, 4)
	}
	p.Attrs[k] = v
}

// decodeNMEA takes the position of the first RMC sentence with a valid fix and a good NMEA
// checksum; other sentences are ignored. (No NMEA parser module is reachable from here: the
// few fields of RMC are read by hand.)
func (p *PassThrough) decodeNMEA() error {
	for _, line := range strings.FieldsFunc(string(p.Content), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l, ok := parseRMC(line); ok {
			p.Loc, p.HasLoc = l, true
			return nil
		}
	}
	return nil
}

// parseRMC reads "$xxRMC,hhmmss.ss,A,ddmm.mmmm,N,dddmm.mmmm,E,knots,course,ddmmyy,…*hh".
func parseRMC(s string) (Location, bool) {
	star := strings.LastIndexByte(s, '*')
	if len(s) < 7 || s[0] != '$' || s[3:6] != "RMC" || star < 0 || star+3 > len(s) {
		return Location{}, false
	}
	sum, err := strconv.ParseUint(s[star+1:star+3], 16, 8)
	if err != nil {
		return Location{}, false
	}
	var x byte
	for i := 1; i < star; i++ {
		x ^= s[i]
	}
	f := strings.Split(s[1:star], ",")
	if x != byte(sum) || len(f) < 10 || f[2] != "A" || len(f[1]) < 6 || len(f[9]) != 6 {
		return Location{}, false
	}
	t, err := time.ParseInLocation("020106150405", f[9]+f[1][:6], time.UTC)
	if err != nil {
		return Location{}, false
	}
	lat, ok1 := nmeaDegrees(f[3], f[4], "N", "S", 90)
	lon, ok2 := nmeaDegrees(f[5], f[6], "E", "W", 180)
	knots, err1 := strconv.ParseFloat(orZero(f[7]), 64)
	course, err2 := strconv.ParseFloat(orZero(f[8]), 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || knots < 0 || course < 0 || course > 360 {
		return Location{}, false
	}
	return Location{Status: StatusPositioned, Lat: lat, Lon: lon, SpeedKmh: knots * 1.852, Heading: course, Time: t}, true
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// nmeaDegrees converts dddmm.mmmm and a hemisphere to signed degrees.
func nmeaDegrees(v, hemi, pos, neg string, limit float64) (float64, bool) {
	dot := strings.IndexByte(v, '.')
	if dot < 0 {
		dot = len(v)
	}
	if dot < 3 {
		return 0, false
	}
	deg, err1 := strconv.ParseUint(v[:dot-2], 10, 16)
	min, err2 := strconv.ParseFloat(v[dot-2:], 64)
	d := float64(deg) + min/60
	if err1 != nil || err2 != nil || min >= 60 || d > limit {
		return 0, false
	}
	switch hemi {
	case pos:
		return d, true
	case neg:
		return -d, true
	}
	return 0, false
}

// decodeSerial keeps what an OBD box or reader on a serial port sends: "$OBD-RT,…" is
// Naturelink's real-time OBD sentence, anything else printable is kept as text.
func (p *PassThrough) decodeSerial() {
	s := strings.TrimRight(string(p.Content), "\r\n\x00 ")
	if !printable([]byte(s)) {
		return
	}
	if obdRT(s, p.attr) {
		return
	}
	p.attr("serial_text", s)
}

// obdRT reads Naturelink's real-time OBD sentence "$OBD-RT,power V,rpm,speed km/h,throttle %,
// engine load %,coolant °C,instant and average consumption,trip km,odometer km,trip fuel L,
// fuel used L". It reports false for other text.
func obdRT(s string, set func(k string, v any)) bool {
	rest, ok := strings.CutPrefix(s, "$OBD-RT,")
	if !ok {
		return false
	}
	f := strings.Split(strings.TrimRight(rest, "\r\n"), ",")
	for i, k := range [...]string{0: "power_v", 1: "rpm", 2: "obd_speed_kmh", 3: "throttle_percent",
		4: "engine_load_percent", 5: "coolant_temp_c", 9: "obd_odometer_km", 11: "fuel_used_l"} {
		if k == "" || i >= len(f) {
			continue
		}
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			set(k, v)
		}
	}
	return true
}

// aovxPosLen: status, latitude, longitude DWORDs, altitude, speed, direction WORDs, BCD time —
// a 0x0200 body without the alarm DWORD.
const aovxPosLen = LocationLen - 4

func (p *PassThrough) decodeAOVX() error {
	c := p.Content
	if len(c) < aovxPosLen {
		return malformed("pass-through 0x%02x of %d bytes", p.Type, len(c))
	}
	var body [LocationLen]byte
	copy(body[4:], c[:aovxPosLen])
	if err := DecodeLocation(body[:], &p.Loc); err != nil {
		return err
	}
	p.Loc.Items = nil
	p.HasLoc = true
	c = c[aovxPosLen:]
	if p.Type == PassBLETags {
		return p.decodeTags(c)
	}
	return p.decodeSensors(c)
}

// decodeTags: total count BYTE, then per tag index BYTE, MAC[6], RSSI int8, length BYTE, data.
func (p *PassThrough) decodeTags(c []byte) error {
	if len(c) < 1 {
		return nil
	}
	for c = c[1:]; len(c) > 0; {
		if len(c) < 9 || len(c) < 9+int(c[8]) {
			return malformed("Bluetooth tag cut short")
		}
		k := fmt.Sprintf("ble_tag_%d_", int(c[0])+1)
		p.attr(k+"mac", hex.EncodeToString(c[1:7]))
		p.attr(k+"rssi", int(int8(c[7])))
		p.attr(k+"data", hex.EncodeToString(c[9:9+int(c[8])]))
		c = c[9+int(c[8]):]
	}
	return nil
}

// decodeSensors: samples of mask WORD, BCD time, then per mask bit: 0 light WORD, 1 device
// temperature and humidity (int16, 0.1), 2 probe temperature (int16, 0.1), 3 acceleration
// int16[3], 4 air pressure WORD. The latest sample's values are kept.
func (p *PassThrough) decodeSensors(c []byte) error {
	for len(c) > 0 {
		if len(c) < 8 {
			return malformed("sensor sample cut short")
		}
		mask := be16(c)
		c = c[8:]
		for _, f := range [...]struct {
			bit  uint16
			n    int
			read func(v []byte)
		}{
			{1 << 0, 2, func(v []byte) { p.attr("light", int(be16(v))) }},
			{1 << 1, 4, func(v []byte) {
				p.attr("device_temp_c", float64(int16(be16(v)))/10)
				p.attr("humidity_percent", float64(int16(be16(v[2:])))/10)
			}},
			{1 << 2, 2, func(v []byte) { p.attr("probe_temp_c", float64(int16(be16(v)))/10) }},
			{1 << 3, 6, func([]byte) {}},
			{1 << 4, 2, func(v []byte) { p.attr("air_pressure", int(be16(v))) }},
		} {
			if mask&f.bit == 0 {
				continue
			}
			if len(c) < f.n {
				return malformed("sensor sample cut short")
			}
			f.read(c[:f.n])
			c = c[f.n:]
		}
		if mask>>5 != 0 {
			return malformed("sensor sample mask %04x", mask)
		}
	}
	return nil
}

// decodeOBD reads VL502's 0xF0: time BCD[6], history BYTE, vehicle type BYTE, kind BYTE, then
// for kind 1 (data stream: count BYTE, items id WORD, length BYTE, value), 2 (fault codes) or
// 3 (alarms: count BYTE, items id BYTE, length BYTE, value) the status and position DWORDs of a
// 0x0200 body. The report gives no speed of its own; the OBD speed (item 0x0535) stands in.
// Other kinds carry no position. Fault-code and alarm reports sent from the terminal's
// history carry a second time after the position, and which of the two the position belongs
// to is not documented: those positions are not used.
func (p *PassThrough) decodeOBD() error {
	c := p.Content
	if len(c) < 9 {
		return malformed("OBD pass-through of %d bytes", len(c))
	}
	t, err := decodeBCDTime(c[:6])
	if err != nil {
		return err
	}
	history, kind := c[6] != 0, c[8]
	if history {
		p.attr("history", true)
	}
	c = c[9:]
	switch kind {
	case 1:
		c, err = p.obdStream(c)
	case 2:
		c, err = p.obdFaults(c)
	case 3:
		c, err = p.obdAlarms(c)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if len(c) < 12 {
		return malformed("OBD pass-through position cut short")
	}
	if len(c) > 12 {
		return nil
	}
	var body [LocationLen]byte
	copy(body[4:16], c)
	if err := DecodeLocation(body[:], &p.Loc); err != nil {
		return err
	}
	p.Loc.Time, p.Loc.Items, p.HasLoc = t, nil, true
	if v, ok := p.Attrs["obd_speed_kmh"].(float64); ok {
		p.Loc.SpeedKmh = v
	} else {
		p.attr("speed_unknown", true)
	}
	return nil
}

func (p *PassThrough) obdStream(c []byte) ([]byte, error) {
	if len(c) < 1 {
		return nil, malformed("OBD data stream cut short")
	}
	n := int(c[0])
	c = c[1:]
	for range n {
		if len(c) < 3 || len(c) < 3+int(c[2]) {
			return nil, malformed("OBD data item cut short")
		}
		id, v := be16(c), c[3:3+int(c[2])]
		c = c[3+len(v):]
		var u uint64
		for _, b := range v {
			u = u<<8 | uint64(b)
		}
		switch {
		case (id == 0x0546 || id == 0x0528 || id == 0x0102) && len(v) == 4:
			p.attr("obd_odometer_km", float64(u)/10)
		case id == 0x052b && len(v) == 1:
			p.attr("fuel_percent", int(u))
		case id == 0x052c && len(v) == 4:
			p.attr("fuel_used_l", float64(u)/100)
		case id == 0x052d && len(v) == 1:
			p.attr("coolant_temp_c", int(u)-40)
		case id == 0x0530 && len(v) == 2:
			p.attr("power_v", float64(u)/1000)
		case id == 0x0535 && len(v) == 2:
			p.attr("obd_speed_kmh", float64(u)/10)
		case id == 0x0536 && len(v) == 2:
			p.attr("rpm", int(u))
		default:
			p.attr("obd_0x"+strconv.FormatUint(uint64(id)|0x10000, 16)[1:], hex.EncodeToString(v))
		}
	}
	return c, nil
}

// obdFaults: systems WORD, per system id DWORD, codes WORD, per code DWORD, status DWORD,
// text length WORD, text.
func (p *PassThrough) obdFaults(c []byte) ([]byte, error) {
	short := malformed("OBD fault codes cut short")
	if len(c) < 2 {
		return nil, short
	}
	var codes []string
	systems := int(be16(c))
	c = c[2:]
	for range systems {
		if len(c) < 6 {
			return nil, short
		}
		n := int(be16(c[4:]))
		c = c[6:]
		for range n {
			if len(c) < 10 || len(c) < 10+int(be16(c[8:])) {
				return nil, short
			}
			l := int(be16(c[8:]))
			codes = append(codes, strings.TrimRight(string(c[10:10+l]), "\x00 "))
			c = c[10+l:]
		}
	}
	p.attr("dtcs", strings.Join(codes, " "))
	return c, nil
}

func (p *PassThrough) obdAlarms(c []byte) ([]byte, error) {
	if len(c) < 1 {
		return nil, malformed("OBD alarms cut short")
	}
	n := int(c[0])
	c = c[1:]
	var ids []string
	for range n {
		if len(c) < 2 || len(c) < 2+int(c[1]) {
			return nil, malformed("OBD alarm cut short")
		}
		ids = append(ids, strconv.Itoa(int(c[0])))
		c = c[2+int(c[1]):]
	}
	p.attr("obd_alarms", strings.Join(ids, " "))
	return c, nil
}

// MsgLocationList is a vendor message (HHD and others) carrying locations as (length BYTE,
// 0x0200 body) items, or, in 7 bytes, a sleeping terminal's battery level and time.
const MsgLocationList = 0x0210

// DecodeLocationList decodes a 0x0210 body: the 0x0200 bodies of its items (aliasing body),
// or none and the battery level of a 7-byte sleep report.
func DecodeLocationList(body []byte) (items [][]byte, battery int, err error) {
	if len(body) == 7 {
		if _, err := decodeBCDTime(body[1:]); err != nil {
			return nil, 0, err
		}
		return nil, int(body[0]), nil
	}
	for p := 0; p < len(body); {
		n := int(body[p])
		if n < LocationLen || p+1+n > len(body) {
			return nil, 0, malformed("location list item %d: %d bytes", len(items), n)
		}
		items = append(items, body[p+1:p+1+n])
		p += 1 + n
	}
	if len(items) == 0 {
		return nil, 0, malformed("empty location list")
	}
	return items, 0, nil
}

// AppendLocationList appends a 0x0210 body of the given 0x0200 bodies (each at most 255 bytes).
func AppendLocationList(dst []byte, items ...[]byte) ([]byte, error) {
	for _, it := range items {
		if len(it) > 255 {
			return dst, fmt.Errorf("jt808: location list item of %d bytes", len(it))
		}
		dst = append(dst, byte(len(it)))
		dst = append(dst, it...)
	}
	return dst, nil
}
