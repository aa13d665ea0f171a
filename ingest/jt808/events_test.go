package jt808

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/borderwatch/borderwatch/tracker"
)

// A driver's card and a waybill become events on the vehicle, acknowledged once stored; the
// event carries the position the terminal reported last.
func TestServerDriverIdentityAndWaybill(t *testing.T) {
	events := &recordingEvents{}
	ts := startServer(t, Config{Events: events})
	tm := dial(t, ts.addr, "12345678901", false)
	loc := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.65, Lon: 111.98, Time: utc("2025-10-09T07:00:00Z")})
	tm.write(tm.frame(MsgLocation, loc))
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultOK)))

	// Traccar's 0x0702 body (2013, certificate only).
	card := unhex(t, "01251009150751000030303239623838350000000000000000000000000000000000")
	tm.write(tm.frame(MsgDriverIdentity, card))
	tm.expect(tm.platform(MsgPlatformResponse, 1, general(1, MsgDriverIdentity, ResultOK)))
	removed := unhex(t, "02251009160000")
	tm.write(tm.frame(MsgDriverIdentity, removed))
	tm.expect(tm.platform(MsgPlatformResponse, 2, general(2, MsgDriverIdentity, ResultOK)))
	waybill, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte("运单 A-1"))
	if err != nil {
		t.Fatal(err)
	}
	tm.write(tm.frame(MsgWaybill, AppendWaybill(nil, waybill)))
	tm.expect(tm.platform(MsgPlatformResponse, 3, general(3, MsgWaybill, ResultOK)))

	got := events.take()
	want := []tracker.Event{
		{Type: tracker.EventDriverIdentity, Time: utc("2025-10-09T07:07:51Z"), VehicleID: "car-1", Lat: 43.65, Lon: 111.98,
			Attrs: map[string]any{"device_id": "12345678901", "inserted": true, "card_id": "0029b885", "certificate": "0029b885"}},
		{Type: tracker.EventDriverIdentity, Time: utc("2025-10-09T08:00:00Z"), VehicleID: "car-1", Lat: 43.65, Lon: 111.98,
			Attrs: map[string]any{"device_id": "12345678901", "inserted": false}},
		{Type: tracker.EventWaybill, VehicleID: "car-1", Lat: 43.65, Lon: 111.98,
			Attrs: map[string]any{"device_id": "12345678901", "content": "运单 A-1"}},
	}
	if len(got) != 3 || got[2].Time.IsZero() {
		t.Fatalf("events %+v", got)
	}
	got[2].Time = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n got %+v\nwant %+v", got, want)
	}
}

// Events not stored are not acknowledged, so the terminal sends them again; a server without
// Events answers "unsupported"; a malformed body "message error"; a terminal that must
// authenticate first is refused; a clock far ahead is not believed.
func TestServerEventsRefused(t *testing.T) {
	events := &recordingEvents{}
	ts := startServer(t, Config{Events: events})
	tm := dial(t, ts.addr, "12345678901", false)
	card := unhex(t, "02251009160000")

	events.fail = errors.New("disk full")
	tm.write(tm.frame(MsgDriverIdentity, card))
	tm.write(tm.frame(MsgHeartbeat, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(1, MsgHeartbeat, ResultOK)))
	events.fail = nil

	// A name length past the body, a waybill length that lies: message error, nothing stored.
	tm.write(tm.frame(MsgDriverIdentity, unhex(t, "0125100915075100ff41")))
	tm.expect(tm.platform(MsgPlatformResponse, 1, general(2, MsgDriverIdentity, ResultMessageError)))
	tm.write(tm.frame(MsgWaybill, unhex(t, "7fffffff41")))
	tm.expect(tm.platform(MsgPlatformResponse, 2, general(3, MsgWaybill, ResultMessageError)))

	// A card time a year ahead: the event takes the time it was received.
	tm.write(tm.frame(MsgDriverIdentity, append([]byte{2}, appendBCDTime(nil, time.Now().AddDate(1, 0, 0))...)))
	tm.expect(tm.platform(MsgPlatformResponse, 3, general(4, MsgDriverIdentity, ResultOK)))
	if ev := events.take(); len(ev) != 1 || time.Since(ev[0].Time) > time.Minute || ev[0].Lat != 0 {
		t.Errorf("events %+v", ev)
	}

	// Without Events: unsupported.
	ts2 := startServer(t, Config{})
	tm2 := dial(t, ts2.addr, "12345678901", false)
	tm2.write(tm2.frame(MsgDriverIdentity, card))
	tm2.expect(tm2.platform(MsgPlatformResponse, 0, general(0, MsgDriverIdentity, ResultUnsupported)))

	// A terminal with an auth code that has not authenticated: failure, nothing stored.
	tm3 := dial(t, ts.addr, "13912344329", false)
	tm3.write(tm3.frame(MsgDriverIdentity, card))
	tm3.expect(tm3.platform(MsgPlatformResponse, 0, general(0, MsgDriverIdentity, ResultFailure)))
	tm3.write(tm3.frame(MsgPassThrough, unhex(t, "f0220428061009000201010535020000000c00030160a85c06d1c138")))
	tm3.expect(tm3.platform(MsgPlatformResponse, 1, general(1, MsgPassThrough, ResultFailure)))
	if ev := events.take(); len(ev) != 0 {
		t.Errorf("stored %+v", ev)
	}
	if b := ts.sink.take(); len(b) != 0 {
		t.Errorf("submitted %+v", b)
	}
}

