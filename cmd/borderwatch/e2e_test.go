package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// A Traccar test frame: terminal 012345678901, serial 0x0013, under-voltage alarm, ACC on,
// 22.641605 N 114.032486 E, 2021-07-26 20:35:31 GMT+8.
const traccarLocation = "7E020000480123456789010013000000800000000301597BC506CBFF6600EB00000155210726203531010400000000EB24000C00B28986047701207027150200060089FFFFEFFF0004002D0E10000600C5FFFFFFEF697E"

func TestJT808EndToEnd(t *testing.T) {
	a := startApp(t, nil)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "car-1", "plate": "蒙K12345", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "12345678901", "protocol": "jt808", "vehicle_id": "car-1"}, nil, 201)

	d := dialDevice(t, a.jt808Ln)
	d.send(unhex(t, traccarLocation))
	// 0x8001: platform serial 0, answering serial 0x0013 of message 0x0200 with result 0.
	d.expect(unhex(t, "7E 8001 0005 012345678901 0000 0013 0200 00 1D 7E"))

	// The same frame again (a terminal that missed the ack): acknowledged, stored once.
	d.send(unhex(t, traccarLocation))
	d.expect(unhex(t, "7E 8001 0005 012345678901 0001 0013 0200 00 1C 7E"))

	// A wrong checksum: refused with "message error", nothing stored, connection kept.
	bad := unhex(t, traccarLocation)
	bad[len(bad)-2] ^= 0xFF
	d.send(bad)
	d.expect(unhex(t, "7E 8001 0005 012345678901 0002 0013 0200 02 1D 7E"))

	fixes := a.track("car-1", "2021-07-26T00:00:00Z")
	if len(fixes) != 1 {
		t.Fatalf("stored %d fixes, want 1: %s", len(fixes), fmtJSON(fixes))
	}
	f := fixes[0]
	if f.DeviceID != "12345678901" || !f.Time.Equal(time.Date(2021, 7, 26, 12, 35, 31, 0, time.UTC)) ||
		f.Lat != 22.641605 || f.Lon != 114.032486 || f.AltitudeM != 235 || f.Heading != 341 || !f.Valid {
		t.Errorf("stored fix %s", fmtJSON(f))
	}
	if !contains(f.Flags, "under_voltage") || !contains(f.Flags, "acc_on") {
		t.Errorf("flags %v", f.Flags)
	}
	var pos struct{ Positions []apiFix }
	a.mustCall("GET", "/api/v1/positions", nil, &pos, 200)
	if len(pos.Positions) != 1 || pos.Positions[0].VehicleID != "car-1" {
		t.Errorf("positions %s", fmtJSON(pos))
	}

	// An unregistered terminal: 0x8001 result 1, nothing stored.
	u := dialDevice(t, a.jt808Ln)
	unknown := unhex(t, traccarLocation)
	copy(unknown[5:11], unhex(t, "019999999999"))
	fixChecksum(unknown)
	u.send(unknown)
	u.expect(unhex(t, "7E 8001 0005 019999999999 0000 0013 0200 01 0C 7E"))
	if got := a.track("19999999999", "2021-07-26T00:00:00Z"); len(got) != 0 {
		t.Errorf("unknown terminal's fix stored: %s", fmtJSON(got))
	}
}

// fixChecksum recomputes the XOR check of an unescaped frame without 7E/7D in its content.
func fixChecksum(frame []byte) {
	var x byte
	for _, b := range frame[1 : len(frame)-2] {
		x ^= b
	}
	frame[len(frame)-2] = x
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestJT808AuthCode(t *testing.T) {
	a := startApp(t, nil)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "car-2", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "12345678901", "protocol": "jt808", "vehicle_id": "car-2", "auth_code": "secret"}, nil, 201)
	d := dialDevice(t, a.jt808Ln)
	// Location before authentication: result 1, not stored.
	d.send(unhex(t, traccarLocation))
	d.expect(unhex(t, "7E 8001 0005 012345678901 0000 0013 0200 01 1C 7E"))
	// 0x0102 with the code "secret" (2013: the whole body), serial 0x0014.
	auth := unhex(t, "7E 0102 0006 012345678901 0014 736563726574 00 7E")
	fixChecksum(auth)
	d.send(auth)
	d.expect(unhex(t, "7E 8001 0005 012345678901 0001 0014 0102 00 1A 7E"))
	d.send(unhex(t, traccarLocation))
	d.expect(unhex(t, "7E 8001 0005 012345678901 0002 0013 0200 00 1F 7E"))
	if got := a.track("car-2", "2021-07-26T00:00:00Z"); len(got) != 1 {
		t.Fatalf("stored %d fixes after auth, want 1", len(got))
	}
}

