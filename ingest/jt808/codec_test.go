package jt808

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
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

// decodeWire decodes one complete wire frame (with its 7E delimiters).
func decodeWire(t testing.TB, s string) (Frame, error) {
	t.Helper()
	b := unhex(t, s)
	if len(b) < 2 || b[0] != 0x7e || b[len(b)-1] != 0x7e {
		t.Fatalf("not a delimited frame: %s", s)
	}
	f, _, err := DecodeFrame(b[1 : len(b)-1])
	return f, err
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Real frames: Traccar's HuabaoProtocolDecoderTest (2013 headers), SmallChi/JT808's tests and
// the xtream-codec JT/T 808 samples (2019 headers).
func TestDecodeLocationFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		phone string
		want  Location
		flags []string
		attrs map[string]any
	}{
		{
			name:  "traccar 2013 alarm under-voltage",
			frame: "7E020000480123456789010013000000800000000301597BC506CBFF6600EB00000155210726203531010400000000EB24000C00B28986047701207027150200060089FFFFEFFF0004002D0E10000600C5FFFFFFEF697E",
			phone: "12345678901",
			want: Location{Alarm: 0x80, Status: 3, Lat: 22.641605, Lon: 114.032486, AltitudeM: 235, SpeedKmh: 0,
				Heading: 341, Time: utc("2021-07-26T12:35:31Z")},
			flags: []string{"under_voltage", "acc_on", "positioned"},
			// The Concox extension block: ICCID, alarm bits (bit 12 clear: removed; Traccar
			// asserts "removing"), battery 3.6 V, and 0x00c5 kept raw.
			attrs: map[string]any{"mileage_km": 0.0, "iccid": "89860477012070271502", "removal_alarm": true,
				"battery_v": 3.6, "item_0xeb_0x00c5": "ffffffef"},
		},
		{
			name:  "traccar 2013 west longitude and SOS",
			frame: "7e0200002e094027587492000a000000010000000a03083db7001329f3000000140000130412164952010400000012360a0002341502cb0c20085c107e",
			phone: "94027587492",
			want: Location{Alarm: 1, Status: 0x0a, Lat: 50.871735, Lon: -1.255923, SpeedKmh: 2,
				Time: utc("2013-04-12T08:49:52Z")},
			flags: []string{"sos", "positioned"},
			attrs: map[string]any{"mileage_km": 1.8, "item_0x36": "0002341502cb0c20085c"},
		},
		{
			name:  "traccar 2013 south and west",
			frame: "7e020000220014012499170007000000000000400e012af16f02cbd2ba000000000000150101194257010400000077a97e",
			phone: "1401249917",
			want:  Location{Status: 0x400e, Lat: -19.591535, Lon: -46.912186, Time: utc("2015-01-01T11:42:57Z")},
			flags: []string{"positioned"},
			attrs: map[string]any{"mileage_km": 11.9},
		},
		{
			name:  "traccar 2013 mileage fuel recorder speed",
			frame: "7E0200002A013833501744001900000000000000C201597FA806CC01580080000000081508180721210104000002F502020000030200009F7E",
			phone: "13833501744",
			want: Location{Status: 0xc2, Lat: 22.6426, Lon: 114.032984, AltitudeM: 128, Heading: 8,
				Time: utc("2015-08-17T23:21:21Z")},
			flags: []string{"positioned"},
			attrs: map[string]any{"mileage_km": 75.7, "fuel_l": 0.0, "recorder_speed_kmh": 0.0},
		},
		{
			name:  "traccar 2013 signal and satellites, not positioned",
			frame: "7e0200002c00160128561400020000000000040001005de1f7065c6cef00000000000017011710044201040000a9002a02000030011b3101030c7e",
			phone: "1601285614",
			want:  Location{Status: 0x40001, Lat: 6.152695, Lon: 106.720495, Time: utc("2017-01-17T02:04:42Z")},
			flags: []string{"acc_on", "gps"},
			attrs: map[string]any{"mileage_km": 4326.4, "io_status": 0, "signal": 27, "satellites": 3},
		},
		{
			name:  "traccar 2013 junk after the items",
			frame: "7e0200002e202000129707001c0000000000001c0601a2f0a8091f0bf00000000000ed201103031733000000000000000000780000000018000000267e",
			phone: "202000129707",
			want: Location{Status: 0x1c06, Lat: -27.455656, Lon: 153.029616, Heading: 237,
				Time: utc("2020-11-02T19:17:33Z")},
			flags: []string{"positioned", "oil_cut", "circuit_cut", "doors_locked"},
			attrs: map[string]any{"item_0x00": "", "items_trailing": "00780000000018000000"},
		},
		{
			name:  "xtream 2019 header, south",
			frame: "7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b004200032501292233440202006401040000000c417e",
			phone: "13912344329",
			want: Location{Alarm: 111, Status: 22, Lat: -31.234567, Lon: 121.987654, AltitudeM: 123, SpeedKmh: 6.6,
				Heading: 3, Time: utc("2025-01-29T14:33:44Z")},
			flags: []string{"sos", "overspeed", "fatigue", "antenna_open", "antenna_short", "positioned", "out_of_service"},
			attrs: map[string]any{"fuel_l": 10.0, "mileage_km": 1.2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeWire(t, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.MsgID != MsgLocation || f.Header.Phone.String() != tt.phone {
				t.Fatalf("header %+v, want 0x0200 from %s", f.Header, tt.phone)
			}
			var l Location
			if err := DecodeLocation(f.Body, &l); err != nil {
				t.Fatal(err)
			}
			attrs := l.Attrs()
			l.Items = nil
			if !reflect.DeepEqual(l, tt.want) {
				t.Errorf("location\n got %+v\nwant %+v", l, tt.want)
			}
			if got := l.AppendFlags(nil); !reflect.DeepEqual(got, tt.flags) {
				t.Errorf("flags %q, want %q", got, tt.flags)
			}
			if !reflect.DeepEqual(attrs, tt.attrs) {
				t.Errorf("attrs %v, want %v", attrs, tt.attrs)
			}
		})
	}
}

