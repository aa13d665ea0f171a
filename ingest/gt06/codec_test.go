package gt06

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRC(t *testing.T) {
	if got := CRC([]byte("123456789")); got != 0x906E {
		t.Fatalf("CRC(123456789) = %04X, want 906E", got)
	}
}

// Frames below come from Traccar's Gt06ProtocolDecoderTest / Gt06FrameDecoderTest and from
// device logs posted in Traccar issues (#1261, #5361, #5734).
func TestDecodeLogin(t *testing.T) {
	tests := []struct {
		frame  string
		imei   string
		typeID uint16
		offset *time.Duration
		serial uint16
	}{
		{"78780D01086471700328358100093F040D0A", "864717003283581", 0, nil, 0x0009},
		{"78780d010352887071911998000479d00d0a", "352887071911998", 0, nil, 0x0004},
		{"78780d01086047006787306105d4e2970d0a", "860470067873061", 0, nil, 0x05D4},
		{"787811010863586038760942a0010000010aa4000d0a", "863586038760942", 0xA001, new(time.Duration), 0x010A},
		// The login example of Concox's GT06 protocol manual; its CRC is right.
		{"78 78 0D 01 01 23 45 67 89 01 23 45 00 01 8C DD 0D 0A", "123456789012345", 0, nil, 0x0001},
	}
	for _, tt := range tests {
		p, err := ParseFrame(unhex(t, tt.frame))
		if err != nil {
			t.Fatalf("%s: %v", tt.frame, err)
		}
		l, err := DecodeLogin(p)
		if err != nil {
			t.Fatalf("%s: %v", tt.frame, err)
		}
		if l.IMEI != tt.imei || l.TypeID != tt.typeID || p.Serial != tt.serial {
			t.Errorf("%s: got IMEI %s type %04X serial %04X", tt.frame, l.IMEI, l.TypeID, p.Serial)
		}
		if (l.Zone != nil) != (tt.offset != nil) || tt.offset != nil && l.Offset != *tt.offset {
			t.Errorf("%s: zone %v offset %v, want offset %v", tt.frame, l.Zone, l.Offset, tt.offset)
		}
	}
}

func TestLoginTimeZone(t *testing.T) {
	tests := []struct {
		word   uint16
		offset time.Duration
	}{
		{0x3200, 8 * time.Hour}, // GMT+8: 800 << 4
		{0x3208, -8 * time.Hour},
		{0x4DD8, -(12*time.Hour + 45*time.Minute)}, // 1245 << 4 | west
		{0x2120, 5*time.Hour + 30*time.Minute},     // 530 << 4
		{0x0000, 0},
	}
	for _, tt := range tests {
		c := append(unhex(t, "0123456789012345 3612"), byte(tt.word>>8), byte(tt.word))
		l, err := DecodeLogin(Packet{Protocol: ProtoLogin, Content: c})
		if err != nil {
			t.Fatal(err)
		}
		if l.Offset != tt.offset {
			t.Errorf("word %04X: offset %v, want %v", tt.word, l.Offset, tt.offset)
		}
		_, off := time.Date(2024, 1, 1, 0, 0, 0, 0, l.Zone).Zone()
		if time.Duration(off)*time.Second != tt.offset {
			t.Errorf("word %04X: zone offset %ds", tt.word, off)
		}
		// Encoding gives the same word back.
		p, err := l.Packet(1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Content, c) {
			t.Errorf("word %04X: encoded % X, want % X", tt.word, p.Content, c)
		}
	}
	if _, err := DecodeLogin(Packet{Protocol: ProtoLogin, Content: unhex(t, "0123456789012345 3612 FFF0")}); !errors.Is(err, ErrMalformed) {
		t.Errorf("time zone 4095: err %v, want ErrMalformed", err)
	}
}

