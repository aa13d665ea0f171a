package jt808

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// Alarm bits of the 0x0200 alarm DWORD.
const (
	AlarmSOS             = 1 << 0
	AlarmOverspeed       = 1 << 1
	AlarmFatigue         = 1 << 2
	AlarmGNSSFault       = 1 << 4
	AlarmAntennaOpen     = 1 << 5
	AlarmAntennaShort    = 1 << 6
	AlarmUnderVoltage    = 1 << 7
	AlarmPowerCut        = 1 << 8
	AlarmOvertimeParking = 1 << 19
	AlarmAreaInOut       = 1 << 20
	AlarmRouteInOut      = 1 << 21
	AlarmRouteDeviation  = 1 << 23
	AlarmStolen          = 1 << 26
	AlarmIllegalIgnition = 1 << 27
	AlarmIllegalMove     = 1 << 28
	AlarmCollision       = 1 << 29
	AlarmRollover        = 1 << 30
	AlarmIllegalDoorOpen = 1 << 31
)

// Status bits of the 0x0200 status DWORD.
const (
	StatusACC             = 1 << 0
	StatusPositioned      = 1 << 1
	StatusSouth           = 1 << 2
	StatusWest            = 1 << 3
	StatusOutOfService    = 1 << 4
	StatusCoordsEncrypted = 1 << 5
	StatusOilCut          = 1 << 10
	StatusCircuitCut      = 1 << 11
	StatusDoorsLocked     = 1 << 12
	StatusGPS             = 1 << 18
	StatusBeiDou          = 1 << 19
	StatusGLONASS         = 1 << 20
	StatusGalileo         = 1 << 21
)

type namedBit struct {
	bit  uint32
	name string
}

var alarmNames = [...]namedBit{
	{AlarmSOS, "sos"}, {AlarmOverspeed, "overspeed"}, {AlarmFatigue, "fatigue"},
	{AlarmGNSSFault, "gnss_fault"}, {AlarmAntennaOpen, "antenna_open"}, {AlarmAntennaShort, "antenna_short"},
	{AlarmUnderVoltage, "under_voltage"}, {AlarmPowerCut, "power_cut"},
	{AlarmOvertimeParking, "overtime_parking"}, {AlarmAreaInOut, "area_in_out"},
	{AlarmRouteInOut, "route_in_out"}, {AlarmRouteDeviation, "route_deviation"}, {AlarmStolen, "stolen"},
	{AlarmIllegalIgnition, "illegal_ignition"}, {AlarmIllegalMove, "illegal_move"},
	{AlarmCollision, "collision"}, {AlarmRollover, "rollover"}, {AlarmIllegalDoorOpen, "illegal_door_open"},
}

var statusNames = [...]namedBit{
	{StatusACC, "acc_on"}, {StatusPositioned, "positioned"}, {StatusOutOfService, "out_of_service"},
	{StatusCoordsEncrypted, "coords_encrypted"}, {StatusOilCut, "oil_cut"}, {StatusCircuitCut, "circuit_cut"},
	{StatusDoorsLocked, "doors_locked"}, {StatusGPS, "gps"}, {StatusBeiDou, "beidou"},
	{StatusGLONASS, "glonass"}, {StatusGalileo, "galileo"},
}

var alarmMask, statusMask = maskOf(alarmNames[:]), maskOf(statusNames[:])

func maskOf(names []namedBit) uint32 {
	var m uint32
	for _, nb := range names {
		m |= nb.bit
	}
	return m
}

// LocationLen is the length of a 0x0200 body without extra items.
const LocationLen = 28

// Location is a decoded 0x0200 body (also the items of 0x0704).
type Location struct {
	Alarm, Status uint32
	Lat, Lon      float64 // degrees, negative south and west
	AltitudeM     float64
	SpeedKmh      float64
	Heading       float64
	Time          time.Time // UTC; zero when the terminal sent an all-zero time
	// Items are the raw extra items (id BYTE, len BYTE, value). After DecodeLocation they
	// alias the body. They are not checked: some terminals pad them with junk, which must not
	// cost the position.
	Items []byte
}

// gmt8 is China Standard Time, the zone of JT/T 808 times.
const gmt8 = 8 * time.Hour

// DecodeLocation decodes a 0x0200 body into l without allocating: l.Items aliases body.
func DecodeLocation(body []byte, l *Location) error {
	if len(body) < LocationLen {
		return malformed("location body of %d bytes, need %d", len(body), LocationLen)
	}
	t, err := decodeBCDTime(body[22:28])
	if err != nil {
		return err
	}
	*l = Location{
		Alarm:     binary.BigEndian.Uint32(body[0:]),
		Status:    binary.BigEndian.Uint32(body[4:]),
		Lat:       float64(binary.BigEndian.Uint32(body[8:])) / 1e6,
		Lon:       float64(binary.BigEndian.Uint32(body[12:])) / 1e6,
		AltitudeM: float64(int16(binary.BigEndian.Uint16(body[16:]))),
		SpeedKmh:  float64(binary.BigEndian.Uint16(body[18:])) / 10,
		Heading:   float64(binary.BigEndian.Uint16(body[20:])),
		Time:      t,
		Items:     body[LocationLen:],
	}
	if l.Status&StatusSouth != 0 {
		l.Lat = -l.Lat
	}
	if l.Status&StatusWest != 0 {
		l.Lon = -l.Lon
	}
	return nil
}

