package jt808

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// realWire returns the wire form of the i-th frame of realFrames whose source names commit.
func realWire(t *testing.T, commit string, i int) string {
	t.Helper()
	for _, rf := range realFrames {
		if strings.Contains(rf.source, commit) {
			if i == 0 {
				return rf.wire
			}
			i--
		}
	}
	t.Fatalf("no frame %d of %s", i, commit)
	return ""
}

func TestDecodePassThrough(t *testing.T) {
	tests := []struct {
		name   string
		frame  string
		typ    byte
		hasLoc bool
		loc    Location
		attrs  map[string]any
	}{
		{
			name: "Concox VL502 OBD data stream (traccar 823795e40)", frame: realWire(t, "823795e40", 0), typ: PassOBD,
			hasLoc: true,
			loc:    Location{Status: 0x000c0003, Lat: 23.111772, Lon: 114.409784, Time: utc("2022-04-27T22:10:09Z")},
			attrs: map[string]any{"fuel_percent": 80, "fuel_used_l": 12165.21, "coolant_temp_c": 67, "power_v": 12.73,
				"obd_speed_kmh": 0.0, "rpm": 952, "obd_odometer_km": 1000085.7, "obd_0x052e": "4f", "obd_0x0538": "0000",
				"obd_0x0539": "00ad", "obd_0x053d": "01ea", "obd_0x0544": "50", "obd_0x0545": "0000001e"},
		},
		{
			name: "Concox VL502 fault codes from history (traccar b2e889abf): two times, no position", frame: realWire(t, "b2e889abf", 0),
			typ: PassOBD, attrs: map[string]any{"dtcs": "P1457", "history": true},
		},
		{
			name: "Concox VL502 alarm from history (traccar 333159375): two times, no position", frame: realWire(t, "333159375", 0),
			typ: PassOBD, attrs: map[string]any{"obd_alarms": "56", "history": true},
		},
		{
			name: "Naturelink NL12 OBD over serial (traccar 2763d8f58)", frame: realWire(t, "2763d8f58", 0), typ: PassSerial1,
			attrs: map[string]any{"power_v": 12.3, "rpm": 0.0, "obd_speed_kmh": 20.0, "throttle_percent": 0.0,
				"engine_load_percent": 0.0, "coolant_temp_c": 0.0, "obd_odometer_km": 181.0, "fuel_used_l": 565.96},
		},
		{
			name: "AOVX GL100 sensors (traccar 68701664d)", frame: realWire(t, "68701664d", 2), typ: PassSensors, hasLoc: true,
			loc: Location{Status: 0x10000000, Time: utc("2024-01-11T19:46:40Z")},
			attrs: map[string]any{"light": 3137, "device_temp_c": 24.4, "humidity_percent": 28.4, "probe_temp_c": 24.3,
				"air_pressure": 1022},
		},
		{
			// Constructed: the RMC sentence is the NMEA 0183 example every NMEA reference quotes;
			// no published capture of a type 0x00 pass-through was found.
			name:  "GNSS detail, NMEA RMC (constructed)",
			frame: gnssFrame(t, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"),
			typ:   PassGNSS, hasLoc: true,
			loc: Location{Status: StatusPositioned, Lat: 48 + 7.038/60, Lon: 11 + 31.0/60, SpeedKmh: 22.4 * 1.852, Heading: 84.4,
				Time: utc("1994-03-23T12:35:19Z")},
		},
		{
			name: "smallchi vendor type 0x83: kept, not known", frame: "7E09000009000123456789000A83736D616C6C6368691D7E", typ: 0x83,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeWire(t, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodePassThrough(f.Body)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tt.typ || p.HasLoc != tt.hasLoc || p.Known() != (tt.typ != 0x83) {
				t.Fatalf("type %#x hasLoc %v known %v", p.Type, p.HasLoc, p.Known())
			}
			if p.HasLoc && !reflect.DeepEqual(p.Loc, tt.loc) {
				t.Errorf("location\n got %+v\nwant %+v", p.Loc, tt.loc)
			}
			if !reflect.DeepEqual(p.Attrs, tt.attrs) {
				t.Errorf("attrs\n got %v\nwant %v", p.Attrs, tt.attrs)
			}
		})
	}
}

// gnssFrame wraps NMEA text in a 0x0900 of type 0x00.
func gnssFrame(t *testing.T, nmea string) string {
	h := Header{MsgID: MsgPassThrough, Phone: mustPhone("13912344329", false)}
	b, err := AppendFrame(nil, &h, append([]byte{PassGNSS}, nmea...))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestParseRMCRejects(t *testing.T) {
	for _, s := range []string{
		"$GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*7D", // no fix
		"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6B", // checksum
		"$GPRMC,123519,A,9107.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6E", // latitude 91
		"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,320394,003.1,W*6B", // day 32
		"$GPRMC,123519,A,4807.038,X,01131.000,E,022.4,084.4,230394,003.1,W*7C", // hemisphere
		"$GPRMC,123519,A,4807.038,N*",
		"$GPRMC",
	} {
		if l, ok := parseRMC(s); ok {
			t.Errorf("%s: accepted %+v", s, l)
		}
	}
}

func TestDecodePassThroughErrors(t *testing.T) {
	for name, body := range map[string]string{
		"empty":                 "",
		"OBD cut short":         "f0220428061009",
		"OBD time not BCD":      "f02204280610fa000201",
		"OBD stream item cut":   "f02204280610090002010d052b02",
		"OBD position cut":      "f0220428061009000201010535020000000c0003",
		"sensors cut":           "54" + strings.Repeat("00", 20),
		"sensor sample cut":     "54" + strings.Repeat("00", 18) + "240112034640" + "001f2401120345210c41",
		"sensor mask unknown":   "54" + strings.Repeat("00", 18) + "240112034640" + "0020240112034521",
		"tag cut":               "53" + strings.Repeat("00", 18) + "240112034640" + "0100aabbcc0011",
		"tag data longer":       "53" + strings.Repeat("00", 18) + "240112034640" + "0100aabbcc001122bd0b04",
		"fault code text cut":   "f02305151230460102020001ffffffff00010000145700000002000650",
		"alarm value past body": "f023022315021501020301380500",
	} {
		if _, err := DecodePassThrough(unhex(t, body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestDecodeLocationList(t *testing.T) {
	// Xinchun's hibernation report (traccar 720dc3579): battery 79 %, no position.
	f, err := decodeWire(t, realWire(t, "720dc3579", 0))
	if err != nil {
		t.Fatal(err)
	}
	items, battery, err := DecodeLocationList(f.Body)
	if err != nil || items != nil || battery != 79 {
		t.Errorf("sleep report: %d items, battery %d, %v", len(items), battery, err)
	}
	// HHD's batch (traccar bc2eb6ab6): eight locations, encoded back byte for byte.
	if f, err = decodeWire(t, realWire(t, "bc2eb6ab6", 0)); err != nil {
		t.Fatal(err)
	}
	if items, _, err = DecodeLocationList(f.Body); err != nil || len(items) != 8 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	if enc, err := AppendLocationList(nil, items...); err != nil || !bytes.Equal(enc, f.Body) {
		t.Errorf("round trip: %v", err)
	}
	item := AppendLocation(nil, &Location{Time: utc("2024-01-02T03:04:05Z")})
	for name, body := range map[string][]byte{
		"empty":            nil,
		"item too short":   append([]byte{27}, item[:27]...),
		"item cut":         append([]byte{28}, item[:20]...),
		"sleep time bad":   unhex(t, "4f2606180229fa"),
		"trailing length":  append(append([]byte{28}, item...), 28),
		"length over body": append([]byte{200}, item...),
	} {
		if _, _, err := DecodeLocationList(body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := AppendLocationList(nil, make([]byte, 256)); err == nil {
		t.Error("item of 256 bytes encoded")
	}
}
