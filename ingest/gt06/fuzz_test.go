package gt06

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// FuzzDecode feeds arbitrary bytes through the stream reader and every decoder. Nothing may
// panic, the reader must always make progress, a frame that parses must encode back to the
// same bytes, a decoded position lies on the globe, and one the 2G layouts can carry encodes
// again. The seeds are a frame of every message and layout the package decodes, Traccar's
// test frames among them.
func FuzzDecode(f *testing.F) {
	for _, tt := range traccarFrames {
		f.Add(unhex(f, tt.frame))
	}
	for _, s := range []string{
		"78780d01086047006787306105d4e2970d0a",
		"787811010863586038760942a0010000010aa4000d0a",
		"78781f12190c1a04392dc502b1d88008238f42215561019446039f003b30068a5ffd0d0a",
		"787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A",
		"7878252612030C063816C3026C10540C38C9700144030901CC002866000EEE0C06040302000DA2DB0D0A",
		"78780a13429205000205ccdab20d0a",
		"797900377000000001020035000103002c0004616219d00043000b013601048153931500001a0001000808652820400643521000000101004e46760d0a",
		"7878121011091c0b1e2e98058507f80097a6ac03344a0d0a",
		"78780B23050F920400020008 8A370D0A",                                               // Concox 0x23 example
		"78781219 01CC00287D001F71 2004040101 0094 6C89 0D0A",                             // Concox 0x19 example
		"78780d010359339075005244340d0a 7878121011091c0b1b2999058508040097a89e0034520d0a", // a clone without CRC
	} {
		f.Add(unhex(f, s))
	}
	zone := time.FixedZone("", 8*3600)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 512)
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("reader makes no progress")
			}
			p, err := r.Next()
			var fe *FrameError
			if errors.As(err, &fe) {
				continue
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			frame := AppendFrame(nil, p)
			q, err := ParseFrame(frame)
			if err != nil || q.Protocol != p.Protocol || q.Serial != p.Serial || !bytes.Equal(q.Content, p.Content) {
				t.Fatalf("re-encoded %+v does not parse back: %+v, %v", p, q, err)
			}
			for _, proto := range []byte{ProtoLogin, ProtoGPS, ProtoGPSLBS, ProtoGPSLBS2, ProtoStatus, ProtoAlarm, ProtoAlarm2} {
				p.Protocol = proto
				switch proto {
				case ProtoLogin:
					if l, err := DecodeLogin(p); err == nil {
						if _, err := l.Packet(p.Serial); err != nil {
							t.Fatalf("decoded login %+v does not encode: %v", l, err)
						}
					}
				case ProtoStatus:
					DecodeStatus(p)
				default:
					l, err := DecodeLocation(p, zone)
					if err != nil || !fits2G(l) {
						continue
					}
					if _, err := l.Packet(proto, p.Serial, zone); err != nil {
						t.Fatalf("decoded location %+v does not encode: %v", l, err)
					}
				}
			}
			if i >= 64 { // the reader goes on; the decoders have seen enough of this input
				continue
			}
			for proto := range 256 {
				if !known(byte(proto)) {
					continue
				}
				p.Protocol = byte(proto)
				for _, ext := range []bool{false, true} {
					p.Extended = ext
					if l, err := DecodeLocation(p, zone); err == nil {
						if !(math.Abs(l.Lat) <= 90 && math.Abs(l.Lon) <= 180) || l.Time.Year() < 1970 {
							t.Fatalf("0x%02X decoded to %+v", proto, l)
						}
						ToFix(l, tracker.Device{ID: "1", VehicleID: "1"}, time.Time{})
					}
					DecodeInfo(p)
					DecodeHeartbeat(p)
					if a, err := DecodeAlarmReport(p, zone); err == nil {
						now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
						if ev := AlarmEvent(a, p.Protocol, tracker.Device{ID: "1", VehicleID: "1"}, now); ev.Time.IsZero() || ev.Attrs["flags"] == nil {
							t.Fatalf("0x%02X alarm %+v made event %+v", proto, a, ev)
						}
					}
				}
			}
		}
	})
}

// fits2G reports whether the encoder's layouts (a 2G cell, a one-byte alarm code) can carry l.
func fits2G(l Location) bool {
	c := l.LBS
	return c.MCC <= 0x7FFF && c.MNC <= 0xFF && c.LAC <= 0xFFFF && c.CellID <= 0xFFFFFF && l.Status.Alarm <= 0xFF
}
