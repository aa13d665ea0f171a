package gt06

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/borderwatch/borderwatch/tracker"
)

// sendHex writes a frame given in hex.
func (d *device) sendHex(frame string) {
	d.t.Helper()
	if _, err := d.c.Write(unhex(d.t, frame)); err != nil {
		d.t.Fatal(err)
	}
}

// next reads the server's next frame.
func (d *device) next() Packet {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := NewReader(d.r, 0).Next()
	if err != nil {
		d.t.Fatalf("waiting for an answer: %v", err)
	}
	return p
}

// TestServerTimeRequest: a time request gets the server's time in UTC, whatever zone the
// device's login announced, and the request's serial.
func TestServerTimeRequest(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061")) // announces UTC+8
	d.sendHex("7878058A000688290D0A")                   // Concox's example request, serial 0x0006
	got := d.next()
	want := Packet{Protocol: ProtoTime, Content: []byte{26, 3, 1, 3, 0, 0}, Serial: 6} // 2026-03-01 03:00:00 UTC
	if got.Protocol != want.Protocol || got.Serial != want.Serial || !bytes.Equal(got.Content, want.Content) {
		t.Errorf("time reply %+v, want %+v", got, want)
	}
}

// TestServerAnswers: each kind of packet gets the answer its protocol expects, in order.
func TestServerAnswers(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))

	d.sendHex("78780B23C00122040001000818720D0A") // heartbeat 0x23, serial 0x0008
	d.expectAck(ProtoHeartbeat, 0x0008)
	d.sendHex("79790020940a035985708236675805200502187214018966051912408052452f000355560d0a") // ICCID: no answer
	d.sendHex("787819a5012ed0000075df000000000098661502050413000019a12b0d0a")                 // 0xA5 tamper, serial 0x0019
	d.expectAck(ProtoLBSAlarm4G, 0x0019)
	d.sendHex("78781219028f0a29e10036f12003040102000875dc0d0a") // 0x19 SOS without position
	d.expectAck(ProtoLBSAlarm, 0x0008)
	d.sendHex("78786CA1110B0413093801CC01000025FC000000000618C10201000025FC000000000618C10201000025FC000000000618C10201000025FC000000000618C10201000025FC000000000618C10201000025FC000000000618C10201000025FC000000000618C10201FF0002000541D70D0A") // 0xA1 cells
	d.expectAck(ProtoLBS4G, 0x0005)
	if n := len(ts.sink.all()); n != 0 {
		t.Fatalf("%d fixes stored from packets without position", n)
	}

	d.sendHex("787829a01707150f2d0ecd01635100041e96d000087c02d4020000912e000000000718798d000e0006ed3ce50d0a") // 0xA0
	ts.sink.wait(t)
	d.expectAck(ProtoGPSLBS4G, 0x06ed)
	d.sendHex("7979004a321106170c1b180cc900a875580b7ab4f00010350901fe0a007c0009112424007c000912240081004efe2100c500100f1200000000000000000000000000000000000000000000bc7c900d0a") // AZ735, extended
	ts.sink.wait(t)
	if p := d.next(); !p.Extended || p.Protocol != ProtoGPSLBSStatus4 || p.Serial != 0x00bc {
		t.Errorf("AZ735 answer %+v, want an extended ack of serial 00BC", p)
	}
	d.sendHex("797900a87000000001020035000100003300125d62bf3a0800e804b5994308814a87001d5d00340006115d62bf29000011000a012e02620000000000000001000803537601000129800002000803102608593397620003000a8901260852293397626600180002017d002b000116002c00045d6278ea0009000108000a00010b002800010b002e00040000f0c1002a00010000290004000000be0030000a000100b4000a00b402d00006c5490d0a") // 0x70, extended, acknowledged short
	ts.sink.wait(t)
	d.expectAck(ProtoModular, 0x0006)

	d.send(Packet{Protocol: 0x7E, Content: []byte{1, 2, 3}, Serial: 0x0101}) // unknown, short: generic ack
	d.expectAck(0x7E, 0x0101)
	d.send(Packet{Protocol: 0x81, Content: []byte{1}, Serial: 0x0102}) // unknown command answer: none
	d.send(Packet{Extended: true, Protocol: 0xFD, Serial: 0x0103})     // unknown, extended: none
	d.send(Status{Language: 2}.Packet(0x0104))
	d.expectAck(ProtoStatus, 0x0104)

	if err := testutil.GatherAndCompare(ts.reg, strings.NewReader(`
# HELP bw_gt06_unknown_messages_total GT06 packets of a protocol number the gateway does not know, by number.
# TYPE bw_gt06_unknown_messages_total counter
bw_gt06_unknown_messages_total{msg_id="0x7e",protocol="gt06"} 1
bw_gt06_unknown_messages_total{msg_id="0x81",protocol="gt06"} 1
bw_gt06_unknown_messages_total{msg_id="0xfd",protocol="gt06"} 1
`), "bw_gt06_unknown_messages_total"); err != nil {
		t.Error(err)
	}
	for _, id := range []string{"0x23", "0x94", "0xa5", "0x19", "0xa1", "0xa0", "0x32", "0x70"} {
		if got := value(ts.srv.m.frames.WithLabelValues(id)); got != 1 {
			t.Errorf("frames{%s} = %v, want 1", id, got)
		}
	}
}

