package jt808

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"reflect"
	"testing"

	"github.com/borderwatch/borderwatch/tracker"
)

type discardSink struct{}

func (discardSink) Submit(context.Context, []tracker.Fix) error { return nil }

type discardEvents struct{}

func (discardEvents) Emit(context.Context, []tracker.Event, []tracker.Alert) error { return nil }

// FuzzDecode feeds arbitrary streams to the scanner, the frame and body decoders and the
// gateway's frame handling. Decoded frames and bodies must encode back to what was decoded.
// The seed corpus is in testdata/fuzz/FuzzDecode (real frames, split and concatenated).
func FuzzDecode(f *testing.F) {
	srv, err := NewServer(Config{
		Sink:   discardSink{},
		Events: discardEvents{},
		Logger: slog.New(slog.DiscardHandler),
		Admission: &tracker.Admission{Devices: devices{
			"12345678901": {ID: "12345678901", Protocol: tracker.ProtocolJT808},
			"13912344329": {ID: "13912344329", Protocol: tracker.ProtocolJT808, AuthCode: "c0de"},
		}},
	})
	if err != nil {
		f.Fatal(err)
	}
	local, remote := net.Pipe()
	defer local.Close()
	defer remote.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newConn(srv, local)
		c.ctx = context.Background() // serve sets ctx; batched locations are submitted with it
		sc := NewScanner(bytes.NewReader(data), 1024)
		for {
			fr, err := sc.Next()
			if errors.Is(err, ErrFrameTooLarge) {
				continue
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(fr) > 1024 || bytes.IndexByte(fr, 0x7e) >= 0 {
				t.Fatalf("scanner returned %x", fr)
			}
			raw := bytes.Clone(fr)
			checkFrame(t, fr)
			c.handle(context.Background(), raw)
			c.releaseReplies()
		}
	})
}

func checkFrame(t *testing.T, raw []byte) {
	fr, _, err := DecodeFrame(raw)
	if err != nil {
		return
	}
	h := fr.Header
	wire, err := AppendFrame(nil, &h, fr.Body)
	if err != nil {
		t.Fatalf("re-encoding %+v: %v", h, err)
	}
	again, _, err := DecodeFrame(wire[1 : len(wire)-1])
	if err != nil || again.Header != h || !bytes.Equal(again.Body, fr.Body) {
		t.Fatalf("frame round trip: %+v %x %v, want %+v %x", again.Header, again.Body, err, h, fr.Body)
	}
	body := fr.Body
	var l Location
	if err := DecodeLocation(body, &l); err == nil {
		checkLocation(t, &l)
	}
	if b, err := DecodeBatch(body); err == nil {
		for _, it := range b.Items {
			if DecodeLocation(it, &l) == nil {
				checkLocation(t, &l)
			}
		}
		if enc := AppendBatch(nil, b.Type, b.Items...); !bytes.Equal(enc, body) {
			t.Fatalf("batch round trip: %x, want %x", enc, body)
		}
	}
	if r, err := DecodeRegister(body, h.V2019); err == nil {
		if enc, err := AppendRegister(nil, &r); err == nil && r.Version != V2011 {
			if r2, err := DecodeRegister(enc, h.V2019); err != nil || r2 != r {
				t.Fatalf("register round trip: %+v %v, want %+v", r2, err, r)
			}
		}
	}
	a := DecodeAuth(body, h.V2019)
	v := V2013
	if h.V2019 {
		v = V2019
	}
	if enc, err := AppendAuth(nil, &a, v); err == nil {
		if a2 := DecodeAuth(enc, h.V2019); a2 != a {
			t.Fatalf("auth round trip: %+v, want %+v", a2, a)
		}
	}
	checkBody(t, body, h.V2019)
	if g, err := DecodeGeneralResponse(body); err == nil && !bytes.Equal(AppendGeneralResponse(nil, g), body) {
		t.Fatalf("general response round trip of %x", body)
	}
	if r, err := DecodeRegisterResponse(body); err == nil && r.Result == RegisterOK &&
		!bytes.Equal(AppendRegisterResponse(nil, r), body) {
		t.Fatalf("register response round trip of %x", body)
	}
}

// checkBody runs the decoders of the messages that are not in every frame's path — pass-through,
// location lists, waybills, driver identity — on a body: no panic, and what encodes back must
// decode to the same.
func checkBody(t *testing.T, body []byte, v2019 bool) {
	if p, err := DecodePassThrough(body); err == nil && p.HasLoc {
		if l := p.Loc; math.IsNaN(l.Lat) || math.Abs(l.Lat) > 4295 || math.Abs(l.Lon) > 4295 || l.Time.IsZero() && p.Type == PassGNSS {
			t.Fatalf("pass-through position %+v", l)
		}
	}
	if items, _, err := DecodeLocationList(body); err == nil && items != nil {
		var l Location
		for _, it := range items {
			if DecodeLocation(it, &l) == nil {
				checkLocation(t, &l)
			}
		}
		if enc, err := AppendLocationList(nil, items...); err != nil || !bytes.Equal(enc, body) {
			t.Fatalf("location list round trip: %x %v, want %x", enc, err, body)
		}
	}
	if w, err := DecodeWaybill(body); err == nil && !bytes.Equal(AppendWaybill(nil, w.Content), body) {
		t.Fatalf("waybill round trip of %x", body)
	}
	if d, err := DecodeDriverIdentity(body, v2019); err == nil {
		if enc, err := AppendDriverIdentity(nil, &d); err == nil {
			if back, err := decodeDriverIdentity(enc, d.Version); err != nil || back != d {
				t.Fatalf("driver identity round trip: %+v %v, want %+v", back, err, d)
			}
		}
	}
	var l Location
	l.Items = body
	l.Attrs()
}

// FuzzBody feeds arbitrary bodies straight to the body decoders, faster to reach their depths
// than through frames. Seeds: the bodies of the real frames.
func FuzzBody(f *testing.F) {
	for _, rf := range realFrames {
		b, err := hex.DecodeString(rf.wire)
		if err != nil {
			f.Fatal(err)
		}
		if fr, _, err := DecodeFrame(b[1 : len(b)-1]); err == nil {
			f.Add(fr.Body, fr.Header.V2019)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, v2019 bool) {
		checkBody(t, body, v2019)
		var l Location
		if DecodeLocation(body, &l) == nil {
			checkLocation(t, &l)
		}
	})
}

func checkLocation(t *testing.T, l *Location) {
	if math.IsNaN(l.Lat) || math.Abs(l.Lat) > 4295 || math.Abs(l.Lon) > 4295 {
		t.Fatalf("coordinates %v %v", l.Lat, l.Lon)
	}
	var back Location
	if err := DecodeLocation(AppendLocation(nil, l), &back); err != nil || !reflect.DeepEqual(&back, l) {
		t.Fatalf("location round trip: %+v %v, want %+v", back, err, *l)
	}
	l.Attrs()
	l.AppendFlags(nil)
}
