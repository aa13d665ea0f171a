package gt06

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// FuzzDecode feeds arbitrary bytes through the stream reader and every decoder. Nothing may
// panic, the reader must always make progress, and a frame that parses must encode back to
// the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"78780d01086047006787306105d4e2970d0a",
		"787811010863586038760942a0010000010aa4000d0a",
		"78781f12190c1a04392dc502b1d88008238f42215561019446039f003b30068a5ffd0d0a",
		"787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A",
		"7878252612030C063816C3026C10540C38C9700144030901CC002866000EEE0C06040302000DA2DB0D0A",
		"78780a13429205000205ccdab20d0a",
		"797900377000000001020035000103002c0004616219d00043000b013601048153931500001a0001000808652820400643521000000101004e46760d0a",
		"7878121011091c0b1e2e98058507f80097a6ac03344a0d0a",
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
					if err != nil {
						continue
					}
					if _, err := l.Packet(proto, p.Serial, zone); err != nil {
						t.Fatalf("decoded location %+v does not encode: %v", l, err)
					}
					ToFix(l, tracker.Device{ID: "1", VehicleID: "1"}, time.Time{})
				}
			}
		}
	})
}