// TestServerAlarmLBSLength8: an SOS whose LBS length byte is 8, as current firmware sends it,
// is stored and acknowledged, and not acknowledged while it cannot be stored (so it is resent).
func TestServerAlarmLBSLength8(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))
	// TR08X 0x26, LBS length 08, alarm 0C; then G18 0x16, LBS length 08 (Traccar 18513d794, e718b74be).
	tr08x := "78782526160913063918c002780fab0c44750f00040008027f14084c0038420600030c020007398e0d0a"
	g18 := "787825161a011c141001cf00bc62e0043533a231113808028005006800124b470603300204baa49a0d0a"

	ts.sink.setErr(errors.New("disk full"))
	d.sendHex(tr08x)
	ts.sink.wait(t)
	ts.sink.setErr(nil)
	d.sendHex(tr08x) // resent
	ts.sink.wait(t)
	d.expectAck(ProtoAlarm2, 0x0007) // the first answer is the resend's
	d.sendHex(g18)
	ts.sink.wait(t)
	d.expectAck(ProtoAlarm, 0x04ba)
	if n := len(ts.sink.all()); n != 2 {
		t.Errorf("%d fixes stored, want 2", n)
	}
}

// TestServerNoCRCClone: a clone that sends its login and GPS packets without serial and CRC
// is logged in (acknowledged with serial 0) and its positions stored.
func TestServerNoCRCClone(t *testing.T) {
	ts := startServer(t, true)
	d := dial(t, ts.addr)
	d.sendHex("78780d010359339075005244340d0a") // Traccar 6c2ef65bc
	d.expectAck(ProtoLogin, 0)
	d.sendHex("7878121011091c0b1b2999058508040097a89e0034520d0a")
	ts.sink.wait(t)
	f := ts.sink.all()[0]
	if f.DeviceID != "359339075005244" || !f.Time.Equal(time.Date(2017, 9, 28, 11, 27, 41, 0, time.UTC)) { // no zone in the login: UTC
		t.Errorf("fix %+v", f)
	}
}

// TestServerIMEIInFrame: a frame that names another IMEI (NT20, QH302R) is stored as the
// logged-in device's: the connection's login, not the frame, says who reports.
func TestServerIMEIInFrame(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))
	d.sendHex("7878271208667030665022971a020c0a1e32c601727c1c0f89af002c14fa01366e000100010c003c1fdd0d0a") // IMEI 866703066502297
	ts.sink.wait(t)
	if f := ts.sink.all()[0]; f.DeviceID != "860470067873061" || f.VehicleID != "truck-7" {
		t.Errorf("stored as device %q vehicle %q", f.DeviceID, f.VehicleID)
	}
}

