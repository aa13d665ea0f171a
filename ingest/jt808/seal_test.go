package jt808

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const sealSource = "Traccar Jt808ProtocolDecoderTest"

// sealFrames are Jointech seals' 0x5501/0x5502 frames from Traccar's tests. Time, position and
// speed were worked out by hand from the bytes (Traccar asserts none of them); the two frames
// that fail are as published: one carries a wrong checksum, one an unescaped 7E.
var sealFrames = []struct {
	name, frame   string
	err           error
	phone         string
	id            uint16
	ack           bool
	time          string
	lat, lon, kmh float64
	valid         bool
	seal, event   string
	method        string
}{
	{"Jointech seal 0x5501 password unlock", "7e55018c418560090010174701022106242122348476113550490700001c06000000074e0000000000000308100000100102020200000a030000000b0803363839363037650c0600000001000afa7e",
		nil, "856009001017", MsgSealLocation, true, "2021-02-01 06:24:21", 22.580793, 113.917483, 0, true,
		tracker.SealUnlocked, tracker.SealEventUnlocked, tracker.UnlockPassword},
	{"Jointech seal 0x5501 with a wrong checksum", "7e55018c378580120300032a06052117594022348474113550560705981e0400000002370ac30c0c28660308000000100101020200000a0301cc000c0600a2ffa7ff5e1b7e",
		ErrChecksum, "", 0, false, "", 0, 0, 0, false, "", "", ""},
	{"Jointech seal 0x5502 from memory, charging", "7e55028c37850011000200c008052106305122348621113550170700001e080000000aaa0000000000000300000000100100020200140a030000000c06003bffa8ffc3c77e",
		nil, "850011000200", MsgSealLocationBlind, true, "2021-05-08 06:30:51", 22.581035, 113.916950, 0, true, tracker.SealUnlocked, "", ""},
	{"Jointech seal 0x5501 tilt, unescaped 7E in the body", "7e55019c3b8571110003399a07032310302029538631031015370500001a0c000000265700440001233703080000001001020202000a0a04028f000af401040c06ff98ffa8007e707e",
		ErrMalformed, "", 0, false, "", 0, 0, 0, false, "", "", ""},
	{"Jointech padlock 0x5501 Colombia, no fix", "7e550104337401903111850622072002454206133574075359513a0000080100000001aa00005ded05e203000000000c06005affb5ffb40a0302dc65100100137e",
		nil, "740190311185", MsgSealLocation, false, "2020-07-22 02:45:42", 6.222623, -75.599188, 0, false, tracker.SealUnlocked, "", ""},
	{"Jointech padlock 0x5502 lock command without result", "7e55028436740190311185091607200239270613212607536108630000170a000000014600005ded05e203000000000b010d0c06005b003e00ab0a0302dc65100100a37e",
		nil, "740190311185", MsgSealLocationBlind, true, "2020-07-16 02:39:27", 6.220210, -75.601810, 0, true, tracker.SealUnlocked, "", ""},
	{"Jointech tracker 0x5501 product 1", "7E550100287001608180000127061008045322332880113555602E050031010000000608000010931435010002000300030100051B7E",
		nil, "700160818000", MsgSealLocation, false, "2010-06-27 08:04:53", 22.554800, 113.926003, 5 * 1.852, false, "", "", ""},
}

func TestDecodeSealFrames(t *testing.T) {
	dev := tracker.Device{ID: "d", VehicleID: "v"}
	for _, tt := range sealFrames {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.frame)
			if !IsShortHeader(wire[1:]) {
				t.Fatal("not recognised as a short header")
			}
			f, err := DecodeShortFrame(wire[1 : len(wire)-1])
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v (%s)", err, tt.err, sealSource)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v (%s)", err, sealSource)
			}
			if f.Phone.String() != tt.phone || f.MsgID != tt.id || f.Ack != tt.ack {
				t.Fatalf("header %s %04x ack %v", f.Phone, f.MsgID, f.Ack)
			}
			l, err := DecodeSealLocation(f.Body)
			if err != nil {
				t.Fatal(err)
			}
			fix := l.Fix(dev, f.MsgID == MsgSealLocationBlind, time.Time{})
			want, _ := time.Parse(time.DateTime, tt.time)
			if !fix.Time.Equal(want) || math.Abs(fix.Lat-tt.lat) > 1e-6 || math.Abs(fix.Lon-tt.lon) > 1e-6 ||
				math.Abs(fix.SpeedKmh-tt.kmh) > 1e-9 || fix.Valid != tt.valid {
				t.Errorf("got %s %.6f %.6f %.3f km/h valid %v, want %s %.6f %.6f %.3f %v", fix.Time.Format(time.DateTime), fix.Lat,
					fix.Lon, fix.SpeedKmh, fix.Valid, tt.time, tt.lat, tt.lon, tt.kmh, tt.valid)
			}
			if fix.Late != (tt.id == MsgSealLocationBlind) || fix.HasFlag(tracker.FlagBlindArea) != fix.Late {
				t.Errorf("late %v flags %v", fix.Late, fix.Flags)
			}
			if got := fix.Attrs[tracker.AttrSealState]; tt.seal != "" && got != tt.seal || tt.seal == "" && got != nil {
				t.Errorf("seal state %v, want %q", got, tt.seal)
			}
			if got := fix.Attrs[tracker.AttrSealEvent]; tt.event != "" && got != tt.event || tt.event == "" && got != nil {
				t.Errorf("seal event %v, want %q", got, tt.event)
			}
			if got := fix.Attrs[tracker.AttrUnlockMethod]; tt.method != "" && got != tt.method || tt.method == "" && got != nil {
				t.Errorf("unlock method %v, want %q", got, tt.method)
			}
		})
	}
}