func TestDecodeBatchFrames(t *testing.T) {
	tests := []struct {
		name   string
		frame  string
		v2019  bool
		typ    byte
		first  Location
		nItems int
	}{
		{
			name:   "traccar 2013 blind-area",
			frame:  "7E0704014301356777777707F5000801002600000000000000030159741206CBFD5001720000000116052709062401040000001D03020000002600000000000000030159746606CBFD50016B0000000116052709065301040000001D0302000000260000000000000003015975E406CBFE58013F0000000116052709072701040000001D0302000000260000000000000003015976DE06CBFF10012E0000000116052709075601040000001D0302000000260000000000000003015976BC06CBFED0012D0000000116052709083001040000001D0302000000260000000000000003015976FE06CBFEC001080000000116052709090001040000001D0302000000260000000000000003015976FE06CBFE7800FC0000000116052709093301040000001D0302000000260000000000000003015977A606CBFF3001080000000116052709100201040000001D030200001F7E",
			typ:    BatchBlindArea,
			nItems: 8,
			first: Location{Status: 3, Lat: 22.639634, Lon: 114.031952, AltitudeM: 370, Heading: 1,
				Time: utc("2016-05-27T01:06:24Z")},
		},
		{
			name:   "smallchi 2013 normal",
			frame:  "7E0704005311223344556622B80002000026000000010000000200BA7F0E07E4F11C0028003C0000180715101010010400000064020200370026000000020000000100CB735507E6A32300290036007818071510103001040000006002020042D47E",
			typ:    BatchNormal,
			nItems: 2,
			first: Location{Alarm: 1, Status: 2, Lat: 12.222222, Lon: 132.444444, AltitudeM: 40, SpeedKmh: 6,
				Time: utc("2018-07-15T02:10:10Z")},
		},
		{
			name:   "xtream 2019 normal",
			frame:  "7e0704403f01000000000139123443290000000200001c000000010000000101d907f2073d336c029a00210059241029213903001c000000010000000101d907f3073d336d03090043005a241029213903f87e",
			v2019:  true,
			typ:    BatchNormal,
			nItems: 2,
			first: Location{Alarm: 1, Status: 1, Lat: 31.000562, Lon: 121.451372, AltitudeM: 666, SpeedKmh: 3.3,
				Heading: 89, Time: utc("2024-10-29T13:39:03Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeWire(t, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.MsgID != MsgBatch || f.Header.V2019 != tt.v2019 {
				t.Fatalf("header %+v", f.Header)
			}
			b, err := DecodeBatch(f.Body)
			if err != nil {
				t.Fatal(err)
			}
			if b.Type != tt.typ || len(b.Items) != tt.nItems {
				t.Fatalf("type %d with %d items, want %d with %d", b.Type, len(b.Items), tt.typ, tt.nItems)
			}
			var l Location
			for i, it := range b.Items {
				if err := DecodeLocation(it, &l); err != nil {
					t.Fatalf("item %d: %v", i, err)
				}
				if i == 0 {
					l.Items = nil
					if !reflect.DeepEqual(l, tt.first) {
						t.Errorf("first item\n got %+v\nwant %+v", l, tt.first)
					}
				}
			}
		})
	}
}

func TestDecodeRegisterFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		phone string
		want  Register
	}{
		{
			name:  "traccar 2011 layout",
			frame: "7E01000021013345678906000F002C012F373031313142534A2D4D3742203030303030303001D4C1423838383838B47E",
			phone: "13345678906",
			want: Register{Version: V2011, Province: 44, City: 303, Maker: "70111", Model: "BSJ-M7B",
				TerminalID: "0000000", PlateColor: 1, Plate: "粤B88888"},
		},
		{
			name:  "traccar 2013 layout",
			frame: "7E0100002D013511221122000500000000373031303748422D52303347424400000000000000000000003233363631303402CBD5424136383630387E",
			phone: "13511221122",
			want: Register{Version: V2013, Maker: "70107", Model: "HB-R03GBD", TerminalID: "2366104",
				PlateColor: 2, Plate: "苏BA6860"},
		},
		{
			name:  "smallchi 2013 layout",
			frame: "7E0100002D000123456789000A002800323132333430736D616C6C6368693132333030303030303030304348493132333001D4C1413132333435BA7E",
			phone: "123456789",
			want: Register{Version: V2013, Province: 40, City: 50, Maker: "12340", Model: "smallchi123000000000",
				TerminalID: "CHI1230", PlateColor: 1, Plate: "粤A12345"},
		},
		{
			name:  "smallchi 2019 layout",
			frame: "7e0100405401000000000222222222220001000000003030304b6f696b65303032303030303030303030303030303030303030303030304b6f696b65303032303030303030303030303030303030303030303030304b6f696b6530303202d4c1413132333436107e",
			phone: "22222222222",
			want: Register{Version: V2019, Maker: "000Koike002", Model: strings.Repeat("0", 22) + "Koike002",
				TerminalID: strings.Repeat("0", 22) + "Koike002", PlateColor: 2, Plate: "粤A12346"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeWire(t, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.MsgID != MsgRegister || f.Header.Phone.String() != tt.phone {
				t.Fatalf("header %+v", f.Header)
			}
			r, err := DecodeRegister(f.Body, f.Header.V2019)
			if err != nil {
				t.Fatal(err)
			}
			if r != tt.want {
				t.Errorf("got %+v\nwant %+v", r, tt.want)
			}
			// Encoding the decoded values gives the body back where the terminal padded with zeros.
			if tt.want.Version != V2019 {
				body, err := AppendRegister(nil, &r)
				if err != nil {
					t.Fatal(err)
				}
				if r2, err := DecodeRegister(body, false); err != nil || r2 != r {
					t.Errorf("round trip: %+v, %v", r2, err)
				}
			}
		})
	}
}