// TestServerEveryProtocolNumber plays every protocol number, short and extended, with random
// content: nothing panics, the connection goes on, the unknown-message series stay bounded.
func TestServerEveryProtocolNumber(t *testing.T) {
	ts := startServer(t, false)
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	for i := range 512 {
		content := make([]byte, rng.IntN(80))
		for j := range content {
			content[j] = byte(rng.Uint32())
		}
		p := Packet{Extended: i >= 256, Protocol: byte(i), Content: content, Serial: uint16(i)}
		if p.Protocol == ProtoLogin {
			continue
		}
		stream = AppendFrame(stream, p)
	}
	go d.c.Write(stream)
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := NewReader(d.r, 0)
	for {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("connection lost: %v", err)
		}
		if p.Protocol == 0xFF && p.Serial == 0xFF { // the last short packet, unknown: acknowledged
			break
		}
	}
	d.send(Status{Language: 2}.Packet(0xBEEF))
	for p := d.next(); p.Protocol != ProtoStatus || p.Serial != 0xBEEF; p = d.next() {
	}
	if n := testutil.CollectAndCount(ts.srv.m.unknown); n > 256 {
		t.Errorf("%d unknown-message series", n)
	}
}

// TestReaderNoCRC reads the layouts clones send without serial and CRC among framed packets,
// whole and split across reads.
func TestReaderNoCRC(t *testing.T) {
	frames := []struct {
		hex      string
		protocol byte
		content  int
	}{
		{"78780d010359339075005244340d0a", ProtoLogin, 9},                               // Traccar 6c2ef65bc
		{"7878121011091c0b1b2999058508040097a89e0034520d0a", ProtoGPS, 18},              // Traccar 6c2ef65bc
		{"78780a13429205000205ccdab20d0a", ProtoStatus, 5},                              // framed
		{"78780d0103563140414198583c0d0a", ProtoLogin, 9},                               // Traccar Gt06FrameDecoderTest
		{"7878121011091c0b1e2e98058507f80097a6ac03344a0d0a", ProtoGPS, 18},              // Traccar Gt06FrameDecoderTest
		{"78781511170103100e1f9904efe30400a97f88003410ffdd000d0a", ProtoGPSLBSWide, 21}, // ZX303, Traccar 046076aeb
		{"78780d01086047006787306105d4e2970d0a", ProtoLogin, 8},                         // framed
	}
	var stream []byte
	for _, f := range frames {
		stream = append(stream, unhex(t, f.hex)...)
	}
	for _, r := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(stream)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(stream))},
		{"half", iotest.HalfReader(bytes.NewReader(stream))},
	} {
		t.Run(r.name, func(t *testing.T) {
			fr := NewReader(r.r, 0)
			for i, f := range frames {
				p, err := fr.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if p.Protocol != f.protocol || len(p.Content) != f.content {
					t.Errorf("frame %d: protocol 0x%02X, %d content bytes; want 0x%02X, %d", i, p.Protocol, len(p.Content), f.protocol, f.content)
				}
			}
			if _, err := fr.Next(); err != io.EOF {
				t.Errorf("after the last frame: %v", err)
			}
		})
	}
	l, err := DecodeLogin(Packet{Protocol: ProtoLogin, Content: unhex(t, "0359339075005244 34")})
	if err != nil || l.IMEI != "359339075005244" || l.Zone != nil {
		t.Errorf("login without CRC: %+v, %v", l, err)
	}
}

// TestReaderNoCRCLoginDoesNotWait: a device that sent a login without serial and CRC waits
// for its answer; the reader must not wait for the three bytes a framed login would have.
func TestReaderNoCRCLoginDoesNotWait(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	got := make(chan error, 1)
	go func() {
		p, err := NewReader(pr, 0).Next()
		if err == nil && (p.Protocol != ProtoLogin || p.Serial != 0) {
			err = fmt.Errorf("read %+v", p)
		}
		got <- err
	}()
	go pw.Write(unhex(t, "78780d010359339075005244340d0a"))
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader waits for more bytes")
	}
}

