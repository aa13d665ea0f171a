package jt600

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// frameBytes is a table frame: hex for binary frames, the text itself for text frames.
func frameBytes(t testing.TB, s string) []byte {
	if strings.HasPrefix(s, "(") {
		return []byte(s)
	}
	return unhex(t, s)
}

const (
	decoderTest = "Traccar Jt600ProtocolDecoderTest"
	frameTest   = "Traccar Jt600FrameDecoderTest"
)

// realFrames are frames captured from devices, as published in Traccar's tests (source). want
// is the first record; its time, position and speed were worked out by hand from the bytes
// (Traccar asserts two of them: the 3110216001 and W01 rows, which agree).
var realFrames = []struct {
	name, source, frame string
	id, kind            string
	records             int
	time                string // UTC
	lat, lon, kmh       float64
	valid               bool
	seal                Seal
	reply               string
}{
	{"Jointech JT600 short v1 real-time", decoderTest, "24311021600111001B16021105591022329862114046227B0598095080012327951435161F",
		"3110216001", KindBinary, 1, "2011-02-16 05:59:10", 22.549770, -114.077045, 5 * knotKmh, true, Seal{}, ""},
	{"Jointech JT600 short v1, south and east", decoderTest, "24312082002911001B171012052831243810120255336425001907190003FD2B91044D1FA0",
		"3120820029", KindBinary, 1, "2012-10-17 05:28:31", -24.635020, 25.889403, 0, true, Seal{}, ""},
	{"Jointech JT600 short v2, six records", decoderTest, "2440811188882400A209060908045322564025113242329F0598000001003F0000002D0009060908050322564025113242329F0598000001003F0000002D0009060908051322564025113242329F0598000001003F0000002D0009060908052322564025113242329F0598000001003F0000002D0009060908053322564025113242329F0598000001003F0000002D0009060908054322564025113242329F0598000001003F0000002D001F",
		"4081118888", KindBinary, 6, "2009-06-09 08:04:53", 22.940042, 113.403882, 5 * knotKmh, true, Seal{}, ""},
	{"Jointech JT600 short v2, fifteen records", decoderTest, "24408111888823019509060908045322564025113242329F0598000001003F0000002D0009060908050322564025113242329F0598000001003F0000002D0009060908051322564025113242329F0598000001003F0000002D0009060908052322564025113242329F0598000001003F0000002D0009060908053322564025113242329F0598000001003F0000002D0009060908054322564025113242329F0598000001003F0000002D0009060908055322564025113242329F0598000001003F0000002D0009060908060322564025113242329F0598000001003F0000002D0009060908061322564025113242329F0598000001003F0000002D0009060908062322564025113242329F0598000001003F0000002D0009060908063322564025113242329F0598000001003F0000002D0009060908064322564025113242329F0598000001003F0000002D0009060908065322564025113242329F0598000001003F0000002D0009060908070322564025113242329F0598000001003F0000002D0009060908071322564025113242329F0598000001003F0000002D001F",
		"4081118888", KindBinary, 15, "2009-06-09 08:04:53", 22.940042, 113.403882, 5 * knotKmh, true, Seal{}, ""},
	{"Jointech JT600 short v2, binary speed 0x29", decoderTest, "24624090196121001b19071703493631277203074235752f295800005308010000768b0822",
		"6240901961", KindBinary, 1, "2017-07-19 03:49:36", 31.462005, 74.392920, 41 * knotKmh, true, Seal{}, ""},
	{"Jointech JT600 short v2, speeds 0x0B and 0x1B", decoderTest, "24624090196123019519071703412131285623074214252f10560000130801000076850819071703420631282832074215165f172c0000030801000076850919071703422131282792074216635f222e0000130801000076850919071703423631282808074218261f212a0000130801000076860819071703435131283678074222928f08350000930801000076860919071703440631283003074223174f19500000930801000076870819071703445131279872074224584f07380000930801000076870819071703453631280643074227091f1b220000530801000076880919071703455131281043074228216f0a260000530801000076880819071703460631281229074228988f0c260000530801000076880819071703462131281551074229954f1f220000530801000076880919071703463631281289074230503f114e0000530801000076880819071703465131281186074230884f094f0000530801000076880819071703470631280308074231240f17500000530801000076880619071703472131280358074231636f0b1d0000530801000076890821",
		"6240901961", KindBinary, 15, "2017-07-19 03:41:21", 31.476038, 74.357087, 16 * knotKmh, true, Seal{}, ""},
	{"Jointech JT600 short v3", decoderTest, "24657060730131001b13111710361906538525079524797f000000000000000003f300036c",
		"6570607301", KindBinary, 1, "2017-11-13 10:36:19", 6.897542, 79.874662, 0, true, Seal{}, ""},
	{"Jointech JT701 long, protocol 0x16, locked", decoderTest, "2475201509261611002313101503464722331560113555309F00000000002D0500CB206800F064109326381A03",
		"7520150926", KindBinary, 1, "2015-10-13 03:46:47", 22.552600, 113.925515, 0, true, Seal{State: tracker.SealLocked}, "(P35)"},
	{"Jointech JT701 long, protocol 0x16, south", decoderTest, "2475604055531611002311111600311326144436028210791d016c0000001f070000000020c03c4f6d07d80ccf",
		"7560405553", KindBinary, 1, "2016-11-11 00:31:13", -26.240727, 28.351318, 1 * knotKmh, true, Seal{State: tracker.SealLocked}, ""},
	{"Jointech JT701 long, protocol 0x16, re-uploaded, charging", decoderTest, "2475605035891613002328091601152806086750106533350c00000000000a000000000000e1ff4f97007f1607",
		"7560503589", KindBinary, 1, "2016-09-28 01:15:28", -6.144583, 106.888917, 0, false, Seal{State: tracker.SealLocked}, "(P35)"},
	{"Jointech JT701 long, protocol 0x17, fence byte", decoderTest, "2475801263981711002713061813333723501622090221558f012f0000002a070000000020c055b88552191f000f0f0f07",
		"7580126398", KindBinary, 1, "2018-06-13 13:33:37", 23.836037, 90.369263, 1 * knotKmh, true, Seal{State: tracker.SealLocked}, ""},
	{"Jointech JT701 long, protocol 0x17, Wales", decoderTest, "2478807035371711003419081920061851380856003256223b000000000000070000000020c0ff965d54de1800000f0f0f0f0f0f0f0f0f0f02d600ea0a21",
		"7880703537", KindBinary, 1, "2019-08-19 20:06:18", 51.634760, -3.427038, 0, true, Seal{State: tracker.SealLocked}, ""},
	{"Jointech JT701 long, protocol 0x17, speed 0x0A", frameTest, "2478905197081711003405101917164812492365028134847d0a1c000002640c0000000020c032759600731000000f0f0f0f0f0f0f0f0f0f000702850274",
		"7890519708", KindBinary, 1, "2019-10-05 17:16:48", -12.820608, 28.224745, 10 * knotKmh, true, Seal{State: tracker.SealLocked}, ""},
	{"Jointech JT701D long, protocol 0x19", decoderTest, "2480413009781914003406102107544354193631006213423b00000000006c070000000020e064f91ea0671d00020f0f0f0f0f0f0f0f0f0f07f100ea0f6e",
		"8041300978", KindBinary, 1, "2021-10-06 07:54:43", 54.322718, -6.355705, 0, true, Seal{State: tracker.SealLocked}, "(P69,0,110)"},
	{"Jointech JT701 long, back cover opened", frameTest, "2460201102320112003401010000000422434199114158229e000000000009000000000010e06400000000000020100e0868817043592664000000000000",
		"6020110232", KindBinary, 1, "2000-01-01 00:00:04", 22.723665, 114.263715, 0, false,
		Seal{State: tracker.SealShellOpened, Event: tracker.SealEventShellOpened}, "(P35)"},
	{"Jointech JT701 P45 card unlock", decoderTest, "(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
		"2050018634", KindP45, 1, "2024-11-05 20:40:46", 9.861502, -83.950336, mphKmh, true,
		Seal{Event: tracker.SealEventUnlocked, Method: tracker.UnlockCard, Card: "0012260888"}, "(P69,0,0)"},
	{"Jointech JT701 P45 with mileage", decoderTest, "(8000632862,P45,290322,132412,25.28217,S,57.54683,W,A,0,0,5,0,0000000000,0,0,9,0)",
		"8000632862", KindP45, 1, "2022-03-29 13:24:12", -25.28217, -57.54683, 0, true, Seal{}, "(P69,0,9)"},
	{"Jointech JT701 gateway WLNET5 temperature sensor", frameTest, "28383035343230313937332c312c3136382c574c4e45542c352c322c3d15022508595325169288057327940900003d1502250859551021220618730140644701011d4300000029",
		"8054201973", KindWLNET5, 1, "2025-02-28 08:59:53", -25.282147, -57.546567, 0, true, Seal{}, "(P69,0,115)"},
	{"Jointech JT600 W01", decoderTest, "(3110312099,W01,11404.6204,E,2232.9961,N,A,040511,063736,4,7,100,4,17,1,1,company)",
		"3110312099", KindW01, 1, "2011-05-04 06:37:36", 22.549935, 114.077007, 4, true, Seal{}, ""},
	{"Jointech JT600 W01 south", decoderTest, "(3120820029,W01,02553.3555,E,2438.0997,S,A,171012,053339,0,8,20,6,31,5,20,20)",
		"3120820029", KindW01, 1, "2012-10-17 05:33:39", -24.634995, 25.889258, 0, true, Seal{}, ""},
	{"Jointech JT600 U01", decoderTest, "(3301210003,U01,040812,185302,T,22.564025,N,113.242329,E,5.21,152,9,32%,00000000000011,10133,5173,22,100,1)",
		"3301210003", KindU, 1, "2012-08-04 18:53:02", 22.564025, 113.242329, 5.21 * mphKmh, true, Seal{}, "(S39)"},
	{"Jointech JT600 U06 alarm", decoderTest, "(3460311327,U06,11,220916,135643,T,9.552553,N,13.658265,W,0.61,0,9,100%,00000001000000,11012,10,30,0,0,126,0,30)",
		"3460311327", KindU, 1, "2016-09-22 13:56:43", 9.552553, -13.658265, 0.61 * mphKmh, true, Seal{}, "(S20)"},
	{"Jointech JT600 U01 with checksum", decoderTest, "(3551001012,U01,010100,000032,F,0.000000,N,0.000000,E,0.00,0,0,10%,00000000010000,15748,7923,23,0,0,3E)",
		"3551001012", KindU, 1, "2000-01-01 00:00:32", 0, 0, 0, false, Seal{}, "(S39)"},
	{"Jointech JT600 heartbeat", decoderTest, "(3460311327,@JT)", "3460311327", KindOther, 0, "", 0, 0, 0, false, Seal{}, ""},
	{"Jointech JT600 U04 (no position)", decoderTest, "(3301210003,U04)", "3301210003", KindOther, 0, "", 0, 0, 0, false, Seal{}, ""},
	{"Jointech JT600 U09 (another layout)", decoderTest, "(6221107674,2,U09,129,2,A,280513113036,E,02711.0500,S,1721.0876,A,030613171243,E,02756.7618,S,2300.0325,3491,538200,14400,1)",
		"6221107674", KindOther, 0, "", 0, 0, 0, false, Seal{}, ""},
}