// Valid reports whether the terminal had a position fix (status bit 1).
func (l *Location) Valid() bool { return l.Status&StatusPositioned != 0 }

// AppendFlags appends the names of the set alarm and status bits ("sos", "acc_on", …).
// The names are constants, so only dst may grow.
func (l *Location) AppendFlags(dst []string) []string {
	if a := l.Alarm; a != 0 {
		for _, nb := range alarmNames {
			if a&nb.bit != 0 {
				dst = append(dst, nb.name)
			}
		}
	}
	for _, nb := range statusNames {
		if l.Status&nb.bit != 0 {
			dst = append(dst, nb.name)
		}
	}
	return dst
}

// Attrs returns the extra items as attributes: those whose meaning is documented under
// their names (see itemDecoders: "mileage_km", "fuel_l", "signal", "satellites",
// "battery_percent", "power_v", "adas_alarm", …); any other item, or a known one of a length
// its documentation does not give, as hex under "item_0xNN"; bytes that do not form an item,
// as hex under "items_trailing". An item never costs the position. It returns nil when there
// are no items.
func (l *Location) Attrs() map[string]any {
	if len(l.Items) == 0 {
		return nil
	}
	m := make(map[string]any, 4)
	p := 0
	for p+2 <= len(l.Items) {
		id, n := l.Items[p], int(l.Items[p+1])
		if p+2+n > len(l.Items) {
			break
		}
		v := l.Items[p+2 : p+2+n]
		p += 2 + n
		if dec := itemDecoders[id]; dec == nil || !dec(v, m) {
			m[itemKeys[id]] = hex.EncodeToString(v)
		}
	}
	if p < len(l.Items) {
		m["items_trailing"] = hex.EncodeToString(l.Items[p:])
	}
	return m
}

// itemKeys are the attribute names of unknown items, made once instead of per fix.
var itemKeys = func() (k [256]string) {
	for i := range k {
		k[i] = fmt.Sprintf("item_0x%02x", i)
	}
	return k
}()

// AppendLocation appends the 0x0200 body of l. The south and west status bits are set from
// the signs of Lat and Lon; Items are appended as they are.
func AppendLocation(dst []byte, l *Location) []byte {
	status := l.Status &^ (StatusSouth | StatusWest)
	lat, lon := l.Lat, l.Lon
	if math.Signbit(lat) {
		status |= StatusSouth
		lat = -lat
	}
	if math.Signbit(lon) {
		status |= StatusWest
		lon = -lon
	}
	dst = binary.BigEndian.AppendUint32(dst, l.Alarm)
	dst = binary.BigEndian.AppendUint32(dst, status)
	dst = binary.BigEndian.AppendUint32(dst, uint32(lat*1e6+0.5))
	dst = binary.BigEndian.AppendUint32(dst, uint32(lon*1e6+0.5))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(roundHalf(l.AltitudeM))))
	dst = binary.BigEndian.AppendUint16(dst, uint16(l.SpeedKmh*10+0.5))
	dst = binary.BigEndian.AppendUint16(dst, uint16(l.Heading+0.5))
	dst = appendBCDTime(dst, l.Time)
	return append(dst, l.Items...)
}

// AppendItem appends one extra item (id, length, value) to a location's items.
func AppendItem(dst []byte, id byte, value []byte) []byte {
	dst = append(dst, id, byte(len(value)))
	return append(dst, value...)
}

func roundHalf(f float64) float64 {
	if f < 0 {
		return f - 0.5
	}
	return f + 0.5
}

func decodeBCDTime(b []byte) (time.Time, error) {
	var v [6]int
	zero := true
	for i, c := range b[:6] {
		hi, lo := c>>4, c&0xf
		if hi > 9 || lo > 9 {
			return time.Time{}, malformed("time %x is not BCD", b[:6])
		}
		v[i] = int(hi)*10 + int(lo)
		zero = zero && c == 0
	}
	if zero {
		return time.Time{}, nil
	}
	y, mo, d := 2000+v[0], v[1], v[2]
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, malformed("time %x out of range", b[:6])
	}
	sec := daysSinceEpoch(y, mo, d)*86400 + int64(v[3]*3600+v[4]*60+v[5])
	return time.Unix(sec-int64(gmt8/time.Second), 0).UTC(), nil
}

// daysIn is the length of month mo (1–12) of year y (2000–2099).
func daysIn(y, mo int) int {
	if mo == 2 {
		if y%4 == 0 { // within 2000–2099 every fourth year is a leap year
			return 29
		}
		return 28
	}
	return 30 + (mo+mo/8)%2
}

// daysSinceEpoch counts the days from 1970-01-01 to the date (proleptic Gregorian): cheaper
// than time.Date, which also resolves a time zone, for every fix.
func daysSinceEpoch(y, mo, d int) int64 {
	if mo <= 2 {
		y--
	}
	era := y / 400 // y ≥ 1999
	yoe := y - era*400
	doy := (153*((mo+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

func appendBCDTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0, 0, 0, 0, 0, 0)
	}
	t = t.UTC().Add(gmt8)
	for _, v := range [6]int{t.Year() % 100, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		dst = append(dst, byte(v/10)<<4|byte(v%10))
	}
	return dst
}
