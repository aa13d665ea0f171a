package gt06

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Heartbeat is the content of the heartbeat of GK310, EG02, EG03 and the 4G models (0x23).
type Heartbeat struct {
	TerminalInfo byte    // as in Status
	PowerV       float64 // external supply voltage; 0 when not sent
	GSMSignal    byte    // 0 when not sent
}

// DecodeHeartbeat decodes a heartbeat (0x23): terminal information, external voltage WORD
// (1/100 V) and GSM signal when present (Concox's protocol V3.1, §2.1).
func DecodeHeartbeat(p Packet) (Heartbeat, error) {
	c := p.Content
	if len(c) < 1 {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat without content", ErrMalformed)
	}
	h := Heartbeat{TerminalInfo: c[0]}
	if len(c) >= 3 {
		h.PowerV = float64(binary.BigEndian.Uint16(c[1:])) / 100
	}
	if len(c) >= 4 {
		h.GSMSignal = c[3]
	}
	return h, nil
}

// DecodeInfo decodes an information packet (0x94) into attributes named as in
// tracker.Fix.Attrs. The short form (78 78) carries the supply voltage; the extended one a
// sub-type: 0x00 supply voltage, 0x04 the terminal's status text, 0x05 door, 0x0A IMEI, IMSI
// and ICCID, 0x0B network or supply voltage, 0x1B a serial reader's text or driver id, 0x1E
// temperature and humidity. Other sub-types are kept raw ("info_type", "data").
func DecodeInfo(p Packet) (map[string]any, error) {
	c := p.Content
	if !p.Extended {
		if len(c) < 2 {
			return nil, fmt.Errorf("%w: information with %d content bytes", ErrMalformed, len(c))
		}
		return map[string]any{"power_v": float64(int16(binary.BigEndian.Uint16(c))) / 100}, nil
	}
	if len(c) < 1 {
		return nil, fmt.Errorf("%w: information without sub-type", ErrMalformed)
	}
	sub, c := c[0], c[1:]
	short := fmt.Errorf("%w: information 0x%02X with %d bytes", ErrMalformed, sub, len(c))
	switch sub {
	case 0x00:
		if len(c) < 2 {
			return nil, short
		}
		return map[string]any{"power_v": float64(binary.BigEndian.Uint16(c)) / 100}, nil
	case 0x04:
		return map[string]any{"status_text": printable(c)}, nil
	case 0x05:
		if len(c) >= 7 { // device time, then the flags
			c = c[6:]
		}
		if len(c) < 1 {
			return nil, short
		}
		return map[string]any{"door": c[0]&0x01 != 0}, nil
	case 0x0A:
		if len(c) < 2*imeiLen+10 {
			return nil, short
		}
		a := map[string]any{"iccid": strings.TrimRight(hex.EncodeToString(c[2*imeiLen:2*imeiLen+10]), "f")}
		if isIMEI(c) {
			imei, _ := bcdDigits(c[:imeiLen])
			a["imei"] = imei[1:]
		}
		if isIMEI(c[imeiLen:]) {
			imsi, _ := bcdDigits(c[imeiLen : 2*imeiLen])
			a["imsi"] = imsi[1:]
		}
		return a, nil
	case 0x0B:
		switch len(c) {
		case 1:
			network := "2G"
			if c[0] > 0 {
				network = "4G"
			}
			return map[string]any{"network": network}, nil
		case 2:
			return map[string]any{"power_v": float64(binary.BigEndian.Uint16(c)) / 100}, nil
		}
		return nil, short
	case 0x1B:
		if len(c) > 0 && c[0] < 0x80 && unicode.IsLetter(rune(c[0])) {
			return map[string]any{"serial": printable([]byte(strings.TrimSpace(string(c))))}, nil
		}
		if len(c) < 6 { // header, type, id DWORD
			return nil, short
		}
		return map[string]any{"driver_id": hex.EncodeToString(c[2:6])}, nil
	case 0x1E:
		if len(c) < 8 {
			return nil, short
		}
		return map[string]any{
			"temperature_c": float64(int32(binary.BigEndian.Uint32(c))) / 10,
			"humidity_pct":  float64(int32(binary.BigEndian.Uint32(c[4:]))) / 10,
		}, nil
	}
	return map[string]any{"info_type": int(sub), "data": hex.EncodeToString(c)}, nil
}

// printable returns b as text with bytes outside printable ASCII replaced, so a log line or an
// attribute never carries control characters from a device.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E {
			return '.'
		}
		return r
	}, string(b))
}

// AlarmReport is an alarm that carries no position: 0x19 (a 2G cell and the status block),
// 0xA5 (a 4G cell and the status block) or the short 0x95 (date-time and event).
type AlarmReport struct {
	Time   time.Time // the short 0x95's, UTC; zero for 0xA5
	Flags  []string
	Code   int // the alarm or event code
	HasLBS bool
	LBS    LBS
}

// DecodeAlarmReport decodes an alarm without position (0x19, 0xA5, short 0x95). Times are in
// zone (UTC when nil). It returns ErrNoPosition for a 0x19 that is a list of cells (Space10X).
func DecodeAlarmReport(p Packet, zone *time.Location) (AlarmReport, error) {
	c := p.Content
	switch p.Protocol {
	case ProtoLBSAlarm, ProtoLBSAlarm4G:
		n := cell4GLen(c)
		if p.Protocol == ProtoLBSAlarm {
			n = lbsLen
			if len(c) >= 1 && c[0]&0x80 != 0 {
				n++ // a 2-byte MNC
			}
			if len(c) != n+statusLen {
				return AlarmReport{}, ErrNoPosition
			}
		}
		if len(c) < n+statusLen {
			return AlarmReport{}, fmt.Errorf("%w: 0x%02X with %d content bytes", ErrMalformed, p.Protocol, len(c))
		}
		var a AlarmReport
		a.LBS, a.HasLBS = decodeCell(c[:n], false)
		s := decodeStatus(c[n:])
		a.Flags, a.Code = s.Flags(), int(s.Alarm)
		return a, nil
	case ProtoEventAlarm:
		if len(c) != 7 {
			return AlarmReport{}, fmt.Errorf("%w: 0x95 without position has %d content bytes", ErrMalformed, len(c))
		}
		t, err := decodeTime(c, zone)
		if err != nil {
			return AlarmReport{}, err
		}
		a := AlarmReport{Time: t, Code: int(c[6])}
		if name := EventAlarmName(c[6], false); name != "" {
			a.Flags = []string{name}
		}
		return a, nil
	}
	return AlarmReport{}, fmt.Errorf("gt06: protocol 0x%02X is not an alarm without position", p.Protocol)
}

// AppendTimeReply appends the answer to a time request (0x8A) to dst: now in UTC, which the
// device sets its clock from, and the request's serial, as every answer echoes it.
func AppendTimeReply(dst []byte, serial uint16, now time.Time) []byte {
	t := now.UTC()
	return AppendFrame(dst, Packet{
		Protocol: ProtoTime,
		Content:  []byte{byte(t.Year() - 2000), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())},
		Serial:   serial,
	})
}