func TestDecodeRealFrames(t *testing.T) {
	for _, tt := range realFrames {
		t.Run(tt.name, func(t *testing.T) {
			raw := frameBytes(t, tt.frame)
			frame, err := NewReader(bytes.NewReader(raw), 0).Next()
			if err != nil {
				t.Fatalf("read (%s): %v", tt.source, err)
			}
			r, err := Decode(frame)
			if err != nil {
				t.Fatalf("decode (%s): %v", tt.source, err)
			}
			if r.DeviceID != tt.id || r.Kind != tt.kind || len(r.Records) != tt.records || r.Reply != tt.reply {
				t.Fatalf("got id %s kind %s %d records reply %q, want %s %s %d %q", r.DeviceID, r.Kind, len(r.Records), r.Reply,
					tt.id, tt.kind, tt.records, tt.reply)
			}
			if tt.records == 0 {
				return
			}
			rec := r.Records[0]
			want, _ := time.Parse(time.DateTime, tt.time)
			if !rec.Time.Equal(want) || math.Abs(rec.Lat-tt.lat) > 1e-6 || math.Abs(rec.Lon-tt.lon) > 1e-6 ||
				math.Abs(rec.SpeedKmh-tt.kmh) > 1e-9 || rec.Valid != tt.valid {
				t.Errorf("got %s %.6f %.6f %.3f km/h valid %v, want %s %.6f %.6f %.3f valid %v", rec.Time.Format(time.DateTime),
					rec.Lat, rec.Lon, rec.SpeedKmh, rec.Valid, tt.time, tt.lat, tt.lon, tt.kmh, tt.valid)
			}
			if rec.Seal != tt.seal {
				t.Errorf("seal %+v, want %+v", rec.Seal, tt.seal)
			}
		})
	}
}