// The acknowledgements Traccar sent in the logs of issues #5361 and #1261.
func TestAck(t *testing.T) {
	tests := []struct {
		frame, ack string
	}{
		{"78780d01086047006787306105d4e2970d0a", "7878050105d426440d0a"},
		{"78780d01086047006787306105d6c1850d0a", "7878050105d605560d0a"},
		{"78780a13429205000205ccdab20d0a", "7878051305cc8aa00d0a"},
		{"78780a13429305000205daab2e0d0a", "7878051305daff170d0a"},
		{"78780a134606040002018006360d0a", "78780513018065a80d0a"},
	}
	for _, tt := range tests {
		p, err := ParseFrame(unhex(t, tt.frame))
		if err != nil {
			t.Fatalf("%s: %v", tt.frame, err)
		}
		if got := AppendAck(nil, p.Protocol, p.Serial); !bytes.Equal(got, unhex(t, tt.ack)) {
			t.Errorf("ack of %s = %X, want %s", tt.frame, got, tt.ack)
		}
	}
	// Issue #4439 shows a home-made login ack 78 78 05 01 00 17 5B 05 0D 0A; its CRC is wrong
	// (the tracker ignored it). The right one ends AC 6B.
	if got := AppendAck(nil, ProtoLogin, 0x0017); !bytes.Equal(got, unhex(t, "787805010017AC6B0D0A")) {
		t.Errorf("login ack serial 0x0017 = %X", got)
	}
	if _, err := ParseFrame(unhex(t, "7878050100175B050D0A")); !isReason(err, ReasonCRC) {
		t.Errorf("wrong-CRC ack parsed: %v", err)
	}
}

func isReason(err error, reason string) bool {
	var fe *FrameError
	return errors.As(err, &fe) && fe.Reason == reason
}