func TestDecodeAuth(t *testing.T) {
	f, err := decodeWire(t, "7E0102000E013511221122000661757468656E7469636174696F6E3F7E") // traccar
	if err != nil {
		t.Fatal(err)
	}
	if a := DecodeAuth(f.Body, f.Header.V2019); a != (Auth{Code: "authentication"}) {
		t.Errorf("2013 auth %+v", a)
	}
	want := Auth{Code: "c0de", IMEI: "860000000000001", SoftwareVersion: "1.2.3"}
	body, err := AppendAuth(nil, &want, V2019)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) != 1+4+15+20 {
		t.Fatalf("2019 auth body of %d bytes", len(body))
	}
	if got := DecodeAuth(body, true); got != want {
		t.Errorf("2019 auth %+v, want %+v", got, want)
	}
	// A 2019 header with a 2013 body: the whole body is the code.
	if got := DecodeAuth([]byte("456121111"), true); got.Code != "456121111" {
		t.Errorf("2019 header, 2013 body: %+v", got)
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	tests := []struct {
		name       string
		frame      string // with delimiters
		err        error
		headerRead bool
	}{
		// Published in Traccar's test suite with a checksum that does not match (Traccar never checks).
		{"traccar bad checksum", "7E02000032013511221122000700000000000C000301578CC006CA3A5C00470000000014072317201501040000000030011631010BD07E", ErrChecksum, true},
		{"short", "7e000200007e", ErrMalformed, false},
		{"bad escape", "7e0002000004304832546500b77d03ca7e", ErrMalformed, false},
		{"escape at end", "7e0002000004304832546500b7ca7d7e", ErrMalformed, false},
		{"length mismatch", "7e0002000104304832546500b7cb7e", ErrMalformed, true},
		{"2019 header cut short", "7e0002400001000000007e", ErrMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.frame)
			_, hr, err := DecodeFrame(b[1 : len(b)-1])
			if !errors.Is(err, tt.err) || hr != tt.headerRead {
				t.Errorf("err %v headerRead %v, want %v %v", err, hr, tt.err, tt.headerRead)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	// Traccar's HuabaoFrameDecoderTest: 7e 30 7d02 08 7d01 55 7e → 30 7e 08 7d 55.
	b, err := Unescape(unhex(t, "307d02087d0155"))
	if err != nil || !bytes.Equal(b, unhex(t, "307e087d55")) {
		t.Errorf("got %x, %v", b, err)
	}
}

// Platform messages must come out byte for byte as other implementations encode them.
func TestEncodeFrames(t *testing.T) {
	phone2013, _ := ParsePhone("12345678900", false)
	phone2019, _ := ParsePhone("13912344329", true)
	loc1 := Location{Alarm: 1, Status: 2, Lat: 12.222222, Lon: 132.444444, AltitudeM: 40, SpeedKmh: 6,
		Time: utc("2018-07-15T02:10:10Z"), Items: AppendItem(AppendItem(nil, 0x01, []byte{0, 0, 0, 0x64}), 0x02, []byte{0, 0x37})}
	loc2 := Location{Alarm: 2, Status: 1, Lat: 13.333333, Lon: 132.555555, AltitudeM: 41, SpeedKmh: 5.4, Heading: 120,
		Time: utc("2018-07-15T02:10:30Z"), Items: AppendItem(AppendItem(nil, 0x01, []byte{0, 0, 0, 0x60}), 0x02, []byte{0, 0x42})}
	batchPhone, _ := ParsePhone("112233445566", false)
	tests := []struct {
		name string
		h    Header
		body func() ([]byte, error)
		want string
	}{
		{"smallchi 0x8100 2013", Header{MsgID: MsgRegisterResponse, Phone: phone2013, Serial: 10},
			func() ([]byte, error) {
				return AppendRegisterResponse(nil, RegisterResponse{ReplySerial: 100, AuthCode: "123456"}), nil
			},
			"7E81000009012345678900000A006400313233343536687E"},
		{"smallchi 0x8100 2013 no such terminal", Header{MsgID: MsgRegisterResponse, Phone: phone2013, Serial: 10},
			func() ([]byte, error) {
				return AppendRegisterResponse(nil, RegisterResponse{ReplySerial: 100, Result: RegisterNoSuchTerminal, AuthCode: "x"}), nil
			},
			"7E81000003012345678900000A006404617E"},
		{"xtream 0x8001 2019", Header{MsgID: MsgPlatformResponse, V2019: true, ProtoVersion: 1, Phone: phone2019},
			func() ([]byte, error) {
				return AppendGeneralResponse(nil, GeneralResponse{ReplySerial: 111, ReplyID: MsgLocation}), nil
			},
			"7e8001400501000000000139123443290000006f020000dc7e"},
		{"xtream 0x8100 2019", Header{MsgID: MsgRegisterResponse, V2019: true, ProtoVersion: 1, Phone: phone2019},
			func() ([]byte, error) {
				return AppendRegisterResponse(nil, RegisterResponse{ReplySerial: 111, AuthCode: "ok..ok..ok"}), nil
			},
			"7e8100400d01000000000139123443290000006f006f6b2e2e6f6b2e2e6f6bd27e"},
		{"smallchi 0x0102 2013", Header{MsgID: MsgAuth, Phone: phone2013, Serial: 12345},
			func() ([]byte, error) { return AppendAuth(nil, &Auth{Code: "456121111"}, V2013) },
			"7E010200090123456789003039343536313231313131BE7E"},
		{"smallchi 0x0100 2013 with GBK plate", Header{MsgID: MsgRegister, Phone: mustPhone("123456789", false), Serial: 10},
			func() ([]byte, error) {
				return AppendRegister(nil, &Register{Version: V2013, Province: 40, City: 50, Maker: "12340",
					Model: "smallchi123000000000", TerminalID: "CHI1230", PlateColor: 1, Plate: "粤A12345"})
			},
			"7E0100002D000123456789000A002800323132333430736D616C6C6368693132333030303030303030304348493132333001D4C1413132333435BA7E"},
		{"smallchi 0x0704 2013", Header{MsgID: MsgBatch, Phone: batchPhone, Serial: 8888},
			func() ([]byte, error) {
				return AppendBatch(nil, BatchNormal, AppendLocation(nil, &loc1), AppendLocation(nil, &loc2)), nil
			},
			"7E0704005311223344556622B80002000026000000010000000200BA7F0E07E4F11C0028003C0000180715101010010400000064020200370026000000020000000100CB735507E6A32300290036007818071510103001040000006002020042D47E"},
		{"xtream 0x0200 2019", Header{MsgID: MsgLocation, V2019: true, ProtoVersion: 1, Phone: phone2019},
			func() ([]byte, error) {
				return AppendLocation(nil, &Location{Alarm: 111, Status: 22, Lat: -31.234567, Lon: 121.987654,
					AltitudeM: 123, SpeedKmh: 6.6, Heading: 3, Time: utc("2025-01-29T14:33:44Z"),
					Items: unhex(t, "0202006401040000000c")}), nil
			},
			"7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b004200032501292233440202006401040000000c417e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := tt.body()
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendFrame(nil, &tt.h, body)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("got  %X\nwant %X", got, want)
			}
		})
	}
}

