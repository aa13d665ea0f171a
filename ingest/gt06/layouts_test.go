package gt06

import (
	"reflect"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestTraccarFramesByHand decodes frames of Traccar's test (rows of traccarFrames) field by
// field, the expected values worked out by hand from the layouts; the comments show the bytes.
func TestTraccarFramesByHand(t *testing.T) {
	tests := []struct {
		name, frame string
		want        Location
	}{{
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

// TestToFixOfModelLayouts: what the layouts add reaches the fix as flags and attributes.
func TestToFixOfModelLayouts(t *testing.T) {
	dev := tracker.Device{ID: "860470067873061", VehicleID: "truck-7"}
	tests := []struct {
		name, frame string
		flags       []string
		attrs       map[string]any
	}{
		{"Seeworld 0x16 SOS", "787826161709130f3a2dcc02c55f2a089f9af9005c210901360481fe066d9b03413e420102035f92fe0d0a",
			[]string{"sos"}, map[string]any{"battery_pct": 62, "alarm_code": 1, "gsm_signal": 0x42}},
		{"R31 0x16 SOS", "7878241617070a150e24ca01fba0040780e177005c0001720253360027db6204e40400004bf1e90d0a",
			[]string{"acc_on", "sos"}, map[string]any{"voltage_level": 4}},
		{"Concox GK310 0xA4 power off", "78782ea4110c0c02281bf6026c18720c38d22800149c1181cc00010000260e000000000615f8012c05041102ff001058fd0d0a",
			[]string{"charging", "power_off"}, map[string]any{"mcc": 460, "mnc": 1, "lac": 0x260e, "cell_id": 0x0615f801, "alarm_code": 0x11}},
		{"Jimi IoT 0xA4 tamper", "78782da41a0509160203cf05be31f80c306530001c0010012ed000007ef40000000006428b074205041302ff0009389c0d0a",
			[]string{"acc_on", "tamper"}, map[string]any{"mcc": 302, "mnc": 0xd0, "cell_id": 0x06428b07}},
		{"G18 0x16 alarm 0x30, named differently by makes", "787825161a011c141001cf00bc62e0043533a231113808028005006800124b470603300204baa49a0d0a",
			[]string{"acc_on", "charging"}, map[string]any{"alarm_code": 0x30}},
		{"X3TECH NT20 0x22", "78783c22010357789648774484180c06142038180c06142038cb03313ee4061fe98300185e090000000000000000460984284c000200000000017101d6f35d0d0a",
			[]string{"acc_on", "charging"}, map[string]any{"power_v": 24.36, "battery_v": 4.0}},
		{"TRX16i 0x16 RFID card", "78782d16190c1d0e3b03cf026cc8d40c367d800014000801cc0025ef40e88c450604e801c3000001453f920100271e590d0a",
			[]string{"charging"}, map[string]any{"driver_id": "c3000001453f9201", "alarm_code": 0xe8}},
		{"CT10 0x70 removed", "797900a87000000001020035000101003300125d7e3a180600d504b598f708814b3a001d1500340006125d7e39dc000011000a012e02620000000000000001000803537601000129800002000803102608593397620003000a89012608522933976266001800020172002b000114002c00045d7df3c70009000106000a000109002800010d002e00040000f25d002a000111002900040000017e0030000a000100b4000a00b402d0000591250d0a",
			[]string{"tamper"}, map[string]any{"iccid": "89012608522933976266"}},
	}
	for _, tt := range tests {
		p, err := ParseFrame(unhex(t, tt.frame))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		l, err := DecodeLocation(p, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		f := ToFix(l, dev, time.Now())
		for _, name := range tt.flags {
			if !f.HasFlag(name) {
				t.Errorf("%s: flags %v lack %q", tt.name, f.Flags, name)
			}
		}
		if len(f.Flags) != len(tt.flags) {
			t.Errorf("%s: flags %v, want %v", tt.name, f.Flags, tt.flags)
		}
		for k, v := range tt.attrs {
			if f.Attrs[k] != v {
				t.Errorf("%s: attribute %s = %v, want %v", tt.name, k, f.Attrs[k], v)
			}
		}
	}
}

// TestDecodeInfo: information packets (0x94) of Traccar's test and Concox's protocol.
func TestDecodeInfo(t *testing.T) {
	tests := []struct {
		name, frame string
		want        map[string]any
	}{
		{"Jimi IoT external power (Traccar 335c9a9c1)", "79790008940b02e3048614200d0a", map[string]any{"power_v": 7.39}},
		{"Sucre Lee network (Traccar 3679bcc9d)", "79790007940B010A0B5ACE0D0A", map[string]any{"network": "4G"}},
		{"Concox sensors (Traccar d10342813)", "7979000e941e000000d5000002ee00f59b850d0a", map[string]any{"temperature_c": 21.3, "humidity_pct": 75.0}},
		{"Concox GT800 door (Traccar 18807d840)", "7979000d940516090908081c030defbd2d0d0a", map[string]any{"door": true}},
		{"Concox CRX1 serial reader (Traccar 30d920c2e)", "79790019941b524649443a3030384642324245424133390d0a000c14930d0a", map[string]any{"serial": "RFID:008FB2BEBA39"}},
		{"GT06 ICCID (Traccar f4855e513)", "79790020940a035985708236675805200502187214018966051912408052452f000355560d0a",
			map[string]any{"iccid": "8966051912408052452", "imei": "359857082366758", "imsi": "520050218721401"}},
		{"GT06 RFID driver (Traccar ab1022d0c)", "7979000e941b02084277efef350303eadaed0d0a", map[string]any{"driver_id": "4277efef"}},
		{"GT06 short form (Traccar dc3559a9c)", "7878079404eb001c705d0d0a", map[string]any{"power_v": 12.59}},
		{"GT06 external power (Traccar 2183e5f08)", "79790008940000ed0289d6860d0a", map[string]any{"power_v": 2.37}},
		{"Concox status synchronisation (Concox protocol V3.1 §10)", "7979007F94044" +
			"14C4D313D43343B414C4D323D43433B414C4D333D34433B535441313D43303B4459443D30313B534F533D2C2C3B43454E5445523D3B46454E43453D46656E63652C4F4E2C302C32332E3131313830392C3131342E3430393236342C3430302C494E206F72204F55542C303B4D4946493D4D4946492C4F46460" +
			"00A061E0D0A",
			map[string]any{"status_text": "ALM1=C4;ALM2=CC;ALM3=4C;STA1=C0;DYD=01;SOS=,,;CENTER=;FENCE=Fence,ON,0,23.111809,114.409264,400,IN or OUT,0;MIFI=MIFI,OFF"}},
		{"Concox fuel sensor, kept raw (Concox protocol V3.1 §10)", "7979003F940D110907080C0321414" +
			"94F494C2C30322C3032352E3930302C3032352E3430302C3531394A2C303230302C3032372E3134302C302C30302C394683A70D120D0A",
			map[string]any{"info_type": 0x0D, "data": "110907080c032141494f494c2c30322c3032352e3930302c3032352e3430302c3531394a2c303230302c3032372e3134302c302c30302c3946"}},
	}
	for _, tt := range tests {
		p, err := ParseFrame(unhex(t, tt.frame))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := DecodeInfo(p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// A device's text never brings control characters into a log line or an attribute.
	a, err := DecodeInfo(Packet{Extended: true, Protocol: ProtoInfo, Content: []byte("\x04ALM1=C4\n\x1b[2Jforged log line\x00\xff")})
	if err != nil || a["status_text"] != "ALM1=C4..[2Jforged log line.." {
		t.Errorf("status text %q, %v", a["status_text"], err)
	}
	for _, c := range []string{"", "0a0102", "0b010203", "1b01", "1e0000"} {
		if _, err := DecodeInfo(Packet{Extended: true, Protocol: ProtoInfo, Content: unhex(t, c)}); err == nil {
			t.Errorf("information %s decoded", c)
		}
	}
}

func TestDecodeHeartbeat(t *testing.T) {
	for _, tt := range []struct {
		name, frame string
		want        Heartbeat
	}{
		// Concox's protocol V3.1 §2.1: EG02/EG03, external voltage 0F92 = 39.86 V.
		{"Concox EG02 (protocol example)", "78780B23050F920400020008 8A370D0A", Heartbeat{TerminalInfo: 0x05, PowerV: 39.86, GSMSignal: 4}},
		{"Concox GK310 (Traccar 43ffaf8c3)", "78780B23C00122040001000818720D0A", Heartbeat{TerminalInfo: 0xc0, PowerV: 2.90, GSMSignal: 4}},
	} {
		p, err := ParseFrame(unhex(t, tt.frame))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodeHeartbeat(p); err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	if _, err := DecodeHeartbeat(Packet{Protocol: ProtoHeartbeat}); err == nil {
		t.Error("empty heartbeat decoded")
	}
}

func TestDecodeAlarmReport(t *testing.T) {
	tests := []struct {
		name, frame string
		want        AlarmReport
	}{
		// 4G cell 012E D0 000075DF 0000000000986615 | terminal info 02, voltage 5, GSM 4, alarm 13
		// (removed), language 00.
		{"Jimi JM-LL301 0xA5 (Traccar 32d276ee8)", "787819a5012ed0000075df000000000098661502050413000019a12b0d0a",
			AlarmReport{Flags: []string{"acc_on", "tamper"}, Code: 0x13, HasLBS: true, LBS: LBS{MCC: 302, MNC: 0xd0, LAC: 0x75df, CellID: 0x986615}}},
		{"Concox GK310 0xA5 (Traccar 43ffaf8c3)", "787819a501cc0000009191000000000906170304050400010005f44d0d0a",
			AlarmReport{Flags: []string{"charging"}, HasLBS: true, LBS: LBS{MCC: 460, LAC: 0x9191, CellID: 0x09061703}}},
		// 2G cell 028F 0A 29E1 0036F1 | terminal info 20, voltage 3, GSM 4, alarm 01 SOS.
		{"GT06 0x19 SOS (Traccar a4ad13716)", "78781219028f0a29e10036f12003040102000875dc0d0a",
			AlarmReport{Flags: []string{"sos"}, Code: 1, HasLBS: true, LBS: LBS{MCC: 655, MNC: 10, LAC: 0x29e1, CellID: 0x36f1}}},
		{"Concox 0x19 SOS (Concox protocol V3.1 §7)", "78781219 01CC00287D001F71 2004040101 0094 6C89 0D0A",
			AlarmReport{Flags: []string{"sos"}, Code: 1, HasLBS: true, LBS: LBS{MCC: 460, LAC: 0x287d, CellID: 0x1f71}}},
		// 130A07122320 | event 01: a general alarm without position.
		{"Jimi JC100 0x95 (Traccar c38458e2f)", "78780c95130a071223200100013ad10d0a",
			AlarmReport{Time: time.Date(2019, 10, 7, 18, 35, 32, 0, time.UTC), Flags: []string{"alarm"}, Code: 1}},
		{"Jimi JC100 0x95 acceleration (Traccar 059d108b6)", "78780c95130a0209321c90000112800d0a",
			AlarmReport{Time: time.Date(2019, 10, 2, 9, 50, 28, 0, time.UTC), Flags: []string{"hard_acceleration"}, Code: 0x90}},
	}
	for _, tt := range tests {
		p, err := ParseFrame(unhex(t, tt.frame))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := DecodeAlarmReport(p, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// TestTimeReply: the answer to Concox's example request (78 78 05 8A 00 06 88 29 0D 0A) at
// the time of its example answer is that answer, byte for byte (Concox protocol V3.1 §9).
func TestTimeReply(t *testing.T) {
	at := time.Date(2015, 12, 29, 8, 0, 21, 0, time.FixedZone("UTC+8", 8*3600))
	if got := AppendTimeReply(nil, 0x0006, at); string(got) != string(unhex(t, "78780B8A0F0C1D0000150006F0860D0A")) {
		t.Errorf("time reply % X", got)
	}
}
