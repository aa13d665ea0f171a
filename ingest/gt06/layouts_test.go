package gt06

import (
	"reflect"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

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

// TestAlarmEvent: an alarm without position is an event at its own time when it has one and the
// clock is believable, else at the time it was received.
func TestAlarmEvent(t *testing.T) {
	received := time.Date(2019, 10, 7, 18, 40, 0, 0, time.UTC)
	dev := tracker.Device{ID: "860470067873061", VehicleID: "car-1"}
	tests := []struct {
		name  string
		alarm AlarmReport
		want  time.Time
	}{
		{"Jimi JC100 0x95, its time", AlarmReport{Time: time.Date(2019, 10, 7, 18, 35, 32, 0, time.UTC), Code: 1, Flags: []string{"alarm"}}, time.Date(2019, 10, 7, 18, 35, 32, 0, time.UTC)},
		{"Jimi JC100 0x95, a clock an hour ahead", AlarmReport{Time: received.Add(time.Hour), Code: 1}, received},
		{"Concox GK310 0xA5, no time", AlarmReport{Flags: []string{"sos"}, Code: 1, HasLBS: true, LBS: LBS{MCC: 460, LAC: 0x9191, CellID: 0x09061703}}, received},
	}
	for _, tt := range tests {
		ev := AlarmEvent(tt.alarm, ProtoLBSAlarm4G, dev, received)
		if !ev.Time.Equal(tt.want) || ev.Type != tracker.EventDeviceAlarm || ev.VehicleID != "car-1" || ev.Attrs["flags"] == nil {
			t.Errorf("%s: %+v, want at %s", tt.name, ev, tt.want)
		}
	}
}