func mustPhone(s string, long bool) Phone {
	p, err := ParsePhone(s, long)
	if err != nil {
		panic(err)
	}
	return p
}

func TestPhone(t *testing.T) {
	tests := []struct {
		in   string
		long bool
		bcd  string
		id   string
	}{
		{"012345678901", false, "012345678901", "12345678901"},
		{"13912344329", true, "00000000013912344329", "13912344329"},
		{"0", false, "000000000000", "0"},
	}
	for _, tt := range tests {
		p, err := ParsePhone(tt.in, tt.long)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(p.Bytes()) != tt.bcd || p.String() != tt.id {
			t.Errorf("%s: bcd %x id %s, want %s %s", tt.in, p.Bytes(), p, tt.bcd, tt.id)
		}
	}
	for _, bad := range []string{"", "12a", "1234567890123"} {
		if _, err := ParsePhone(bad, false); err == nil {
			t.Errorf("ParsePhone(%q) accepted", bad)
		}
	}
}

// Every byte value survives escaping, including 7E and 7D in the checksum position.
func TestFrameRoundTrip(t *testing.T) {
	for _, v2019 := range []bool{false, true} {
		for i := 0; i < 256; i++ {
			h := Header{MsgID: MsgLocation, V2019: v2019, Phone: mustPhone("13912344329", v2019), Serial: uint16(i * 257)}
			if v2019 {
				h.ProtoVersion = 1
			}
			body := []byte{byte(i), 0x7e, 0x7d, byte(255 - i)}
			wire, err := AppendFrame(nil, &h, body)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.IndexByte(wire[1:len(wire)-1], 0x7e) >= 0 {
				t.Fatalf("unescaped 7E in %x", wire)
			}
			f, _, err := DecodeFrame(wire[1 : len(wire)-1])
			if err != nil {
				t.Fatalf("%x: %v", wire, err)
			}
			h.BodyLen = len(body)
			if f.Header != h || !bytes.Equal(f.Body, body) {
				t.Fatalf("got %+v %x, want %+v %x", f.Header, f.Body, h, body)
			}
		}
	}
}

func TestLocationRoundTrip(t *testing.T) {
	in := Location{Alarm: AlarmSOS | AlarmRollover, Status: StatusACC | StatusPositioned | StatusBeiDou,
		Lat: -43.123456, Lon: -111.654321, AltitudeM: -154, SpeedKmh: 88.8, Heading: 359,
		Time: utc("2026-03-01T15:59:59Z"), Items: AppendItem(nil, 0x31, []byte{12})}
	var out Location
	if err := DecodeLocation(AppendLocation(nil, &in), &out); err != nil {
		t.Fatal(err)
	}
	in.Status |= StatusSouth | StatusWest
	if !reflect.DeepEqual(in, out) {
		t.Errorf("got %+v\nwant %+v", out, in)
	}
}

