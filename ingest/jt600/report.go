package jt600

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Report kinds: the binary report and the text reports this package decodes. Any other text
// message (a heartbeat "@JT", a command's answer) is KindOther.
const (
	KindBinary = "binary"
	KindP45    = "P45"    // a JT701 lock event: who unlocked it, how
	KindW01    = "W01"    // a JT600 text position
	KindU      = "U"      // a JT600 U01–U06 text position
	KindWLNET5 = "WLNET5" // a JT701 gateway's report of a wireless sensor beside it
	KindOther  = "other"
)

// Report is one decoded frame.
type Report struct {
	DeviceID string // the terminal id without leading zeros
	Kind     string
	Version  byte // long binary reports: the protocol version (0x19: JT701D)
	DataType byte // binary reports: 1 real time, 2 alarm, 3 re-uploaded from memory, 4 JT701D
	Index    int  // the device's serial of the report
	Records  []Record
	// Reply is what the device expects once the report is stored ("" none): it sends an
	// unanswered alarm or lock event again.
	Reply string
}

// Reuploaded reports whether the records come from the device's memory, sent after it had
// no network.
func (r *Report) Reuploaded() bool { return r.Kind == KindBinary && r.DataType == 3 }

// Record is one position of a report.
type Record struct {
	Location
	AltitudeM float64
	Seal      Seal
	Flags     []string       // alarm conditions
	Attrs     map[string]any // what else the record says
}

// Seal is what a record says about the e-seal; the zero Seal says nothing.
type Seal struct {
	State      string // tracker.SealLocked, …; "" unknown
	Event      string // tracker.SealEventUnlocked, …; "" none
	Method     string // tracker.UnlockCard, …, with an unlock event; "" unknown
	Card       string // the card of a card unlock
	BatteryLow bool
}

// Decode decodes one frame as the Reader returns it.
func Decode(frame []byte) (Report, error) {
	if len(frame) > 0 && frame[0] == '$' {
		return decodeBinary(frame)
	}
	return decodeText(frame)
}

// decodeText decodes a '(' … ')' frame.
func decodeText(b []byte) (Report, error) {
	if len(b) < minText || b[0] != '(' || b[len(b)-1] != ')' {
		return Report{}, malformed("text frame %q", b)
	}
	body := string(b[1 : len(b)-1])
	// A gateway's sensor report carries binary after its sixth comma.
	if head := strings.SplitN(body, ",", 7); len(head) == 7 && head[3] == "WLNET" && head[4] == "5" {
		id, err := textID(head[0])
		if err != nil {
			return Report{}, err
		}
		return decodeWLNET5(id, []byte(head[6]))
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; c < 0x20 || c > 0x7e {
			return Report{}, malformed("byte %02X in a text frame", c)
		}
	}
	f := strings.Split(body, ",")
	id, err := textID(f[0])
	if err != nil {
		return Report{}, err
	}
	r := Report{DeviceID: id, Kind: KindOther, Index: -1}
	if len(f) < 2 {
		return r, nil
	}
	switch typ := f[1]; {
	case typ == KindP45:
		return r, decodeP45(&r, f)
	case typ == KindW01:
		return r, decodeW01(&r, f)
	case len(typ) == 3 && typ[0] == 'U' && len(f) >= 19:
		return r, decodeU(&r, f)
	}
	return r, nil
}

