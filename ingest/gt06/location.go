package gt06

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrNoPosition reports a packet of a location protocol that carries no position: its device
// marked the GPS block empty, or the model uses the protocol number for something else (a
// status, Wi-Fi or cell list). The packet is well-formed; the server answers it as usual.
var ErrNoPosition = errors.New("gt06: no position in packet")

// Location is the content of a packet that carries a GPS position: GPS (0x10), GPS+LBS (0x11,
// 0x12, 0x22, 0xA0 and the models' variants), alarm (0x16, 0x26, 0x27, 0xA4, 0x95) and the other
// protocols IsLocation reports.
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
	AltitudeM    float64 // 0 where the layout has none

	HasLBS bool
	LBS    LBS

	HasStatus bool
	Status    Status

	// Flags are alarms and states the layout reports outside Status ("sos", "door", …).
	Flags []string
	// Attrs are further readings of the model's layout, named as in tracker.Fix.Attrs:
	// "power_v" (external supply), "battery_v", "battery_pct", "odometer_m", "driver_id",
	// "iccid"; nil when there are none.
	Attrs map[string]any
}

// LBS is the serving cell a tracker reports next to its GPS position.
type LBS struct {
	MCC    uint16
	MNC    uint16
	LAC    uint32 // 2 bytes on the wire (2G), 4 (4G)
	CellID uint64 // 3 or 4 bytes on the wire (2G), 8 (4G)
}

// Sizes of the content blocks.
const (
	gpsLen    = 18 // date-time 6, GPS info 1, lat 4, lon 4, speed 1, course/status 2
	lbsLen    = 8  // MCC 2, MNC 1, LAC 2, cell id 3
	statusLen = 5  // terminal info, voltage, GSM signal, alarm, language
	imeiLen   = 8  // BCD with a leading 0 nibble
)

// locationLayouts decode the content of each location protocol. Where a model reuses a
// protocol number for its own layout, the content's size tells them apart, as in Traccar's
// Gt06ProtocolDecoder; what follows the GPS block is decoded only where the layout is certain,
// so an unknown tail never costs the position. (decodeGPS: what follows the GPS block differs
// between the models that send these numbers.)
var locationLayouts = map[byte]func(l *Location, c []byte, zone *time.Location) error{
	ProtoGPS:             decodeGPS,
	ProtoGPSLBSWide:      decodeGPSLBSWide,
	ProtoGPSLBS:          decodeGPSLBS,
	ProtoAlarm:           decodeAlarm16,
	ProtoGPSLBSRFID:      decodeGPSLBSRFID,
	ProtoGPSPhone:        decodeGPS,
	ProtoGPSLBSExtend:    decodeGPS,
	ProtoText:            decodeText,
	ProtoGPSLBS2:         decodeGPSLBS2,
	ProtoGPSLBSMulti:     decodeGPSLBSMulti,
	ProtoGPSLBSDriver:    decodeGPSLBSDriver,
	ProtoAlarm2:          decodeAlarm26,
	ProtoAlarm3:          decodeAlarmFence,
	ProtoGPSLBS4:         decodeGPSLBSACC,
	ProtoGPSLBS5:         decodeGPSLBS5,
	ProtoGPSLBSStatus4:   decodeGPS,
	ProtoAlarmAZ735:      decodeAZ735,
	ProtoGPSX1:           decodeGPSX1,
	ProtoGPSRFID:         decodeGPSRFID,
	ProtoGPSLBS3:         decodeGPSLBS3,
	ProtoGPSLBS8:         decodeGPS,
	ProtoGPSIButton:      decodeGPSIButton,
	ProtoModular:         decodeModular,
	ProtoEventAlarm:      decodeEventAlarm,
	ProtoGPSLBS4G:        decodeGPSLBS4G,
	ProtoGPSLBSStatus4G:  decodeGPSLBSStatus4G,
	ProtoFenceAlarm:      decodeFenceAlarm,
	ProtoMultiFenceAlarm: decodeAlarmFence,
}

