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