// TestReaderNoCRCAttacks: only the clones' layouts go without CRC. Other packets, or a login
// whose IMEI is no IMEI, stay refused, and a framed login that happens to hold 0D 0A where the
// short one ends is read framed.
func TestReaderNoCRCAttacks(t *testing.T) {
	for _, tt := range []struct{ name, hex string }{
		{"0x12 without CRC", "78781a1219030c13070dc5027ac8180c46586000140001cc00287d001f710d0a"},
		{"0x16 alarm without CRC", "78781f1619030c13070dc5027ac8180c465860001400090100287d001f71010d0a"},
		{"0x10 too short for GPS", "78780510010203040d0a"},
		{"login, IMEI not BCD", "78780d01ffffffffffffffff340d0a"},
		{"login, IMEI without its leading 0", "78780d01335933907500524434 0d0a"},
	} {
		fr := NewReader(bytes.NewReader(unhex(t, tt.hex)), 0)
		for {
			p, err := fr.Next()
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err == nil {
				t.Errorf("%s: read %+v", tt.name, p)
			}
		}
	}
	// A framed login whose serial ends in 0D and whose CRC starts with 0A.
	var frame []byte
	for s := 0; s < 0x10000 && frame == nil; s += 0x100 {
		p, err := Login{IMEI: "860470067873061"}.Packet(uint16(s | 0x0D))
		if err != nil {
			t.Fatal(err)
		}
		if f := AppendFrame(nil, p); f[13] == 0x0D && f[14] == 0x0A {
			frame = f
		}
	}
	if frame == nil {
		t.Skip("no serial gives a CRC starting with 0A")
	}
	p, err := NewReader(bytes.NewReader(frame), 0).Next()
	if err != nil || p.Serial != uint16(frame[12])<<8|0x0D || len(p.Content) != 8 {
		t.Errorf("framed login % X read as %+v, %v", frame, p, err)
	}
}

// recordingEvents stores the events it is given, or fails with err.
type recordingEvents struct {
	mu     sync.Mutex
	events []tracker.Event
	err    error
}

func (r *recordingEvents) Emit(_ context.Context, events []tracker.Event, _ []tracker.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.events = append(r.events, events...)
	return nil
}

func (r *recordingEvents) all() []tracker.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tracker.Event(nil), r.events...)
}

// TestServerAlarmWithoutPosition: an SOS (0x19) and a tamper alarm (0xA5) that carry a cell and
// no position become alarm events of the device's vehicle, at the time they were received by the
// tracker's clock (the demo's simulated one, not the gateway's wall clock), with
// their flags and cell, and are acknowledged once stored; one that could not be stored is not
// acknowledged, so the tracker resends it.
func TestServerAlarmWithoutPosition(t *testing.T) {
	evs := &recordingEvents{err: errors.New("store down")}
	at := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC) // months ahead of the gateway's Now
	ts := startServer(t, false, func(c *Config) {
		c.Events = evs
		c.TrackerClock = func() time.Time { return at }
	})
	d := dial(t, ts.addr)
	d.expectAck(ProtoLogin, d.login("860470067873061"))
	sos := "78781219028f0a29e10036f12003040102000875dc0d0a" // Traccar's GT06 0x19 SOS, serial 0x0008
	d.sendHex(sos)
	d.sendHex("78780B23C00122040001000818720D0A") // heartbeat: its ack is the next answer, none came for the SOS
	d.expectAck(ProtoHeartbeat, 0x0008)
	evs.mu.Lock()
	evs.err = nil
	evs.mu.Unlock()
	d.sendHex(sos) // resent
	d.expectAck(ProtoLBSAlarm, 0x0008)
	d.sendHex("787819a5012ed0000075df000000000098661502050413000019a12b0d0a") // JM-LL301 0xA5 tamper
	d.expectAck(ProtoLBSAlarm4G, 0x0019)

	got := evs.all()
	if len(got) != 2 {
		t.Fatalf("events %+v, want the SOS and the tamper alarm", got)
	}
	s, tamper := got[0], got[1]
	if s.Type != tracker.EventDeviceAlarm || s.VehicleID != "truck-7" || !s.Time.Equal(at) || s.Lat != 0 ||
		fmt.Sprint(s.Attrs["flags"]) != "[sos]" || s.Attrs["alarm_code"] != 1 || s.Attrs["device_id"] != "860470067873061" ||
		s.Attrs["mcc"] != 655 || s.Attrs["cell_id"] != 0x36f1 || s.Attrs["message"] != "0x19" {
		t.Errorf("SOS event %+v", s)
	}
	if fmt.Sprint(tamper.Attrs["flags"]) != "[acc_on tamper]" || tamper.Attrs["alarm_code"] != 0x13 || tamper.Attrs["message"] != "0xA5" {
		t.Errorf("tamper event %+v", tamper)
	}
	if n := len(ts.sink.all()); n != 0 {
		t.Errorf("%d fixes stored from alarms without position", n)
	}
}