// The fields beside the position: cell, network, IMEI, battery, sensors, P45 verification.
func TestDecodeAttributes(t *testing.T) {
	tests := []struct {
		frame string
		attrs map[string]any
		flags []string
	}{
		{"2480413009781914003406102107544354193631006213423b00000000006c070000000020e064f91ea0671d00020f0f0f0f0f0f0f0f0f0f07f100ea0f6e",
			map[string]any{"mcc": 234, "mnc": 15, "odometer_km": 108, "satellites": 7, "battery_percent": 100, "wake_source": 2,
				"cell_id": 0x07f1f91e, "lac": 0xa067, "gsm_signal": 29, "status": "20e0"}, nil},
		{"2460201102320112003401010000000422434199114158229e000000000009000000000010e06400000000000020100e0868817043592664000000000000",
			map[string]any{"imei": "868817043592664"}, []string{"seal_shell_opened"}},
		{"2475605035891613002328091601152806086750106533350c00000000000a000000000000e1ff4f97007f1607",
			map[string]any{"charging": true, "lbs_position": true}, nil},
		{"28383035343230313937332c312c3136382c574c4e45542c352c322c3d15022508595325169288057327940900003d1502250859551021220618730140644701011d4300000029",
			map[string]any{"temperature_c": 28.5, "humidity_percent": 67, "sensor_id": "1021220618", "sensor_battery_v": 3.2}, nil},
		{"(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
			map[string]any{"unlock_event_source": 1, "unlock_verification": 1}, nil},
		{"24624090196121001b19071703493631277203074235752f295800005308010000768b0822",
			map[string]any{"odometer_km": 30347, "fuel": 8}, []string{"charging", "blocked", "gps_antenna_cut", "overspeed", "tow"}},
	}
	for _, tt := range tests {
		frame, err := NewReader(bytes.NewReader(frameBytes(t, tt.frame)), 0).Next()
		if err != nil {
			t.Fatal(err)
		}
		r, err := Decode(frame)
		if err != nil {
			t.Fatal(err)
		}
		rec := r.Records[0]
		for k, v := range tt.attrs {
			if rec.Attrs[k] != v {
				t.Errorf("%.30s: %s = %v, want %v", tt.frame, k, rec.Attrs[k], v)
			}
		}
		if tt.flags != nil && strings.Join(rec.Flags, ",") != strings.Join(tt.flags, ",") {
			t.Errorf("%.30s: flags %v, want %v", tt.frame, rec.Flags, tt.flags)
		}
	}
}