// textID checks a text frame's terminal id and drops leading zeros, as binary ids are.
func textID(s string) (string, error) {
	if s == "" || len(s) > 20 || strings.Trim(s, "0123456789") != "" {
		return "", malformed("terminal id %q", s)
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s, nil
}

// textTime reads ddmmyy and hhmmss.
func textTime(date, clock string) (time.Time, error) {
	if len(date) != 6 || len(clock) != 6 {
		return time.Time{}, malformed("date %q time %q", date, clock)
	}
	var v [6]int
	for i, s := range [6]string{date[4:], date[2:4], date[:2], clock[:2], clock[2:4], clock[4:]} {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || s[0] == '+' || s[0] == '-' {
			return time.Time{}, malformed("date %q time %q", date, clock)
		}
		v[i] = n
	}
	return dateTime(v[0], v[1], v[2], v[3], v[4], v[5])
}

// decimal reads a non-negative decimal number.
func decimal(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || strings.ContainsAny(s, "eEnNxX_+-") {
		return 0, malformed("number %q", s)
	}
	return v, nil
}

// signed applies a hemisphere (neg: "S" or "W") to v, checked against limit.
func signed(v float64, hemi, pos, neg string, limit float64) (float64, error) {
	switch {
	case v > limit:
		return 0, malformed("coordinate %v beyond %v", v, limit)
	case hemi == pos:
		return v, nil
	case hemi == neg:
		return -v, nil
	}
	return 0, malformed("hemisphere %q", hemi)
}

func coordinates(lat, ns, lon, ew string) (float64, float64, error) {
	la, err := decimal(lat)
	if err != nil {
		return 0, 0, err
	}
	lo, err := decimal(lon)
	if err != nil {
		return 0, 0, err
	}
	if la, err = signed(la, ns, "N", "S", 90); err != nil {
		return 0, 0, err
	}
	lo, err = signed(lo, ew, "E", "W", 180)
	return la, lo, err
}

// nmea turns (d)ddmm.mmmm into degrees.
func nmea(s string) (float64, error) {
	v, err := decimal(s)
	if err != nil {
		return 0, err
	}
	deg := math.Floor(v / 100)
	min := v - deg*100
	if min >= 60 {
		return 0, malformed("coordinate %q has %v minutes", s, min)
	}
	return deg + min/60, nil
}

const mphKmh = 1.609344

// decodeP45 reads a JT701 lock event:
//
//	(id,P45,ddmmyy,hhmmss,lat,N,lon,E,A,speed,course,event source,unlock verification,
//	 RFID card,password verification,wrong passwords,index[,mileage])
//
// The fields are Traccar's and Jointech's SDK's. How the lock was opened: a card when the card
// field holds one; a password for event sources 4 and 6, judged as the SDK does (source 6: a
// verification of 1–10 or 98 opened it, 0 and 99 did not; source 4: a non-zero password
// verification opened it); a card opened it when its verification is not 0. Other sources
// are kept raw and make no seal event: the state in the next report tells.
func decodeP45(r *Report, f []string) error {
	r.Kind = KindP45
	if len(f) < 17 {
		return malformed("P45 with %d fields", len(f))
	}
	var rec Record
	var err error
	if rec.Time, err = textTime(f[2], f[3]); err != nil {
		return err
	}
	if rec.Lat, rec.Lon, err = coordinates(f[4], f[5], f[6], f[7]); err != nil {
		return err
	}
	rec.Valid = f[8] == "A"
	speed, err1 := decimal(f[9])
	course, err2 := decimal(f[10])
	if err := cmpErr(err1, err2); err != nil {
		return err
	}
	rec.SpeedKmh, rec.Course = speed*mphKmh, math.Mod(course, 360)
	var n [4]int
	for i, s := range [4]string{f[11], f[12], f[14], f[15]} {
		if n[i], err = strconv.Atoi(s); err != nil || n[i] < 0 {
			return malformed("P45 field %q", s)
		}
	}
	source, verified, password, wrong := n[0], n[1], n[2], n[3]
	if r.Index, err = strconv.Atoi(f[16]); err != nil || r.Index < 0 {
		return malformed("P45 index %q", f[16])
	}
	card := f[13]
	if strings.Trim(card, "0123456789ABCDEFabcdef") != "" || len(card) > 20 {
		return malformed("P45 card %q", card)
	}
	rec.Attrs = map[string]any{"unlock_event_source": source, "unlock_verification": verified,
		"password_verification": password, "wrong_passwords": wrong}
	if len(f) > 17 && f[17] != "" {
		if km, err := strconv.Atoi(f[17]); err == nil {
			rec.Attrs["odometer_km"] = km
		}
	}
	opened, known := false, true
	switch {
	case strings.Trim(card, "0") != "":
		rec.Seal.Method, rec.Seal.Card = tracker.UnlockCard, card
		opened = verified != 0
	case source == 6:
		rec.Seal.Method = tracker.UnlockPassword
		opened = verified >= 1 && verified <= 10 || verified == 98
	case source == 4:
		rec.Seal.Method = tracker.UnlockPassword
		opened = password != 0
	default:
		known = false
	}
	if known {
		rec.Seal.Event = tracker.SealEventUnlockRefused
		if opened {
			rec.Seal.Event = tracker.SealEventUnlocked
		}
	}
	r.Records = []Record{rec}
	r.Reply = fmt.Sprintf("(P69,0,%d)", r.Index)
	return nil
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeW01 reads a JT600 text position:
//
//	(id,W01,dddmm.mmmm,E,ddmm.mmmm,N,A,ddmmyy,hhmmss,speed km/h,course,power,gps,gsm,alert,…)
func decodeW01(r *Report, f []string) error {
	r.Kind = KindW01
	if len(f) < 15 {
		return malformed("W01 with %d fields", len(f))
	}
	var rec Record
	lon, err1 := nmea(f[2])
	lat, err2 := nmea(f[4])
	if err := cmpErr(err1, err2); err != nil {
		return err
	}
	var err error
	if rec.Lon, err = signed(lon, f[3], "E", "W", 180); err != nil {
		return err
	}
	if rec.Lat, err = signed(lat, f[5], "N", "S", 90); err != nil {
		return err
	}
	rec.Valid = f[6] == "A"
	if rec.Time, err = textTime(f[7], f[8]); err != nil {
		return err
	}
	speed, err1 := decimal(f[9])
	course, err2 := decimal(f[10])
	if err := cmpErr(err1, err2); err != nil {
		return err
	}
	rec.SpeedKmh, rec.Course = speed, math.Mod(course, 360)
	rec.Attrs = map[string]any{}
	for i, k := range [4]string{"power", "gps_signal", "gsm_signal", "alert_type"} {
		if v, err := strconv.Atoi(f[11+i]); err == nil {
			rec.Attrs[k] = v
		}
	}
	r.Records = []Record{rec}
	return nil
}

// decodeU reads a JT600 U-series position (U06 with an alarm after its type):
//
//	(id,U01,[alarm,]ddmmyy,hhmmss,T,lat,N,lon,E,speed mph,course,satellites,battery%,status,
//	 cid,lac,gsm,odometer km,serial[,checksum])
//
// A U message of another layout (U04, U09) is KindOther.
func decodeU(r *Report, f []string) error {
	typ := f[1]
	alarm := ""
	if len(f[2]) != 6 {
		alarm, f = f[2], append(f[:2:2], f[3:]...)
	}
	if len(f) < 19 || len(f[2]) != 6 || len(f[3]) != 6 {
		return nil
	}
	r.Kind = KindU
	var rec Record
	var err error
	if rec.Time, err = textTime(f[2], f[3]); err != nil {
		return err
	}
	rec.Valid = f[4] == "T"
	if rec.Lat, rec.Lon, err = coordinates(f[5], f[6], f[7], f[8]); err != nil {
		return err
	}
	speed, err1 := decimal(f[9])
	course, err2 := decimal(f[10])
	if err := cmpErr(err1, err2); err != nil {
		return err
	}
	rec.SpeedKmh, rec.Course = speed*mphKmh, math.Mod(course, 360)
	rec.Attrs = map[string]any{"message": typ, "status": f[13]}
	if alarm != "" {
		rec.Attrs["alarm"] = alarm
	}
	for i, k := range map[int]string{11: "satellites", 14: "cell_id", 15: "lac", 16: "gsm_signal", 17: "odometer_km"} {
		if v, err := strconv.Atoi(f[i]); err == nil {
			rec.Attrs[k] = v
		}
	}
	if v, err := strconv.Atoi(strings.TrimSuffix(f[12], "%")); err == nil {
		rec.Attrs["battery_percent"] = v
	}
	if v, err := strconv.Atoi(f[18]); err == nil {
		r.Index = v
	}
	r.Records = []Record{rec}
	switch typ {
	case "U01", "U02", "U03":
		r.Reply = "(S39)"
	case "U06":
		r.Reply = "(S20)"
	}
	return nil
}

// decodeWLNET5 reads a JT701 gateway's report of a wireless sensor: the gateway's location
// block, then the sensor's time, id, serial, battery, signal and type, and for a temperature
// sensor (type 1) temperature and humidity. Jointech's SDK answers it with P69 and the serial.
func decodeWLNET5(id string, b []byte) (Report, error) {
	r := Report{DeviceID: id, Kind: KindWLNET5}
	if len(b) < LocationLen+17 {
		return r, malformed("WLNET5 payload of %d bytes", len(b))
	}
	loc, err := DecodeLocation(b)
	if err != nil {
		return r, err
	}
	s := b[LocationLen:]
	r.Index = int(s[11])
	rec := Record{Location: loc, Attrs: map[string]any{
		"sensor_id":              fmt.Sprintf("%X", s[6:11]),
		"sensor_battery_v":       float64(binary.BigEndian.Uint16(s[12:])) / 100,
		"sensor_battery_percent": int(s[14]),
		"sensor_rssi":            -int(s[15]),
		"sensor_type":            int(s[16]),
	}}
	if s[16] == 1 && len(s) >= 20 {
		if t := binary.BigEndian.Uint16(s[17:]); t != 0xffff {
			c := float64(t&0x0fff) / 10
			if t&0xf000 != 0 {
				c = -c
			}
			rec.Attrs["temperature_c"] = c
		}
		rec.Attrs["humidity_percent"] = int(s[19])
	}
	r.Records = []Record{rec}
	r.Reply = fmt.Sprintf("(P69,0,%d)", r.Index)
	return r, nil
}

// P45 is a lock event as the simulator sends it.
type P45 struct {
	DeviceID    string
	Time        time.Time
	Lat, Lon    float64
	Valid       bool
	SpeedKmh    float64
	Course      float64
	EventSource int
	Verified    int    // unlock verification
	Card        string // ten digits; "" none
	Index       int
}

// AppendP45 appends p as a text frame.
func AppendP45(dst []byte, p *P45) []byte {
	t := p.Time.UTC()
	ns, ew, valid, card := "N", "E", "V", p.Card
	if p.Lat < 0 {
		ns = "S"
	}
	if p.Lon < 0 {
		ew = "W"
	}
	if p.Valid {
		valid = "A"
	}
	if card == "" {
		card = "0000000000"
	}
	return fmt.Appendf(dst, "(%s,P45,%s,%s,%.6f,%s,%.6f,%s,%s,%d,%d,%d,%d,%s,0,0,%d)", p.DeviceID,
		t.Format("020106"), t.Format("150405"), math.Abs(p.Lat), ns, math.Abs(p.Lon), ew, valid,
		int(math.Round(p.SpeedKmh/mphKmh)), int(math.Round(p.Course)), p.EventSource, p.Verified, card, p.Index)
}