// DecodeLocation decodes a location packet's content. GPS times are in zone (UTC when nil).
// It returns ErrNoPosition for a packet of a location protocol without a position.
func DecodeLocation(p Packet, zone *time.Location) (Location, error) {
	var l Location
	decode, ok := locationLayouts[p.Protocol]
	if !ok {
		return l, fmt.Errorf("gt06: protocol 0x%02X is not a location", p.Protocol)
	}
	switch {
	case p.Protocol == ProtoGPSLBSStatus4 && p.Extended:
		decode = decodeAZ735 // AZ735 sends its GPS packet extended, SL4X short
	case p.Protocol == ProtoAlarmAZ735 && !p.Extended:
		return l, ErrNoPosition // a Wi-Fi list
	}
	if err := decode(&l, p.Content, zone); err != nil {
		if errors.Is(err, ErrNoPosition) || errors.Is(err, ErrMalformed) {
			return l, err
		}
		return l, fmt.Errorf("%w: 0x%02X: %w", ErrMalformed, p.Protocol, err)
	}
	return l, nil
}

// IsLocation reports whether DecodeLocation decodes protocol.
func IsLocation(protocol byte) bool {
	_, ok := locationLayouts[protocol]
	return ok
}

var errShort = errors.New("content too short")

// decodeGPS decodes the GPS block b (at least gpsLen bytes).
func decodeGPS(l *Location, b []byte, zone *time.Location) error {
	if len(b) < gpsLen {
		return errShort
	}
	t, err := decodeTime(b, zone)
	if err != nil {
		return err
	}
	l.Time = t
	l.GPSInfoLen, l.Satellites = int(b[6]>>4), int(b[6]&0x0F)
	return decodeCoords(l, binary.BigEndian.Uint32(b[7:]), binary.BigEndian.Uint32(b[11:]), int(b[15]), binary.BigEndian.Uint16(b[16:]))
}

// decodeTime decodes a binary date-time YY MM DD hh mm ss in zone (UTC when nil).
func decodeTime(b []byte, zone *time.Location) (time.Time, error) {
	if zone == nil {
		zone = time.UTC
	}
	y, mo, d, h, mi, s := int(b[0]), time.Month(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, fmt.Errorf("%w: date-time % X", ErrMalformed, b[:6])
	}
	return time.Date(2000+y, mo, d, h, mi, s, 0, zone).UTC(), nil
}