func TestDecodeLocationErrors(t *testing.T) {
	valid := AppendLocation(nil, &Location{Time: utc("2024-01-02T03:04:05Z")})
	for name, body := range map[string][]byte{
		"short":     valid[:27],
		"not BCD":   append(append([]byte{}, valid[:22]...), 0x24, 0x1a, 0x01, 0, 0, 0),
		"month 13":  append(append([]byte{}, valid[:22]...), 0x24, 0x13, 0x01, 0, 0, 0),
		"feb 30":    append(append([]byte{}, valid[:22]...), 0x24, 0x02, 0x30, 0, 0, 0),
		"minute 60": append(append([]byte{}, valid[:22]...), 0x24, 0x02, 0x01, 0, 0x60, 0),
	} {
		var l Location
		if err := DecodeLocation(body, &l); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	var l Location
	zero := append(append([]byte{}, valid[:22]...), 0, 0, 0, 0, 0, 0)
	if err := DecodeLocation(zero, &l); err != nil || !l.Time.IsZero() {
		t.Errorf("all-zero time: %v %v", l.Time, err)
	}
}

// TestBCDTimeEveryDay checks the date arithmetic against time.Date on every day the two-digit
// year can name, at the GMT+8 day boundaries, and that impossible days are refused.
func TestBCDTimeEveryDay(t *testing.T) {
	bcd := func(v int) byte { return byte(v/10)<<4 | byte(v%10) }
	cst := time.FixedZone("CST", 8*3600)
	for d := time.Date(2000, 1, 1, 0, 0, 0, 0, cst); d.Year() < 2100; d = d.AddDate(0, 0, 1) {
		for _, hms := range [][3]int{{0, 0, 0}, {7, 59, 59}, {8, 0, 0}, {23, 59, 59}} {
			want := time.Date(d.Year(), d.Month(), d.Day(), hms[0], hms[1], hms[2], 0, cst).UTC()
			b := []byte{bcd(d.Year() % 100), bcd(int(d.Month())), bcd(d.Day()), bcd(hms[0]), bcd(hms[1]), bcd(hms[2])}
			got, err := decodeBCDTime(b)
			if err != nil || !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("%x: %v %v, want %v", b, got, err, want)
			}
		}
	}
	for _, b := range [][]byte{{0x01, 0x02, 0x29, 0, 0, 0}, {0x24, 0x04, 0x31, 0, 0, 0}, {0x00, 0x02, 0x30, 0, 0, 0},
		{0x24, 0x06, 0x31, 0, 0, 0}, {0x24, 0x00, 0x01, 0, 0, 0}, {0x24, 0x01, 0x00, 0, 0, 0}, {0x24, 0x01, 0x01, 0x24, 0, 0}} {
		if _, err := decodeBCDTime(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: err %v", b, err)
		}
	}
	for _, b := range [][]byte{{0x00, 0x02, 0x29, 0, 0, 0}, {0x24, 0x02, 0x29, 0, 0, 0}, {0x24, 0x07, 0x31, 0, 0, 0},
		{0x24, 0x08, 0x31, 0, 0, 0}, {0x24, 0x12, 0x31, 0, 0, 0}} {
		if _, err := decodeBCDTime(b); err != nil {
			t.Errorf("%x: %v", b, err)
		}
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	item := AppendLocation(nil, &Location{Time: utc("2024-01-02T03:04:05Z")})
	good := AppendBatch(nil, BatchBlindArea, item, item)
	for name, body := range map[string][]byte{
		"short":       good[:2],
		"count high":  append([]byte{0, 3}, good[2:]...),
		"count low":   append([]byte{0, 1}, good[2:]...),
		"item cut":    good[:len(good)-1],
		"length only": append(append([]byte{}, good...), 0),
	} {
		if _, err := DecodeBatch(body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// TestPlain compares the word-at-a-time check with the byte loop for every position of each
// byte value in slices of every length up to 20.
func TestPlain(t *testing.T) {
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for v := 0; v < 256; v++ {
				b := bytes.Repeat([]byte{0x7c}, n)
				b[pos] = byte(v)
				want := bytes.IndexByte(b, flag) < 0 && bytes.IndexByte(b, escape) < 0
				if got := plain(b); got != want {
					t.Fatalf("plain(%x) = %v", b, got)
				}
			}
		}
	}
}

// A 2013 phone field that is not BCD is a binary IMEI (Traccar's decodeId): Jimi JC371,
// Concox VL502; the IMEI's check digit is added. Above 14 digits, or in a 2019 field, the
// bytes stay hex as before.
func TestPhoneBinaryIMEI(t *testing.T) {
	tests := []struct {
		bcd string
		id  string
	}{
		{"4eb6fb4ad628", "865478070001047"}, // Jimi JC371 (traccar 5c9d0449c)
		{"4eb6fb4afd9e", "865478070102068"},
		{"4f07788ef87d", "868935060010210"}, // Concox VL502 (traccar b2e889abf)
		{"4e5de66fba22", "861652050068820"},
		{"0000000000ab", "000000000001719"}, // a small value keeps its leading zeros: 15 digits
		{"5af3107a4000", "5af3107a4000"},    // 10¹⁴: not an IMEI
		{"00000000000000000abc", "abc"},     // 2019
	}
	for _, tt := range tests {
		b := unhex(t, tt.bcd)
		p := Phone{n: uint8(len(b))}
		copy(p.bcd[:], b)
		if got := p.String(); got != tt.id {
			t.Errorf("%s: %s, want %s", tt.bcd, got, tt.id)
		}
	}
}

// TestDecodeFrameBodyLength: a location report whose header miscounts its body is decoded where
// the report leaves no doubt (an uncounted last item; a zero pad after the checksum) and
// refused otherwise: a report cut short, a 2019 header, an item that runs past the end, a pad
// that is not zero, a message that is not a location report.
func TestDecodeFrameBodyLength(t *testing.T) {
	// with rebuilds frame (hex, delimiters included, nothing escaped) with its 2-byte attribute
	// set to attr and bytes appended before the checksum, which is computed again.
	with := func(frame string, attr uint16, extra ...byte) string {
		b := unhex(t, frame)
		b = append(b[1:len(b)-2:len(b)-2], extra...)
		binary.BigEndian.PutUint16(b[2:], attr)
		b = append(b, Checksum(b))
		return fmt.Sprintf("7e%x7e", b)
	}
	const gps51 = "7e0200002f04121051313003940000000000002002015fe78006c325d50013000a00a0210924172909010400029d0f2a0200042b0450680014520103fb045f050701097e"
	const reply = "7e0201004504122030900509311aa90000000000080002020285f807149893000e00000154260617092230010400260e432a0200042b040014001430011d310110520103510804f604f604f604f65f0200ff8c007e"
	tests := []struct {
		name, frame string
		bodyLen     int // of the body decoded; 0: refused
	}{
		{"GPS51 extension 0x0200, item 0xFB not counted (SmallChi JT808_0x0200_0xfb_Test)", gps51, 53},
		{"0x0201 with a zero pad after the checksum (SmallChi JT808_0x0201Test)", reply, 69},
		{"AOVX GL100 0x0900 cut short (Traccar 68701664d)", "7e0900007a413050338598004b530000001000000000000000000000000000002306260457470700aabbcc001122bd0b043f0464014864034a003e01aabbcc011122bd08052f04641200010302aabbcc201122bd05012f04640103aabbcc031122bd06022f0464486404aabbcc401122bd06032f04641c04767e", 0},
		{"GPS51 0x0200 whose header says more than it holds", with(gps51, 0x0036), 0},
		{"GPS51 0x0200 with attribute bit 14 (2019 or not: the body's place is in doubt)", with(gps51, 0x402f), 0},
		{"GPS51 0x0200 whose last item runs past the end", with(gps51, 0x002f, 0x01, 0x04, 0x00), 0},
		{"0x0201 with a pad that is not zero", with(reply, 0x0045, 0x01), 0},
		{"0x0201 whose checksum does not follow the header's length", with(reply, 0x0044), 0},
		{"0x0002 heartbeat with a byte uncounted", with("7e000200000430483254650000b77e", 0x0000, 0x00), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.frame)
			f, _, err := DecodeFrame(b[1 : len(b)-1])
			switch {
			case tt.bodyLen == 0 && !errors.Is(err, ErrMalformed):
				t.Errorf("decoded %x, %v; want refused", f.Body, err)
			case tt.bodyLen != 0 && (err != nil || len(f.Body) != tt.bodyLen || f.Header.BodyLen != tt.bodyLen):
				t.Errorf("body %d bytes (header %d), %v; want %d", len(f.Body), f.Header.BodyLen, err, tt.bodyLen)
			}
		})
	}
}