// Pass-through and location lists: positions submitted and acknowledged once stored, the
// others acknowledged at once, unknown types "unsupported", junk "message error".
func TestServerPassThroughAndLists(t *testing.T) {
	ts := startServer(t, Config{})
	tm := dial(t, ts.addr, "12345678901", false)
	obd := unhex(t, "f0220428061009000201010535020154000c00030160a85c06d1c138")
	tm.write(tm.frame(MsgPassThrough, obd))
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(0, MsgPassThrough, ResultOK)))
	b := ts.sink.take()
	if len(b) != 1 || len(b[0]) != 1 {
		t.Fatalf("submitted %+v", b)
	}
	if f := b[0][0]; !f.Time.Equal(utc("2022-04-27T22:10:09Z")) || f.Lat != 23.111772 || f.Lon != 114.409784 ||
		f.SpeedKmh != 34 || !f.Valid || f.Attrs["obd_speed_kmh"] != 34.0 {
		t.Errorf("fix %+v", f)
	}
	tm.write(tm.frame(MsgPassThrough, append([]byte{PassSerial1}, "$OBD-RT,12.3,800,0\r\n"...)))
	tm.expect(tm.platform(MsgPlatformResponse, 1, general(1, MsgPassThrough, ResultOK)))
	tm.write(tm.frame(MsgPassThrough, []byte{0x83, 'x'}))
	tm.expect(tm.platform(MsgPlatformResponse, 2, general(2, MsgPassThrough, ResultUnsupported)))
	tm.write(tm.frame(MsgPassThrough, obd[:20]))
	tm.expect(tm.platform(MsgPlatformResponse, 3, general(3, MsgPassThrough, ResultMessageError)))

	item := AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 43.6, Lon: 111.9, SpeedKmh: 50, Time: utc("2025-01-02T03:04:05Z")})
	list, _ := AppendLocationList(nil, item, item)
	tm.write(tm.frame(MsgLocationList, list))
	tm.expect(tm.platform(MsgPlatformResponse, 4, general(4, MsgLocationList, ResultOK)))
	tm.write(tm.frame(MsgLocationList, unhex(t, "4f2606180229")))
	tm.expect(tm.platform(MsgPlatformResponse, 5, general(5, MsgLocationList, ResultMessageError)))
	tm.write(tm.frame(MsgLocationList, unhex(t, "4f260618022957")))
	tm.expect(tm.platform(MsgPlatformResponse, 6, general(6, MsgLocationList, ResultOK)))
	// A location reply is stored and not answered: the heartbeat's answer comes next.
	tm.write(tm.frame(MsgLocationReply, append([]byte{0, 9}, item...)))
	tm.write(tm.frame(MsgHeartbeat, nil))
	tm.expect(tm.platform(MsgPlatformResponse, 7, general(8, MsgHeartbeat, ResultOK)))
	if b := ts.sink.take(); len(b) != 2 || len(b[0]) != 2 || len(b[1]) != 1 || b[1][0].SpeedKmh != 50 {
		t.Errorf("submitted %+v", b)
	}
}

// The IMEI printed on the box is the id of a terminal that sends it in binary as its phone
// number (Jimi JC371: 4EB6FB4AD628 is 86547807000104, check digit 7).
func TestServerBinaryIMEI(t *testing.T) {
	ts := startServer(t, Config{Admission: &tracker.Admission{Devices: devices{
		"865478070001047": {ID: "865478070001047", Protocol: tracker.ProtocolJT808, VehicleID: "cam-1"}}}})
	tm := dial(t, ts.addr, "1", false)
	tm.phone = Phone{n: 6, bcd: [10]byte{0x4e, 0xb6, 0xfb, 0x4a, 0xd6, 0x28}}
	tm.write(tm.frame(MsgLocation, AppendLocation(nil, &Location{Status: StatusPositioned, Lat: 22.5, Lon: 114, Time: utc("2026-01-01T04:00:00Z")})))
	tm.expect(tm.platform(MsgPlatformResponse, 0, general(0, MsgLocation, ResultOK)))
	if b := ts.sink.take(); len(b) != 1 || b[0][0].DeviceID != "865478070001047" || b[0][0].VehicleID != "cam-1" {
		t.Errorf("submitted %+v", b)
	}
}