// decodeCoords sets the position from the latitude and longitude in units of 1/1,800,000
// degree and the course/status word.
func decodeCoords(l *Location, lat32, lon32 uint32, speed int, cs uint16) error {
	lat, lon := float64(lat32)/1_800_000, float64(lon32)/1_800_000
	if lat > 90 || lon > 180 {
		return fmt.Errorf("%w: coordinates %v, %v", ErrMalformed, lat, lon)
	}
	l.SpeedKmh = speed
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

// decodeCell decodes a serving cell: MCC (bit 15 set: a 2-byte MNC follows), MNC, LAC and
// cell id, their widths told by the block's size: 2G (LAC 2, cell id 3 or 4 bytes) or 4G
// (LAC 4, cell id 8). mnc2 says the model always sends a 2-byte MNC.
func decodeCell(b []byte, mnc2 bool) (LBS, bool) {
	if len(b) < 2+1+5 {
		return LBS{}, false
	}
	var c LBS
	mcc := binary.BigEndian.Uint16(b)
	c.MCC = mcc & 0x7FFF
	b = b[2:]
	if mnc2 || mcc&0x8000 != 0 {
		c.MNC, b = binary.BigEndian.Uint16(b), b[2:]
	} else {
		c.MNC, b = uint16(b[0]), b[1:]
	}
	switch len(b) {
	case 5, 6:
		c.LAC = uint32(binary.BigEndian.Uint16(b))
		for _, x := range b[2:] {
			c.CellID = c.CellID<<8 | uint64(x)
		}
	case 12:
		c.LAC = binary.BigEndian.Uint32(b)
		c.CellID = binary.BigEndian.Uint64(b[4:])
	default:
		return LBS{}, false
	}
	return c, true
}

// setCell sets l's cell from b, when b is one: models fill the block with zeros when they have
// no cell.
func setCell(l *Location, b []byte, mnc2 bool) {
	if c, ok := decodeCell(b, mnc2); ok && c.MCC != 0 && (c.LAC != 0 || c.CellID != 0) {
		l.HasLBS, l.LBS = true, c
	}
}

// cell4GLen returns the size of the 4G cell starting at b (MCC 2, MNC 1 or 2, LAC 4, cell id 8).
func cell4GLen(b []byte) int {
	if len(b) >= 2 && b[0]&0x80 != 0 {
		return 16
	}
	return 15
}

// lbsBlock splits the length-prefixed LBS block of alarm packets off c. The length byte counts
// itself and the cell (9 for a 2G cell, 16 or 17 for a 4G one); current firmware sends 8 or
// less, the 2G cell alone. 0 means no cell; some models then fill 45 bytes with zeros.
func lbsBlock(c []byte) (cell, rest []byte, err error) {
	if len(c) < 1 {
		return nil, nil, errShort
	}
	n := int(c[0])
	switch {
	case n == 0:
		if len(c) >= 46 && allZero(c[10:46]) {
			return nil, c[46:], nil
		}
		return nil, c[1:], nil
	case n <= 1+lbsLen:
		n = 1 + lbsLen
	}
	if n > len(c) {
		return nil, nil, fmt.Errorf("%w: LBS length %d", ErrMalformed, c[0])
	}
	return c[1:n], c[n:], nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// isIMEI reports whether b is an IMEI as packets carry it: 8 BCD bytes, the first nibble 0.
func isIMEI(b []byte) bool {
	if len(b) < imeiLen || b[0]>>4 != 0 {
		return false
	}
	_, ok := bcdDigits(b[:imeiLen])
	return ok
}

// isTime reports whether b starts with a valid binary date-time.
func isTime(b []byte) bool {
	if len(b) < 6 {
		return false
	}
	_, err := decodeTime(b, nil)
	return err == nil
}

func setAttr(l *Location, key string, v any) {
	if l.Attrs == nil {
		l.Attrs = make(map[string]any)
	}
	l.Attrs[key] = v
}

// setDriver records an RFID or iButton reading unless it is all zeros (no card).
func setDriver(l *Location, b []byte) {
	if !allZero(b) {
		setAttr(l, "driver_id", hex.EncodeToString(b))
	}
}

// decodeGPSLBSWide (0x11, ZX303): GPS, then a cell with a 2-byte MNC and 4-byte cell id when
// present.
func decodeGPSLBSWide(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	if rest := c[gpsLen:]; len(rest) >= 10 {
		setCell(l, rest[:10], true)
	}
	return nil
}

// decodeGPSLBS (0x12): GPS and cell; QH302R puts its IMEI first. What models add after the
// cell differs too much to decode by size.
func decodeGPSLBS(l *Location, c []byte, zone *time.Location) error {
	if len(c) == imeiLen+gpsLen+lbsLen && isIMEI(c) && isTime(c[imeiLen:]) {
		c = c[imeiLen:]
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen:]
	if len(c) < lbsLen {
		return fmt.Errorf("%w: 0x12 without LBS", ErrMalformed)
	}
	setCell(l, c[:lbsLen], false)
	return nil
}

// decodeAlarm16 (0x16): GPS, the length-prefixed LBS block, status. Models tell themselves
// apart by size: VXT01 sends the cell without its length byte and no alarm code, SEEWORLD a
// 4-byte cell id, TRX16I an RFID card after the status.
func decodeAlarm16(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	switch c = c[gpsLen:]; {
	case len(c) == lbsLen+statusLen: // VXT01
		setCell(l, c[:lbsLen], false)
		c = c[lbsLen:]
		l.HasStatus = true
		l.Status = Status{TerminalInfo: c[0], Voltage: c[1], GSMSignal: c[2], Language: c[4]}
		return nil
	case len(c) == 1+lbsLen+1+statusLen && c[0] == 1+lbsLen: // SEEWORLD
		setCell(l, c[1:2+lbsLen], false)
		l.HasStatus, l.Status = true, decodeStatus(c[2+lbsLen:])
		return nil
	}
	rest, err := decodeAlarmTail(l, c)
	if err == nil && len(rest) == 8 { // TRX16I
		setDriver(l, rest)
	}
	return err
}

// decodeAlarm26 (0x26): GPS, the length-prefixed LBS block, status.
func decodeAlarm26(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	_, err := decodeAlarmTail(l, c[gpsLen:])
	return err
}

// decodeAlarmFence (0x27, 0xA4): as 0x26; the language byte's high nibble extends the alarm
// code, and a geofence number follows.
func decodeAlarmFence(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	_, err := decodeAlarmTail(l, c[gpsLen:])
	l.Status.Alarm |= uint16(l.Status.Language>>4) << 8
	return err
}

// decodeAlarmTail decodes the length-prefixed LBS block and the status of an alarm packet and
// returns what follows them.
func decodeAlarmTail(l *Location, c []byte) ([]byte, error) {
	cell, c, err := lbsBlock(c)
	if err != nil {
		return nil, err
	}
	setCell(l, cell, false)
	if len(c) < statusLen {
		return nil, fmt.Errorf("%w: alarm without status", ErrMalformed)
	}
	l.HasStatus, l.Status = true, decodeStatus(c)
	return c[statusLen:], nil
}

// decodeGPSLBSRFID (0x17 at 35 bytes): GPS, cell, an RFID card and its validity. Other 0x17
// packets are Wi-Fi lists.
func decodeGPSLBSRFID(l *Location, c []byte, zone *time.Location) error {
	if len(c) != gpsLen+lbsLen+8+1 {
		return ErrNoPosition
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	setCell(l, c[gpsLen:gpsLen+lbsLen], false)
	setDriver(l, c[gpsLen+lbsLen:gpsLen+lbsLen+8])
	return nil
}

// decodeGPSLBS2 (0x22): GPS, cell, ACC, upload mode, re-upload and (newer firmware) mileage.
// NT20, XT40 and their kin first send the location source, their IMEI and the device time and
// put a status after the cell; SEEWORLD sends a 4-byte cell id, mileage and a temperature.
func decodeGPSLBS2(l *Location, c []byte, zone *time.Location) error {
	if len(c) == ntPrefixLen+gpsLen+1+lbsLen+ntStatusLen && isNTPrefix(c) {
		return decodeNT(l, c, zone, false)
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen:]
	const seeworld = lbsLen + 1 + 3 + 4 + 4 + 2 + 2
	if len(c) == seeworld {
		setCell(l, c[:lbsLen+1], false)
		l.ACCValid, l.ACC = true, c[lbsLen+1] != 0
		setAttr(l, "odometer_m", int(binary.BigEndian.Uint32(c[lbsLen+4:])))
		return nil
	}
	if len(c) < lbsLen {
		return fmt.Errorf("%w: 0x22 without LBS", ErrMalformed)
	}
	return decodeCellACC(l, c)
}

// decodeCellACC decodes a 2G cell followed by ACC, upload mode and re-upload flag.
func decodeCellACC(l *Location, c []byte) error {
	if len(c) < lbsLen {
		return fmt.Errorf("%w: no LBS", ErrMalformed)
	}
	setCell(l, c[:lbsLen], false)
	if c = c[lbsLen:]; len(c) >= 1 {
		l.ACCValid, l.ACC = true, c[0] != 0
	}
	return nil
}

// decodeGPSLBSACC (0x2D): GPS, cell, ACC, upload mode, re-upload.
func decodeGPSLBSACC(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	return decodeCellACC(l, c[gpsLen:])
}

// decodeGPSLBS5 (0x31): as 0x2D; the SL4X layout (37 bytes) has a cell of its own.
func decodeGPSLBS5(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	if len(c) == 37 {
		return nil
	}
	return decodeCellACC(l, c[gpsLen:])
}

// decodeGPSLBS3 (0x37): GPS, cell, ACC, event and re-upload, then modules (type WORD,
// length BYTE, value).
func decodeGPSLBS3(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	if err := decodeCellACC(l, c[gpsLen:]); err != nil {
		return err
	}
	for m := c[min(len(c), gpsLen+lbsLen+3):]; len(m) >= 3; {
		typ, n := binary.BigEndian.Uint16(m), int(m[2])
		if len(m) < 3+n {
			break
		}
		v := m[3 : 3+n]
		switch {
		case typ == 0x0027 && n == 2:
			setAttr(l, "power_v", float64(binary.BigEndian.Uint16(v))/100)
		case typ == 0x002E && n == 4:
			setAttr(l, "odometer_m", int(binary.BigEndian.Uint32(v)))
		}
		m = m[3+n:]
	}
	return nil
}

// The NT20 / XT40 layout: location source BYTE, IMEI, device time, then GPS.
const (
	ntPrefixLen = 1 + imeiLen + 6
	ntStatusLen = 1 + 2 + 1 + 1 + 1 + 1 + 3 + 3 // terminal info, supply, battery, GSM, alarm, language, odometer, hours
)

func isNTPrefix(c []byte) bool {
	return len(c) >= ntPrefixLen && isIMEI(c[1:]) && isTime(c[1+imeiLen:])
}

// decodeNT decodes the NT20 / XT40 layouts of 0x22 and (driver, a 4-byte cell id) 0x25.
func decodeNT(l *Location, c []byte, zone *time.Location, driver bool) error {
	c = c[ntPrefixLen:]
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen:]
	var cell []byte
	if driver {
		// The length byte counts the cell (MCC, MNC, LAC, 4-byte cell id) and what follows it.
		n := max(int(c[0]), lbsLen+1)
		if len(c) < 1+n {
			return fmt.Errorf("%w: LBS length %d", ErrMalformed, c[0])
		}
		cell, c = c[1:2+lbsLen], c[1+n:]
	} else {
		var err error
		if cell, c, err = lbsBlock(c); err != nil {
			return err
		}
	}
	setCell(l, cell, false)
	if len(c) < ntStatusLen {
		return fmt.Errorf("%w: status cut", ErrMalformed)
	}
	l.HasStatus = true
	l.Status = Status{TerminalInfo: c[0], Voltage: NoVoltage, GSMSignal: c[4], Alarm: uint16(c[5]), Language: c[6]}
	setAttr(l, "power_v", float64(binary.BigEndian.Uint16(c[1:]))/100)
	setAttr(l, "battery_v", float64(c[3])/10)
	setAttr(l, "odometer_m", int(c[7])<<16|int(c[8])<<8|int(c[9]))
	if c = c[ntStatusLen:]; driver && len(c) >= 2 && c[0] >= 1 && len(c) >= 1+int(c[0]) {
		setDriver(l, c[2:1+int(c[0])]) // length, identifier type, identifier
	}
	return nil
}

// decodeGPSLBSDriver (0x25, XT40): the NT layout with a driver identification.
func decodeGPSLBSDriver(l *Location, c []byte, zone *time.Location) error {
	if !isNTPrefix(c) || len(c) < ntPrefixLen+gpsLen+1 {
		return fmt.Errorf("%w: 0x25 without its IMEI prefix", ErrMalformed)
	}
	return decodeNT(l, c, zone, true)
}

// decodeGPSLBSMulti (0x24): the SR411 mini (41 bytes) sends GPS, cell, ignition and voltages;
// other models a list of cells without a position.
func decodeGPSLBSMulti(l *Location, c []byte, zone *time.Location) error {
	if len(c) != 41 {
		return ErrNoPosition
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	if err := decodeCellACC(l, c[gpsLen:]); err != nil {
		return err
	}
	setAttr(l, "power_v", float64(binary.BigEndian.Uint16(c[gpsLen+lbsLen+1:]))/100)
	setAttr(l, "battery_v", float64(binary.BigEndian.Uint16(c[gpsLen+lbsLen+3:]))/100)
	return nil
}

// decodeAZ735 (0x32, 0x33 extended, AZ735): date-time, a GPS length byte (0: no GPS data
// follows), the rest of the GPS block.
func decodeAZ735(l *Location, c []byte, zone *time.Location) error {
	if len(c) < 7 {
		return errShort
	}
	if c[6] == 0 {
		return ErrNoPosition
	}
	if len(c) < 1+gpsLen {
		return errShort
	}
	var g [gpsLen]byte
	copy(g[:], c[:6])
	copy(g[6:], c[7:1+gpsLen])
	return decodeGPS(l, g[:], zone)
}

// decodeGPSX1 (0x34): data and alarm DWORD, GPS, terminal information WORD, mileage DWORD,
// cell (4-byte cell id). The SL4X sends a list of cells under this number (50 bytes).
func decodeGPSX1(l *Location, c []byte, zone *time.Location) error {
	if len(c) == 50 {
		return ErrNoPosition
	}
	if len(c) < 4+gpsLen {
		return errShort
	}
	if err := decodeGPS(l, c[4:], zone); err != nil {
		return err
	}
	if c = c[4+gpsLen:]; len(c) >= 6+9 {
		setAttr(l, "odometer_m", int(binary.BigEndian.Uint32(c[2:])))
		setCell(l, c[6:6+9], false)
	}
	return nil
}

// decodeGPSRFID (0x36 at 48 bytes, TRX16I): GPS, cell (4-byte cell id), ignition, upload
// mode, re-upload, mileage, supply voltage, battery, hours, RFID card. Other 0x36 packets are
// status reports.
func decodeGPSRFID(l *Location, c []byte, zone *time.Location) error {
	if len(c) != 48 {
		return ErrNoPosition
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen:]
	setCell(l, c[:9], false)
	l.ACCValid, l.ACC = true, c[9] != 0
	setAttr(l, "power_v", float64(binary.BigEndian.Uint16(c[16:]))/100)
	setAttr(l, "battery_v", float64(c[18])/10)
	setDriver(l, c[22:30])
	return nil
}

// decodeGPSIButton (0x61): IMEI, GPS, cell (4-byte cell id), iButton key (6 bytes, sent in
// decimal).
func decodeGPSIButton(l *Location, c []byte, zone *time.Location) error {
	if len(c) < imeiLen+gpsLen {
		return errShort
	}
	if err := decodeGPS(l, c[imeiLen:], zone); err != nil {
		return err
	}
	if c = c[imeiLen+gpsLen:]; len(c) >= 9+6 {
		setCell(l, c[:9], false)
		if key := uint64(binary.BigEndian.Uint32(c[9:]))<<16 | uint64(binary.BigEndian.Uint16(c[13:])); key != 0 {
			setAttr(l, "driver_id", strconv.FormatUint(key, 10))
		}
	}
	return nil
}

// decodeGPSLBS4G (0xA0, 4G): GPS, 4G cell, then ACC, upload mode, re-upload and mileage when
// present.
func decodeGPSLBS4G(l *Location, c []byte, zone *time.Location) error {
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen:]
	n := cell4GLen(c)
	if len(c) < n {
		return fmt.Errorf("%w: 0xA0 without LBS", ErrMalformed)
	}
	setCell(l, c[:n], false)
	if c = c[n:]; len(c) >= 3 {
		l.ACCValid, l.ACC = true, c[0] != 0
	}
	if len(c) >= 7 {
		setAttr(l, "odometer_m", int(binary.BigEndian.Uint32(c[3:])))
	}
	return nil
}

// decodeGPSLBSStatus4G (0xA2 at 59 or 60 bytes, LWxG): GPS, 4G cell, network, terminal info,
// supply voltage, battery, GSM signal, alarm, language, mileage, hours, terminal id, inputs.
// Other 0xA2 packets are Wi-Fi and cell lists.
func decodeGPSLBSStatus4G(l *Location, c []byte, zone *time.Location) error {
	if len(c) < gpsLen+15 || len(c) != gpsLen+cell4GLen(c[gpsLen:])+26 {
		return ErrNoPosition
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen:]
	n := cell4GLen(c)
	setCell(l, c[:n], false)
	c = c[n+1:] // network indicator
	l.HasStatus = true
	l.Status = Status{TerminalInfo: c[0], Voltage: c[3], GSMSignal: c[4], Alarm: uint16(c[5]), Language: c[6]}
	setAttr(l, "power_v", float64(binary.BigEndian.Uint16(c[1:]))/100)
	setAttr(l, "odometer_m", int(binary.BigEndian.Uint32(c[7:])))
	return nil
}

// decodeFenceAlarm (0xA3, GK310): GPS, fence number, 4G cell, status. SEEWORLD sends a
// status report without position under this number (7 or 19 bytes).
func decodeFenceAlarm(l *Location, c []byte, zone *time.Location) error {
	if len(c) == 7 || len(c) == 19 {
		return ErrNoPosition
	}
	if len(c) < gpsLen+1 {
		return errShort
	}
	if err := decodeGPS(l, c, zone); err != nil {
		return err
	}
	c = c[gpsLen+1:]
	if n := cell4GLen(c); len(c) == n+statusLen {
		setCell(l, c[:n], false)
		l.HasStatus, l.Status = true, decodeStatus(c[n:])
	}
	return nil
}

// decodeModular (0x70): modules (type WORD, length WORD, value); module 0x33 is the
// position (Unix time, satellites, altitude, latitude, longitude, speed, course/status), 0x34
// an event. A packet without 0x33, or with its time 0, has no position.
func decodeModular(l *Location, c []byte, _ *time.Location) error {
	found := false
	for len(c) >= 4 {
		typ, n := binary.BigEndian.Uint16(c), int(binary.BigEndian.Uint16(c[2:]))
		if len(c) < 4+n {
			return fmt.Errorf("%w: module 0x%04X cut", ErrMalformed, typ)
		}
		v := c[4 : 4+n]
		c = c[4+n:]
		switch {
		case typ == 0x0003 && n == 10:
			setAttr(l, "iccid", strings.TrimRight(hex.EncodeToString(v), "f"))
		case typ == 0x0011 && n >= 9:
			setCell(l, v[:9], true)
		case typ == 0x0018 && n == 2:
			setAttr(l, "battery_v", float64(binary.BigEndian.Uint16(v))/100)
		case typ == 0x0033 && n >= 18:
			sec := binary.BigEndian.Uint32(v)
			if sec == 0 {
				continue
			}
			l.Time = time.Unix(int64(sec), 0).UTC()
			l.Satellites = int(v[4])
			l.AltitudeM = float64(int16(binary.BigEndian.Uint16(v[5:])))
			if err := decodeCoords(l, binary.BigEndian.Uint32(v[7:]), binary.BigEndian.Uint32(v[11:]), int(v[15]), binary.BigEndian.Uint16(v[16:])); err != nil {
				return err
			}
			found = true
		case typ == 0x0034 && n >= 1:
			if name := modularEvents[v[0]]; name != "" {
				l.Flags = append(l.Flags, name)
			}
		}
	}
	if !found {
		return ErrNoPosition
	}
	return nil
}

// modularEvents names the events of module 0x34.
var modularEvents = map[byte]string{
	0x10: "door", 0x12: "tamper", 0x14: "fence_in", 0x15: "fence_out", 0x16: "temperature",
	0x1A: "low_battery", 0x1B: "overspeed", 0x1C: "power_on", 0x1D: "power_off",
	0x20: "vibration", 0x21: "power_cut", 0x23: "tamper",
}

// decodeEventAlarm (0x95, JC100 / JC400): the extended form carries a position — JC400 after
// a FFFF marker and a version, with satellites, its status word before a speed WORD — then an
// event and its data. The short form (date-time, event) has none.
func decodeEventAlarm(l *Location, c []byte, zone *time.Location) error {
	if len(c) <= 7 { // date-time, event
		return ErrNoPosition
	}
	var event byte
	if c[0] == 0xFF && c[1] == 0xFF {
		c = c[3:]
		if len(c) < 6+1+8+2+2+2+1 {
			return errShort
		}
		t, err := decodeTime(c, zone)
		if err != nil {
			return err
		}
		l.Time, l.Satellites = t, int(c[6]&0x0F)
		cs := binary.BigEndian.Uint16(c[15:])
		if err := decodeCoords(l, binary.BigEndian.Uint32(c[7:]), binary.BigEndian.Uint32(c[11:]), int(binary.BigEndian.Uint16(c[17:])), cs); err != nil {
			return err
		}
		setAttr(l, "power_v", float64(binary.BigEndian.Uint16(c[19:]))/10)
		event = c[21]
	} else {
		if len(c) < 6+8+2+1 {
			return errShort
		}
		t, err := decodeTime(c, zone)
		if err != nil {
			return err
		}
		l.Time = t
		if err := decodeCoords(l, binary.BigEndian.Uint32(c[6:]), binary.BigEndian.Uint32(c[10:]), 0, binary.BigEndian.Uint16(c[14:])); err != nil {
			return err
		}
		event = c[16]
	}
	if name := EventAlarmName(event, true); name != "" {
		l.Flags = append(l.Flags, name)
	}
	setAttr(l, "event_code", int(event))
	return nil
}

// EventAlarmName returns the flag name of a 0x95 event, "" for none or an unknown one. Event
// 1 is an SOS when the packet carries a position, a general alarm otherwise.
func EventAlarmName(event byte, withPosition bool) string {
	switch event {
	case 0x01:
		if withPosition {
			return "sos"
		}
		return "alarm"
	case 0x0E:
		return "low_power"
	case 0x76:
		return "temperature"
	case 0x80:
		return "vibration"
	case 0x87:
		return "overspeed"
	case 0x88:
		return "power_cut"
	case 0x90:
		return "hard_acceleration"
	case 0x91:
		return "hard_braking"
	case 0x92:
		return "sharp_turn"
	case 0x93:
		return "collision"
	}
	return ""
}

// decodeText (0x21): a command's answer; the answer to WHERE is a position in text,
// "Current position!Lat:N54.739332,Lon:E25.273270,Course:126.53,Speed:0.0000,DateTime:2017-05-26  10:27:47",
// its speed in knots and its time in UTC. Other answers carry no position.
func decodeText(l *Location, c []byte, _ *time.Location) error {
	if len(c) < 5 || c[4] != 1 { // server flag DWORD, encoding (1: ASCII, else UTF-16)
		return ErrNoPosition
	}
	text, ok := strings.CutPrefix(string(c[5:]), "Current position!")
	if !ok {
		return ErrNoPosition
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(text, ",") {
		if k, v, ok := strings.Cut(f, ":"); ok {
			fields[k] = v
		}
	}
	lat, err1 := hemisphere(fields["Lat"], 'N', 'S', 90)
	lon, err2 := hemisphere(fields["Lon"], 'E', 'W', 180)
	course, err3 := strconv.ParseFloat(fields["Course"], 64)
	knots, err4 := strconv.ParseFloat(fields["Speed"], 64)
	t, err5 := time.Parse("2006-01-02 15:04:05", strings.Join(strings.Fields(fields["DateTime"]), " "))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return fmt.Errorf("%w: position text %q: %w", ErrMalformed, text, err)
	}
	if !(knots >= 0 && knots < 1000) || !(course >= 0 && course < 360) {
		return fmt.Errorf("%w: position text %q", ErrMalformed, text)
	}
	l.Time, l.Lat, l.Lon, l.Positioned = t, lat, lon, true
	l.SpeedKmh, l.Course = int(math.Round(knots*1.852)), int(course)
	return nil
}

// hemisphere parses "N54.739332": a hemisphere letter and degrees up to limit.
func hemisphere(s string, pos, neg byte, limit float64) (float64, error) {
	if len(s) < 2 || (s[0] != pos && s[0] != neg) {
		return 0, fmt.Errorf("coordinate %q", s)
	}
	v, err := strconv.ParseFloat(s[1:], 64)
	if err != nil || !(v >= 0 && v <= limit) {
		return 0, fmt.Errorf("coordinate %q", s)
	}
	if s[0] == neg {
		v = -v
	}
	return v, nil
}