// The items beside the position; the unlock password is not kept.
func TestSealItems(t *testing.T) {
	wire := unhex(t, "7e550104337401903111850622072002454206133574075359513a0000080100000001aa00005ded05e203000000000c06005affb5ffb40a0302dc65100100137e")
	f, err := DecodeShortFrame(wire[1 : len(wire)-1])
	if err != nil {
		t.Fatal(err)
	}
	l, _ := DecodeSealLocation(f.Body)
	fix := l.Fix(tracker.Device{}, false, time.Time{})
	for k, v := range map[string]any{"mcc": 732, "mnc": 101, "charging": true, "cell_id": 0x5ded, "lac": 0x05e2, "product": 3,
		"gsm_signal": 8, "satellites": 1, "odometer_km": 1, "wake_source": 0} {
		if fix.Attrs[k] != v {
			t.Errorf("%s = %v, want %v", k, fix.Attrs[k], v)
		}
	}
	if fix.Attrs["tilt"] != [3]int{90, -75, -76} {
		t.Errorf("tilt %v", fix.Attrs["tilt"])
	}
	wire = unhex(t, sealFrames[0].frame)
	f, _ = DecodeShortFrame(wire[1 : len(wire)-1])
	l, _ = DecodeSealLocation(f.Body)
	fix = l.Fix(tracker.Device{}, false, time.Time{})
	for k, v := range fix.Attrs {
		if s, ok := v.(string); ok && bytes.Contains([]byte(s), []byte("689607")) || bytes.Contains([]byte(k), []byte("password")) {
			t.Errorf("the unlock password is kept: %s = %v", k, v)
		}
	}
	if fix.Attrs["unlock_result"] != 0x65 || fix.Attrs["lock_command"] != 3 {
		t.Errorf("lock event %v", fix.Attrs)
	}
}

func TestShortResponse(t *testing.T) {
	// 7E 4401 0003 phone 01 | 5501 00 | checksum 7E, as Traccar answers.
	got := AppendShortResponse(nil, mustPhone("856009001017", false), MsgSealLocation, ResultOK)
	body := unhex(t, "4401 0003 856009001017 01 5501 00")
	want := append(append([]byte{0x7e}, body...), Checksum(body), 0x7e)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %X, want %X", got, want)
	}
}

func TestServerSealLocation(t *testing.T) {
	ts := startServer(t, Config{Admission: &tracker.Admission{Devices: devices{
		"856009001017": {ID: "856009001017", Protocol: tracker.ProtocolJT808, VehicleID: "sealed-1"},
		"740190311185": {ID: "740190311185", Protocol: tracker.ProtocolJT808, VehicleID: "sealed-2", AuthCode: "c0de"},
	}}})
	tm := dial(t, ts.addr, "856009001017", false)
	// An unlock asking for an answer: stored, then 0x4401.
	tm.write(unhex(t, sealFrames[0].frame))
	tm.expect(AppendShortResponse(nil, mustPhone("856009001017", false), MsgSealLocation, ResultOK))
	// A wrong checksum and a frame cut by an unescaped 7E are dropped; the connection goes on,
	// and a standard heartbeat is answered as usual.
	tm.write(unhex(t, sealFrames[1].frame))
	tm.write(unhex(t, sealFrames[3].frame))
	tm.write(tm.frame(MsgHeartbeat, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(0, MsgHeartbeat, ResultOK)))
	if got := ts.rejected(reasonChecksum); got != 2 {
		t.Errorf("checksum rejections %v, want 2", got)
	}
	b := ts.sink.take()
	if len(b) != 1 || b[0][0].VehicleID != "sealed-1" || b[0][0].Attrs[tracker.AttrSealEvent] != tracker.SealEventUnlocked {
		t.Fatalf("stored %+v", b)
	}

	// A device with an auth code that has not authenticated: failure, nothing stored.
	tm2 := dial(t, ts.addr, "740190311185", false)
	tm2.write(unhex(t, sealFrames[5].frame))
	tm2.expect(AppendShortResponse(nil, mustPhone("740190311185", false), MsgSealLocationBlind, ResultFailure))
	// An unknown seal: failure, nothing stored.
	tm3 := dial(t, ts.addr, "850011000200", false)
	tm3.write(unhex(t, sealFrames[2].frame))
	tm3.expect(AppendShortResponse(nil, mustPhone("850011000200", false), MsgSealLocationBlind, ResultFailure))
	if b := ts.sink.take(); len(b) != 0 {
		t.Errorf("stored %+v", b)
	}
}

// FuzzDecodeSeal feeds arbitrary frame contents to the short-header decoder and the location
// decoder: nothing may panic, and whatever decodes lies on the earth.
func FuzzDecodeSeal(f *testing.F) {
	for _, tt := range sealFrames {
		w := unhex(f, tt.frame)
		f.Add(w[1 : len(w)-1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		IsShortHeader(data)
		fr, err := DecodeShortFrame(append([]byte(nil), data...))
		if err != nil {
			return
		}
		l, err := DecodeSealLocation(fr.Body)
		if err != nil {
			return
		}
		fix := l.Fix(tracker.Device{ID: "d", VehicleID: "v"}, false, time.Time{})
		if math.Abs(fix.Lat) > 90 || math.Abs(fix.Lon) > 180 || fix.SpeedKmh < 0 || fix.Flags == nil {
			t.Fatalf("fix %+v", fix)
		}
	})
}
