package jt600

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// FuzzDecode feeds arbitrary bytes through the stream reader and the decoder. Nothing may
// panic, the reader must always make progress and never return a frame over its limit, and
// whatever decodes must hold a position on the earth and a real time.
func FuzzDecode(f *testing.F) {
	for _, tt := range realFrames {
		f.Add(frameBytes(f, tt.frame))
	}
	f.Add([]byte("(1,WLNET,5,=\x15=\x14=\x11=\x00)"))
	f.Add([]byte("$$$((()))"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 512
		r := NewReader(bytes.NewReader(data), limit)
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("reader makes no progress")
			}
			frame, err := r.Next()
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
			if len(frame) > limit {
				t.Fatalf("%d-byte frame over the %d limit", len(frame), limit)
			}
			rep, err := Decode(frame)
			if err != nil {
				continue
			}
			for i, rec := range rep.Records {
				if math.IsNaN(rec.Lat) || math.IsNaN(rec.Lon) || math.Abs(rec.Lat) > 90 || math.Abs(rec.Lon) > 180 ||
					rec.SpeedKmh < 0 || math.IsNaN(rec.SpeedKmh) || math.IsInf(rec.SpeedKmh, 0) || rec.Course < 0 || rec.Course >= 360 {
					t.Fatalf("record %+v of %q", rec, frame)
				}
				if !rec.Time.IsZero() && (rec.Time.Year() < 2000 || rec.Time.Year() > 2099) {
					t.Fatalf("time %v of %q", rec.Time, frame)
				}
				fix := ToFix(&rep, i, tracker.Device{ID: rep.DeviceID, VehicleID: "v"}, time.Time{})
				if fix.DeviceID == "" || fix.Flags == nil {
					t.Fatalf("fix %+v", fix)
				}
			}
		}
	})
}