func TestDecodeLocation(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  Location
	}{{
		name:  "0x12 south-west, Traccar test",
		frame: "7878241216040e102c22cf00915ffb04c6016300195a02d402283b00753f400571040001dda4880d0a",
		want: Location{
			Time: time.Date(2022, 4, 14, 16, 44, 34, 0, time.UTC), GPSInfoLen: 12, Satellites: 15,
			Lat: -float64(0x00915ffb) / 1800000, Lon: -float64(0x04c60163) / 1800000, Course: 346, Positioned: true,
			HasLBS: true, LBS: LBS{MCC: 724, MNC: 2, LAC: 10299, CellID: 30015},
		},
	}, {
		name:  "0x12 north-east with ACC, Traccar test",
		frame: "787821121303120b2524c70138e363085b549003d43301940057d200cd52c000006aa1ca0d0a",
		want: Location{
			Time: time.Date(2019, 3, 18, 11, 37, 36, 0, time.UTC), GPSInfoLen: 12, Satellites: 7,
			Lat: float64(0x0138e363) / 1800000, Lon: float64(0x085b5490) / 1800000, SpeedKmh: 3, Course: 51,
			Positioned: true, ACCValid: true, ACC: true,
			HasLBS: true, LBS: LBS{MCC: 404, MNC: 0, LAC: 22482, CellID: 52562},
		},
	}, {
		name:  "0x12 issue #5734, ACC valid and low",
		frame: "78781f12190c1a04392dc502b1d88008238f42215561019446039f003b30068a5ffd0d0a",
		want: Location{
			Time: time.Date(2025, 12, 26, 4, 57, 45, 0, time.UTC), GPSInfoLen: 12, Satellites: 5,
			Lat: float64(0x02b1d880) / 1800000, Lon: float64(0x08238f42) / 1800000, SpeedKmh: 33, Course: 353,
			Positioned: true, ACCValid: true,
			HasLBS: true, LBS: LBS{MCC: 404, MNC: 70, LAC: 927, CellID: 15152},
		},
	}, {
		name:  "0x22, Traccar test",
		frame: "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A",
		want: Location{
			Time: time.Date(2015, 12, 29, 2, 51, 5, 0, time.UTC), GPSInfoLen: 12, Satellites: 9,
			Lat: float64(0x027ac818) / 1800000, Lon: float64(0x0c465860) / 1800000, Positioned: true, ACCValid: true,
			HasLBS: true, LBS: LBS{MCC: 460, MNC: 0, LAC: 10365, CellID: 8049},
		},
	}, {
		name:  "0x26 alarm with vibration status, Traccar test",
		frame: "7878252612030C063816C3026C10540C38C9700144030901CC002866000EEE0C06040302000DA2DB0D0A",
		want: Location{
			Time: time.Date(2018, 3, 12, 6, 56, 22, 0, time.UTC), GPSInfoLen: 12, Satellites: 3,
			Lat: float64(0x026c1054) / 1800000, Lon: float64(0x0c38c970) / 1800000, SpeedKmh: 1, Course: 3, ACCValid: true,
			HasLBS: true, LBS: LBS{MCC: 460, MNC: 0, LAC: 10342, CellID: 3822},
			HasStatus: true, Status: Status{TerminalInfo: 0x0C, Voltage: 6, GSMSignal: 4, Alarm: AlarmVibration, Language: 2},
		},
	}, {
		// The rows below are frames of traccarFrames decoded field by field, worked out by hand
		// from the layouts; the comments show the bytes.
		// 17 07 15 0F 2D 0E | CD | 01635100 | 041E96D0 | 00 | 087C: course 0x07C = 124, bit 10
		// clear (south), bit 11 set (west), bit 12 clear (not positioned) | 4G cell 02D4 02
		// 0000912E 000000000718798D | ACC 00, upload mode 0E, real time 00.
		name:  "Jimi JM-VL03 0xA0 4G location",
		frame: "787829a01707150f2d0ecd01635100041e96d000087c02d4020000912e000000000718798d000e0006ed3ce50d0a",
		want: Location{
			Time: time.Date(2023, 7, 21, 15, 45, 14, 0, time.UTC), GPSInfoLen: 12, Satellites: 13,
			Lat: -float64(0x01635100) / 1800000, Lon: -float64(0x041e96d0) / 1800000, Course: 124, ACCValid: true,
			HasLBS: true, LBS: LBS{MCC: 724, MNC: 2, LAC: 0x912e, CellID: 0x0718798d},
		},
	}, {
		// GPS | LBS length 08 (current firmware: the cell alone) 0280 05 0068 00124B | terminal
		// info 47 (ACC, charging), voltage 6, GSM 3, alarm 0x30 (harsh braking for Concox,
		// jamming on clones: no name), language 2.
		name:  "G18 0x16 alarm, LBS length 8",
		frame: "787825161a011c141001cf00bc62e0043533a231113808028005006800124b470603300204baa49a0d0a",
		want: Location{
			Time: time.Date(2026, 1, 28, 20, 16, 1, 0, time.UTC), GPSInfoLen: 12, Satellites: 15,
			Lat: -float64(0x00bc62e0) / 1800000, Lon: float64(0x043533a2) / 1800000, SpeedKmh: 49, Course: 312, Positioned: true,
			HasLBS: true, LBS: LBS{MCC: 640, MNC: 5, LAC: 0x68, CellID: 0x124b},
			HasStatus: true, Status: Status{TerminalInfo: 0x47, Voltage: 6, GSMSignal: 3, Alarm: 0x30, Language: 2},
		},
	}, {
		// GPS, course/status 5C21: course 33, north, west, positioned, ACC valid and off | LBS
		// length 09, then SEEWORLD's cell with a 4-byte id: 0136 04 81FE 066D9B03 | terminal info
		// 41, battery 0x3E = 62 %, GSM 0x42, alarm 01 SOS, language 2.
		name:  "Seeworld 0x16 SOS",
		frame: "787826161709130f3a2dcc02c55f2a089f9af9005c210901360481fe066d9b03413e420102035f92fe0d0a",
		want: Location{
			Time: time.Date(2023, 9, 19, 15, 58, 45, 0, time.UTC), GPSInfoLen: 12, Satellites: 12,
			Lat: float64(0x02c55f2a) / 1800000, Lon: -float64(0x089f9af9) / 1800000, Course: 33, Positioned: true, ACCValid: true,
			HasLBS: true, LBS: LBS{MCC: 310, MNC: 4, LAC: 0x81fe, CellID: 0x066d9b03},
			HasStatus: true, Status: Status{TerminalInfo: 0x41, Voltage: 62, GSMSignal: 0x42, Alarm: AlarmSOS, Language: 2},
		},
	}, {
		// VXT-01's layout (31 bytes): GPS | cell without length byte 0172 02 5336 0027DB |
		// terminal info 62 (ACC, SOS in bits 3–5, GPS on), battery 4, GSM E4, a byte that is no
		// alarm code, language 00.
		name:  "R31 0x16 SOS in the terminal info",
		frame: "7878241617070a150e24ca01fba0040780e177005c0001720253360027db6204e40400004bf1e90d0a",
		want: Location{
			Time: time.Date(2023, 7, 10, 21, 14, 36, 0, time.UTC), GPSInfoLen: 12, Satellites: 10,
			Lat: float64(0x01fba004) / 1800000, Lon: -float64(0x0780e177) / 1800000, Positioned: true, ACCValid: true,
			HasLBS: true, LBS: LBS{MCC: 370, MNC: 2, LAC: 0x5336, CellID: 0x27db},
			HasStatus: true, Status: Status{TerminalInfo: 0x62, Voltage: 4, GSMSignal: 0xe4},
		},
	}, {
		// source 01 | IMEI 0357789648774484 | device time 180C06142038 | GPS 180C06142038 CB
		// 03313EE4 061FE983 00 185E (course 94, south, west, positioned) | LBS length 09 and a
		// zero cell | terminal info 46, supply 0984 = 24.36 V, battery 0x28 = 4.0 V, RSSI 4C,
		// alarm 00, language 02, odometer 000000, hours 000171.
		name:  "X3TECH NT20 0x22",
		frame: "78783c22010357789648774484180c06142038180c06142038cb03313ee4061fe98300185e090000000000000000460984284c000200000000017101d6f35d0d0a",
		want: Location{
			Time: time.Date(2024, 12, 6, 20, 32, 56, 0, time.UTC), GPSInfoLen: 12, Satellites: 11,
			Lat: -float64(0x03313ee4) / 1800000, Lon: -float64(0x061fe983) / 1800000, Course: 94, Positioned: true,
			HasStatus: true, Status: Status{TerminalInfo: 0x46, Voltage: NoVoltage, GSMSignal: 0x4c, Language: 2},
			Attrs: map[string]any{"power_v": 24.36, "battery_v": 4.0, "odometer_m": 0},
		},
	}, {
		// NT prefix | GPS 190909100E0F BF 02846FE8 05078C90 00 1800 | LBS length 0A: 02D4 10 C80B
		// 0C352C17 and a byte | terminal info 46, supply 0511 = 12.97 V, battery 0x2A = 4.2 V,
		// RSSI 47, alarm 00, language 02, odometer, hours | driver: length 0F, type 01, id.
		name:  "XT40 (X25) 0x25 driver",
		frame: "78784e25010356354871186947190909100e0f190909100e0fbf02846fe805078c900018000a02d410c80b0c352c17044605112a4700020000000005840f0102353130303635383036424446030113ed780d0a",
		want: Location{
			Time: time.Date(2025, 9, 9, 16, 14, 15, 0, time.UTC), GPSInfoLen: 11, Satellites: 15,
			Lat: -float64(0x02846fe8) / 1800000, Lon: -float64(0x05078c90) / 1800000, Positioned: true,
			HasLBS: true, LBS: LBS{MCC: 724, MNC: 16, LAC: 0xc80b, CellID: 0x0c352c17},
			HasStatus: true, Status: Status{TerminalInfo: 0x46, Voltage: NoVoltage, GSMSignal: 0x47, Language: 2},
			Attrs: map[string]any{"power_v": 12.97, "battery_v": 4.2, "odometer_m": 0, "driver_id": "0235313030363538303642444603"},
		},
	}, {
		// IMEI 0866703066502297 | GPS 1A020C0A1E32 C6 01727C1C 0F89AF00 2C 14FA (course 250,
		// north, east, positioned) | cell 0136 6E 0001 00010C. Guam.
		name:  "QH302R 0x12 with its IMEI first",
		frame: "7878271208667030665022971a020c0a1e32c601727c1c0f89af002c14fa01366e000100010c003c1fdd0d0a",
		want: Location{
			Time: time.Date(2026, 2, 12, 10, 30, 50, 0, time.UTC), GPSInfoLen: 12, Satellites: 6,
			Lat: float64(0x01727c1c) / 1800000, Lon: float64(0x0f89af00) / 1800000, SpeedKmh: 44, Course: 250, Positioned: true,
			HasLBS: true, LBS: LBS{MCC: 310, MNC: 110, LAC: 1, CellID: 0x10c},
		},
	}, {
		// GPS | LBS length 11: 4G cell 81CC (bit 15: a 2-byte MNC) 0001 0000260E
		// 000000000615F801 | terminal info 2C, voltage 5, GSM 4, alarm 11 power off, language 02
		// (high nibble 0: the code stays 0x11) | fence FF.
		name:  "Concox GK310 0xA4 multi-fence alarm",
		frame: "78782ea4110c0c02281bf6026c18720c38d22800149c1181cc00010000260e000000000615f8012c05041102ff001058fd0d0a",
		want: Location{
			Time: time.Date(2017, 12, 12, 2, 40, 27, 0, time.UTC), GPSInfoLen: 15, Satellites: 6,
			Lat: float64(0x026c1872) / 1800000, Lon: float64(0x0c38d228) / 1800000, Course: 156, Positioned: true,
			HasLBS: true, LBS: LBS{MCC: 460, MNC: 1, LAC: 0x260e, CellID: 0x0615f801},
			HasStatus: true, Status: Status{TerminalInfo: 0x2c, Voltage: 5, GSMSignal: 4, Alarm: AlarmPowerOff, Language: 2},
		},
	}, {
		// IMEI | GPS 190A1E0D3806 C8 02B0EB0F 0561ECDC 00 D800 (course 0, south, west,
		// positioned, ACC on) | cell 02D4 04 0000 04215F0E | key 00000139 5581: 0x139 << 16 |
		// 0x5581 = 20534657.
		name:  "DT16E 0x61 iButton",
		frame: "78782e610869412070143950190a1e0d3806c802b0eb0f0561ecdc00d80002d404000004215f0e000001395581000d1ca60d0a",
		want: Location{
			Time: time.Date(2025, 10, 30, 13, 56, 6, 0, time.UTC), GPSInfoLen: 12, Satellites: 8,
			Lat: -float64(0x02b0eb0f) / 1800000, Lon: -float64(0x0561ecdc) / 1800000, Positioned: true, ACCValid: true, ACC: true,
			HasLBS: true, LBS: LBS{MCC: 724, MNC: 4, CellID: 0x04215f0e},
			Attrs: map[string]any{"driver_id": "20534657"},
		},
	}, {
		// modules: 0033 (18 bytes) 5D7E3A18 = 2019-09-15 13:18:16 UTC, 6 satellites, altitude
		// 00D5 = 213 m, 04B598F7, 08814B3A, speed 00, 1D15 (course 277, north, west,
		// positioned); 0034 event 12 (removed); 0011 a cell with a zero id; 0003 ICCID; 0018
		// battery 0172 = 3.70 V.
		name:  "CT10 0x70 modular location",
		frame: "797900a87000000001020035000101003300125d7e3a180600d504b598f708814b3a001d1500340006125d7e39dc000011000a012e02620000000000000001000803537601000129800002000803102608593397620003000a89012608522933976266001800020172002b000114002c00045d7df3c70009000106000a000109002800010d002e00040000f25d002a000111002900040000017e0030000a000100b4000a00b402d0000591250d0a",
		want: Location{
			Time: time.Date(2019, 9, 15, 13, 18, 16, 0, time.UTC), Satellites: 6, AltitudeM: 213,
			Lat: float64(0x04b598f7) / 1800000, Lon: -float64(0x08814b3a) / 1800000, Course: 277, Positioned: true,
			Flags: []string{"tamper"},
			Attrs: map[string]any{"iccid": "89012608522933976266", "battery_v": 3.70},
		},
	}, {
		// FFFF, version 01 | 180B0D031406 | satellites DA | 04B5AB0D | 08813DF0 | status 1CA9
		// (course 169, north, west, positioned) | speed 002C = 44 | supply 008A = 13.8 V | event
		// 92 (sharp turn), data 0000 | the event's video files.
		name:  "Jimi JC261/JC400 0x95 alarm",
		frame: "78789795ffff01180b0d031406da04b5ab0d08813df01ca9002c008a9200004556454e545f3836323739383035323432393038375f30303030303030305f323032345f31315f31325f32325f32305f30365f495f35362e6d70342c4556454e545f3836323739383035323432393038375f30303030303030305f323032345f31315f31325f32325f32305f30365f465f35352e6d70340037d45b0d0a",
		want: Location{
			Time: time.Date(2024, 11, 13, 3, 20, 6, 0, time.UTC), Satellites: 10,
			Lat: float64(0x04b5ab0d) / 1800000, Lon: -float64(0x08813df0) / 1800000, SpeedKmh: 44, Course: 169, Positioned: true,
			Flags: []string{"sharp_turn"},
			Attrs: map[string]any{"power_v": 13.8, "event_code": 0x92},
		},
	}, {
		// server flag 00000000, ASCII 01, "Current position!Lat:N54.739332,Lon:E25.273270,
		// Course:126.53,Speed:0.0000,DateTime:2017-05-26  10:27:47".
		name:  "GT06 0x21 answer to WHERE",
		frame: "7979007121000000000143757272656e7420706f736974696f6e214c61743a4e35342e3733393333322c4c6f6e3a4532352e3237333237302c436f757273653a3132362e35332c53706565643a302e303030302c4461746554696d653a323031372d30352d3236202031303a32373a3437000bbee30d0a",
		want: Location{
			Time: time.Date(2017, 5, 26, 10, 27, 47, 0, time.UTC), Lat: 54.739332, Lon: 25.273270, Course: 126, Positioned: true,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseFrame(unhex(t, tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeLocation(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatusFlags(t *testing.T) {
	tests := []struct {
		s    Status
		want []string
	}{
		{Status{TerminalInfo: 0x0C, Alarm: AlarmVibration}, []string{"charging", "vibration"}},
		{Status{TerminalInfo: 0x22 | 0x80}, []string{"acc_on", "oil_cut", "sos"}},
		{Status{Alarm: AlarmPowerCut}, []string{"power_cut"}},
		{Status{Alarm: AlarmFenceIn}, []string{"fence_in"}},
		{Status{Alarm: AlarmFenceOut}, []string{"fence_out"}},
		{Status{Alarm: AlarmOverspeed}, []string{"overspeed"}},
		{Status{Alarm: AlarmSOS}, []string{"sos"}},
		{Status{}, nil},
	}
	for _, tt := range tests {
		if got := tt.s.Flags(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: flags %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestZoneAppliesToGPSTime(t *testing.T) {
	zone := time.FixedZone("UTC+8", 8*3600)
	utc := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	p, err := Location{Time: utc, Lat: 43.65, Lon: 111.97, Positioned: true}.Packet(ProtoGPS, 7, zone)
	if err != nil {
		t.Fatal(err)
	}
	if p.Content[3] != 10 { // the hour on the wire is local
		t.Fatalf("hour on the wire %d, want 10", p.Content[3])
	}
	got, err := DecodeLocation(p, zone)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(utc) || got.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v", got.Time, utc)
	}
	if got, _ := DecodeLocation(p, nil); !got.Time.Equal(utc.Add(8 * time.Hour)) {
		t.Errorf("without zone: %v", got.Time)
	}
}

func TestRoundTrip(t *testing.T) {
	base := Location{
		Time: time.Date(2026, 11, 28, 4, 17, 18, 0, time.UTC), GPSInfoLen: 12, Satellites: 9,
		SpeedKmh: 62, Course: 178, Positioned: true, ACCValid: true, ACC: true,
		LBS: LBS{MCC: 460, MNC: 1, LAC: 0x287D, CellID: 0x1F71AB},
	}
	coords := [][2]float64{{43.6526, 111.9773}, {-33.8688, 151.2093}, {40.7128, -74.006}, {-34.6037, -58.3816}, {0, 0}, {90, 180}, {-90, -180}}
	for _, proto := range []byte{ProtoGPS, ProtoGPSLBS, ProtoGPSLBS2, ProtoAlarm, ProtoAlarm2} {
		for _, c := range coords {
			in := base
			in.Lat, in.Lon = c[0], c[1]
			in.HasLBS = proto != ProtoGPS
			if !in.HasLBS {
				in.LBS = LBS{}
			}
			if proto == ProtoAlarm || proto == ProtoAlarm2 {
				in.HasStatus, in.Status = true, Status{TerminalInfo: 0x46, Voltage: 4, GSMSignal: 3, Alarm: AlarmSOS, Language: 2}
			}
			p, err := in.Packet(proto, 0x1234, nil)
			if err != nil {
				t.Fatal(err)
			}
			frame := AppendFrame(nil, p)
			q, err := ParseFrame(frame)
			if err != nil {
				t.Fatalf("0x%02X %v: %v", proto, c, err)
			}
			out, err := DecodeLocation(q, nil)
			if err != nil {
				t.Fatalf("0x%02X %v: %v", proto, c, err)
			}
			if math.Abs(out.Lat-in.Lat) > 1e-6 || math.Abs(out.Lon-in.Lon) > 1e-6 {
				t.Errorf("0x%02X: position %v,%v, want %v,%v", proto, out.Lat, out.Lon, in.Lat, in.Lon)
			}
			out.Lat, out.Lon = in.Lat, in.Lon
			if !reflect.DeepEqual(out, in) {
				t.Errorf("0x%02X %v:\n got %+v\nwant %+v", proto, c, out, in)
			}
		}
	}
	l := Login{IMEI: "860470067873061"}
	p, err := l.Packet(0x05D4)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendFrame(nil, p); !bytes.Equal(got, unhex(t, "78780d01086047006787306105d4e2970d0a")) {
		t.Errorf("login frame %X", got)
	}
	hb := Status{TerminalInfo: 0x42, Voltage: 0x92, GSMSignal: 5, Alarm: 0, Language: 2}.Packet(0x05CC)
	if got := AppendFrame(nil, hb); !bytes.Equal(got, unhex(t, "78780a13429205000205ccdab20d0a")) {
		t.Errorf("heartbeat frame %X", got)
	}
	if got, err := DecodeStatus(hb); err != nil || got.Voltage != 0x92 {
		t.Errorf("DecodeStatus = %+v, %v", got, err)
	}
}

func TestParseFrameErrors(t *testing.T) {
	good := "78781f12190c1a04392dc502b1d88008238f42215561019446039f003b30068a5ffd0d0a"
	tests := []struct {
		name, frame, reason string
	}{
		{"bad CRC", strings.Replace(good, "5ffd0d0a", "5ffe0d0a", 1), ReasonCRC},
		{"flipped content bit", strings.Replace(good, "c502b1d8", "c502b1d9", 1), ReasonCRC},
		{"length off", "78781e" + good[6:], ReasonMalformed},
		{"no stop", good[:len(good)-4] + "0d0b", ReasonMalformed},
		{"short", "787805", ReasonMalformed},
		// A variant without CRC (Traccar Gt06FrameDecoderTest): its length does not match.
		{"no CRC variant", "7878121011091c0b1e2e98058507f80097a6ac03344a0d0a", ReasonMalformed},
	}
	for _, tt := range tests {
		if _, err := ParseFrame(unhex(t, tt.frame)); !isReason(err, tt.reason) {
			t.Errorf("%s: err %v, want %s", tt.name, err, tt.reason)
		}
	}
}

func TestDecodeLocationMalformed(t *testing.T) {
	for _, c := range []string{
		"",
		"0F0C1D023305C9027AC8180C4658600014",   // one byte short of GPS
		"000000000000C9027AC8180C465860001400", // month 0
		"0F0C1D023305C9FFFFFFFF0C465860001400", // latitude above 90
		"0F0C1D023305C9027AC8180C46586000140001CC00287D", // LBS cut
	} {
		if _, err := DecodeLocation(Packet{Protocol: ProtoGPSLBS, Content: unhex(t, c)}, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", c, err)
		}
	}
	if _, err := DecodeLocation(Packet{Protocol: ProtoAlarm, Content: unhex(t, "0F0C1D023305C9027AC8180C465860001400 20 01CC00287D001F71 0000000000")}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("LBS length beyond content: %v", err)
	}
}

func TestReader(t *testing.T) {
	login := unhex(t, "78780d01086047006787306105d4e2970d0a")
	gps := unhex(t, "78781f12190c1a04392dc502b1d88008238f42215561019446039f003b30068a5ffd0d0a")
	hb := unhex(t, "78780a13429205000205ccdab20d0a")
	badCRC := bytes.Clone(hb)
	badCRC[5] ^= 0x01
	long := AppendFrame(nil, Packet{Protocol: 0x94, Content: make([]byte, 300)}) // 79 79, 311 bytes
	var stream []byte
	stream = append(stream, "GET / HTTP/1.0\r\n"...) // garbage
	stream = append(stream, login...)
	stream = append(stream, 0x78, 0x00, 0x79) // lone start bytes
	stream = append(stream, gps...)
	stream = append(stream, badCRC...)
	stream = append(stream, long...)
	stream = append(stream, 0x78, 0x78, 0x05, 0x01) // start of a frame cut short after a resync
	stream = append(stream, hb...)

	for _, r := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(stream)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(stream))},
		{"half", iotest.HalfReader(bytes.NewReader(stream))},
	} {
		t.Run(r.name, func(t *testing.T) {
			fr := NewReader(r.r, 256)
			var got []string
			for {
				p, err := fr.Next()
				if err == io.EOF {
					break
				}
				var fe *FrameError
				if errors.As(err, &fe) {
					got = append(got, fe.Reason)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, hex.EncodeToString([]byte{p.Protocol}))
			}
			want := []string{"01", "12", "crc", "too_large", "malformed", "13"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if fr.Skipped() == 0 {
				t.Error("no garbage skipped")
			}
		})
	}
	fr := NewReader(bytes.NewReader(stream), 0)
	n := 0
	for {
		p, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err == nil && p.Protocol == 0x94 && p.Extended && len(p.Content) == 300 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("default size: %d long frames read, want 1", n)
	}
	fr = NewReader(bytes.NewReader(login[:10]), 0)
	if _, err := fr.Next(); err != io.ErrUnexpectedEOF {
		t.Errorf("cut frame: %v, want io.ErrUnexpectedEOF", err)
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := unhex(b, "7878252612030C063816C3026C10540C38C9700144030901CC002866000EEE0C06040302000DA2DB0D0A")
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		p, err := ParseFrame(frame)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeLocation(p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	frame := unhex(b, "78781f12190c1a04392dc502b1d88008238f42215561019446039f003b30068a5ffd0d0a")
	stream := bytes.Repeat(frame, 1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream), 0)
		for {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeLocation(p, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