func TestSealOf(t *testing.T) {
	const ok = StatusMotorLocked | StatusRopeInserted | StatusCoverClosed
	tests := []struct {
		status uint16
		want   Seal
	}{
		{ok, Seal{State: tracker.SealLocked}},
		{StatusRopeInserted | StatusCoverClosed, Seal{State: tracker.SealUnlocked}},
		{StatusMotorLocked | StatusCoverClosed, Seal{State: tracker.SealUnlocked}}, // rope pulled out
		{ok | StatusRopeCut, Seal{State: tracker.SealRopeCut, Event: tracker.SealEventRopeCut}},
		{ok | StatusCoverOpened, Seal{State: tracker.SealShellOpened, Event: tracker.SealEventShellOpened}},
		{ok | StatusLowBattery, Seal{State: tracker.SealLocked, BatteryLow: true}},
	}
	for _, tt := range tests {
		if got := SealOf(tt.status); got != tt.want {
			t.Errorf("SealOf(%04x) = %+v, want %+v", tt.status, got, tt.want)
		}
	}
}

// P45 verification as Jointech's SDK reads it.
func TestP45Unlock(t *testing.T) {
	tests := []struct{ source, verified, card, password, event, method string }{
		{"1", "1", "0012260888", "0", tracker.SealEventUnlocked, tracker.UnlockCard},
		{"1", "0", "0012260888", "0", tracker.SealEventUnlockRefused, tracker.UnlockCard},
		{"6", "98", "0000000000", "0", tracker.SealEventUnlocked, tracker.UnlockPassword},
		{"6", "3", "0000000000", "0", tracker.SealEventUnlocked, tracker.UnlockPassword},
		{"6", "99", "0000000000", "0", tracker.SealEventUnlockRefused, tracker.UnlockPassword},
		{"6", "0", "0000000000", "0", tracker.SealEventUnlockRefused, tracker.UnlockPassword},
		{"4", "0", "0000000000", "1", tracker.SealEventUnlocked, tracker.UnlockPassword},
		{"4", "0", "0000000000", "0", tracker.SealEventUnlockRefused, tracker.UnlockPassword},
		{"5", "0", "0000000000", "0", "", ""},
	}
	for _, tt := range tests {
		frame := "(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0," + tt.source + "," + tt.verified + "," + tt.card + "," + tt.password + ",0,7)"
		r, err := Decode([]byte(frame))
		if err != nil {
			t.Fatal(frame, err)
		}
		if s := r.Records[0].Seal; s.Event != tt.event || s.Method != tt.method {
			t.Errorf("%s: %+v, want event %q method %q", frame, s, tt.event, tt.method)
		}
	}
}