func TestGT06EndToEnd(t *testing.T) {
	a := startApp(t, nil)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "res-1", "kind": "resident_car"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "860470067873061", "protocol": "gt06", "vehicle_id": "res-1"}, nil, 201)
	d := dialDevice(t, a.gt06Ln)
	d.send(unhex(t, "78780d01086047006787306105d4e2970d0a")) // login, IMEI 860470067873061, serial 0x05D4
	d.expect(unhex(t, "7878050105d426440d0a"))
	// Traccar's 0x22 GPS+LBS frame, 2015-12-29 02:51:05 UTC; GPS packets expect no ack.
	d.send(unhex(t, "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A"))
	d.expectSilence(300 * time.Millisecond)
	waitFor(t, func() bool { return len(a.track("res-1", "2015-12-28T00:00:00Z")) == 1 })
	f := a.track("res-1", "2015-12-28T00:00:00Z")[0]
	if !f.Time.Equal(time.Date(2015, 12, 29, 2, 51, 5, 0, time.UTC)) || fmt.Sprintf("%.6f", f.Lat) != fmt.Sprintf("%.6f", float64(0x027ac818)/1800000) || !f.Valid {
		t.Errorf("stored %s", fmtJSON(f))
	}

	// An unknown tracker gets no login ack and is disconnected.
	u := dialDevice(t, a.gt06Ln)
	u.send(unhex(t, "78780d010352887071911998000479d00d0a"))
	u.expectSilence(time.Second)
}

func TestOsmAndEndToEnd(t *testing.T) {
	a := startApp(t, nil)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "patrol-1", "kind": "patrol"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "tablet-7", "protocol": "osmand", "vehicle_id": "patrol-1"}, nil, 201)
	osm := "http://" + a.osmandLn.Addr().String() + "/"
	ts := time.Now().Add(-time.Minute).Unix()
	q := url.Values{"id": {"tablet-7"}, "lat": {"43.65"}, "lon": {"111.98"}, "timestamp": {fmt.Sprint(ts)}, "speed": {"10"}, "bearing": {"90"}}
	resp, err := http.Post(osm+"?"+q.Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("OsmAnd answered %d", resp.StatusCode)
	}
	fixes := a.track("patrol-1", "")
	if len(fixes) != 1 || fixes[0].SpeedKmh != 18.52 || fixes[0].Heading != 90 || fixes[0].Time.Unix() != ts {
		t.Fatalf("stored %s", fmtJSON(fixes))
	}
	// Unknown device and bad numbers are refused with a reason; nothing is stored.
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"id=nobody&lat=43.6&lon=111.9", 403},
		{"id=tablet-7&lat=north&lon=111.9", 400},
		{"id=tablet-7&lat=95&lon=111.9", 400},
		{"lat=43.6&lon=111.9", 400},
	} {
		resp, err := http.Get(osm + "?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.query, resp.StatusCode, tc.want)
		}
	}
	if got := a.track("patrol-1", ""); len(got) != 1 {
		t.Errorf("refused requests stored fixes: %d", len(got))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Traccar's 0x0702 frame (Jt808ProtocolDecoderTest): terminal 018270611514, serial 0x01BC, card
// inserted 2025-10-09 07:07:51 UTC, certificate 0029b885.
const traccarDriver = "7e0702002201827061151401bc012510091507510000303032396238383500000000000000000000000000000000002b7e"

// A driver's card read by a JT/T 808 terminal is stored on its vehicle and shown with it; on a
// declaration naming another driver it raises driver_mismatch. The control truck's declaration
// names this driver (in upper case) and raises nothing.
func TestJT808DriverMismatch(t *testing.T) {
	a := startApp(t, nil)
	for _, v := range []struct{ vehicle, phone, card string }{{"drv-1", "018270611514", "0029B999"}, {"drv-2", "018270611515", "0029B885"}} {
		a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": v.vehicle, "kind": "truck"}, nil, 201)
		a.mustCall("POST", "/api/v1/devices", map[string]any{"id": v.phone[1:], "protocol": "jt808", "vehicle_id": v.vehicle}, nil, 201)
		a.mustCall("POST", "/api/v1/declarations", map[string]any{"id": "d-" + v.vehicle, "vehicle_id": v.vehicle, "direction": "inbound",
			"port_zone_id": "port-erenhot", "valid_from": "2025-10-09T00:00:00Z", "valid_to": "2025-10-10T00:00:00Z", "driver_card": v.card}, nil, 201)
		frame := unhex(t, traccarDriver)
		copy(frame[5:11], unhex(t, v.phone))
		fixChecksum(frame)
		reply := unhex(t, "7E 8001 0005"+v.phone+"0000 01BC 0702 00 00 7E")
		fixChecksum(reply)
		d := dialDevice(t, a.jt808Ln)
		d.send(frame)
		d.expect(reply)

		var veh struct {
			Driver *struct {
				CardID string `json:"card_id"`
				Since  time.Time
			}
		}
		a.mustCall("GET", "/api/v1/vehicles/"+v.vehicle, nil, &veh, 200)
		if veh.Driver == nil || veh.Driver.CardID != "0029b885" || !veh.Driver.Since.Equal(time.Date(2025, 10, 9, 7, 7, 51, 0, time.UTC)) {
			t.Errorf("%s: driver %+v, want card 0029b885 since 07:07:51", v.vehicle, veh.Driver)
		}
	}
	var alerts struct {
		Alerts []struct {
			Type      string
			VehicleID string `json:"vehicle_id"`
		}
	}
	a.mustCall("GET", "/api/v1/alerts", nil, &alerts, 200)
	var got []string
	for _, al := range alerts.Alerts {
		got = append(got, al.VehicleID+" "+al.Type)
	}
	if len(got) != 1 || got[0] != "drv-1 driver_mismatch" {
		t.Errorf("alerts %q, want drv-1's driver_mismatch alone", got)
	}
}