func TestLongRoundTrip(t *testing.T) {
	in := LongReport{DeviceID: "7012345678", Version: 0x19, DataType: 1, Location: Location{
		Time: time.Date(2026, 3, 1, 4, 5, 6, 0, time.UTC), Lat: 42.123456, Lon: -111.654321, Valid: true, SpeedKmh: 61.116, Course: 234},
		OdometerKm: 1234, Satellites: 9, Status: StatusRopeInserted | StatusAckRequired | StatusCoverClosed, Battery: 87,
		CellID: 0x12345678, LAC: 0x4321, Signal: 20, MCC: 460, MNC: 0, Index: 42}
	b, err := AppendLong(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	rec := r.Records[0]
	if r.DeviceID != in.DeviceID || r.Version != 0x19 || !rec.Time.Equal(in.Location.Time) || math.Abs(rec.Lat-in.Location.Lat) > 2e-6 ||
		math.Abs(rec.Lon-in.Location.Lon) > 2e-6 || rec.SpeedKmh != 33*knotKmh || rec.Course != 234 || !rec.Valid {
		t.Errorf("round trip: %+v %+v", r, rec)
	}
	if rec.Seal.State != tracker.SealUnlocked || r.Reply != "(P69,0,42)" || rec.Attrs["cell_id"] != 0x12345678 || rec.Attrs["mcc"] != 460 {
		t.Errorf("round trip: %+v %v reply %q", rec.Seal, rec.Attrs, r.Reply)
	}
	if _, err := AppendLong(nil, &LongReport{DeviceID: "12345678901"}); err == nil {
		t.Error("an 11-digit id encoded")
	}
}

func TestP45RoundTrip(t *testing.T) {
	in := P45{DeviceID: "7012345678", Time: time.Date(2026, 3, 1, 4, 5, 6, 0, time.UTC), Lat: -41.5, Lon: 111.25, Valid: true,
		EventSource: 1, Verified: 1, Card: "0012260888", Index: 12}
	r, err := Decode(AppendP45(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	rec := r.Records[0]
	if !rec.Time.Equal(in.Time) || rec.Lat != -41.5 || rec.Lon != 111.25 || rec.Seal.Event != tracker.SealEventUnlocked ||
		rec.Seal.Card != in.Card || r.Reply != "(P69,0,12)" {
		t.Errorf("round trip: %+v %+v", r, rec)
	}
}

// The reader over a stream: frames back to back, split over reads, junk between them.
func TestReaderStream(t *testing.T) {
	frames := []string{
		"24315011626912001b21111718095900000000000000000e0000005c000000000000000000",
		"(3460311327,@JT)",
		"2480413009781914003406102107544354193631006213423b00000000006c070000000020e064f91ea0671d00020f0f0f0f0f0f0f0f0f0f07f100ea0f6e",
		"(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
	}
	var stream []byte
	for _, f := range frames {
		stream = append(stream, "\r\nxx"...)
		stream = append(stream, frameBytes(t, f)...)
	}
	r := NewReader(iotest.OneByteReader(bytes.NewReader(stream)), 0)
	for _, f := range frames {
		got, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, frameBytes(t, f)) {
			t.Fatalf("got %x, want %s", got, f)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	if r.Skipped() != 4*4 {
		t.Errorf("skipped %d bytes, want 16", r.Skipped())
	}
}

// Traccar's frame decoder test: three short frames in one read.
func TestReaderThreeFrames(t *testing.T) {
	raw := unhex(t, "24315011626912001b21111718095900000000000000000e0000005c00000000000000000024315011626912001b22111708130400000000000000000e0000005a00000000000000000024315011626912001b22111708140400000000000000000e0000005a000000723e18a61b01")
	r := NewReader(bytes.NewReader(raw), 0)
	for i := range 3 {
		f, err := r.Next()
		if err != nil {
			t.Fatal(i, err)
		}
		if _, err := Decode(f); err != nil {
			t.Fatal(i, err)
		}
	}
}

// Malformed input is skipped frame by frame; what follows is still read.
func TestReaderRejects(t *testing.T) {
	good := "(3460311327,@JT)"
	tests := []struct {
		name, input, reason string
	}{
		{"length beyond the limit", "24315011626912ffff", ReasonTooLarge},
		{"length not a record multiple", "24315011626912001a21111718095900000000000000000e0000005c0000000000000000", ReasonMalformed},
		{"id not BCD", "243150116a6912001b21111718095900000000000000000e0000005c000000000000000000", ReasonMalformed},
		{"text never closed", "(3460311327,@JT" + strings.Repeat("x", 3000), ReasonTooLarge},
		{"text cut short by another", "(34603113", ReasonMalformed},
		{"a flood of starts", strings.Repeat("(", 100000), ReasonMalformed},
		{"a flood of binary starts", strings.Repeat("24", 100000), ReasonTooLarge},
		{"bad text escape", "(1,WLNET,5,=\x07)", ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.input
			if !strings.HasPrefix(in, "(") {
				in = string(unhex(t, in))
			}
			r := NewReader(strings.NewReader(in+good), 0)
			var reasons []string
			for {
				f, err := r.Next()
				var fe *FrameError
				if errors.As(err, &fe) {
					reasons = append(reasons, fe.Reason)
					continue
				}
				if err != nil {
					t.Fatalf("never reached the good frame: %v (rejected %v)", err, reasons)
				}
				if string(f) == good {
					break
				}
			}
			if len(reasons) == 0 || reasons[0] != tt.reason {
				t.Errorf("rejections %v, want first %s", reasons, tt.reason)
			}
		})
	}
}

// Frames that pass the reader but not the decoder: an error, never a position.
func TestDecodeRejects(t *testing.T) {
	for _, s := range []string{
		"24311021600111001B16131105591022329862114046227B0598095080012327951435161F", // month 13
		"24311021600111001B16021105591022999862114046227B0598095080012327951435161F", // 99 minutes
		"24311021600111001B16021105591022329862114A46227B0598095080012327951435161F", // longitude not BCD
		"(2050018634,P45,051124,204046,91.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
		"(2050018634,P45,051124,204046,9.861502,X,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
		"(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0)",
		"(2050018634,P45,310224,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
		"(2050018634,P45,051124,204046,9.861502,N,-83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
		"(2050018634,P45,051124,204046,NaN,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)",
		"(20500x8634,@JT)",
		"(3110312099,W01,11464.6204,E,2232.9961,N,A,040511,063736,4,7,100,4,17,1,1,company)",
	} {
		if r, err := Decode(frameBytes(t, s)); err == nil {
			t.Errorf("%s decoded: %+v", s, r)
		}
	}
}

// A sensor report's binary payload holding every byte the text frame escapes survives the
// escaping and the reader.
func TestWLNET5Escaping(t *testing.T) {
	loc := Location{Time: time.Date(2028, 2, 28, 8, 59, 53, 0, time.UTC), Lat: -25.282147, Lon: -57.546567, Valid: true}
	payload := AppendLocation(nil, &loc)
	payload = append(payload, 0x28, 0x02, 0x25, 0x08, 0x59, 0x55) // sensor time
	payload = append(payload, '(', ')', ',', '=', 0x3d)           // sensor id
	payload = append(payload, 0x29, 0x01, 0x40, 0x64, 0x47, 0x01) // serial ')', battery, level, rssi, type
	payload = append(payload, 0x01, 0x1d, 0x43, 0, 0, 0)          // 28.5 °C, 67 %
	frame := AppendEscapedText([]byte("(8054201973,1,168,WLNET,5,2,"), payload)
	frame = append(frame, ')')
	if bytes.Count(frame, []byte("(")) != 1 || bytes.Count(frame, []byte(")")) != 1 {
		t.Fatalf("escaped frame %q", frame)
	}
	got, err := NewReader(bytes.NewReader(frame), 0).Next()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	rec := r.Records[0]
	if r.Index != 0x29 || r.Reply != "(P69,0,41)" || rec.Attrs["sensor_id"] != "28292C3D3D" || rec.Attrs["temperature_c"] != 28.5 ||
		!rec.Time.Equal(loc.Time) || math.Abs(rec.Lat-loc.Lat) > 2e-6 {
		t.Errorf("report %+v %+v", r, rec)
	}
}
