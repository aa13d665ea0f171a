package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testPassword = "Test-Passw0rd-42"

// testApp is a whole BorderWatch server in this process, on loopback ports of its own.
type testApp struct {
	*app
	t     *testing.T
	base  string
	token string
	stop  func()
}

func startApp(t *testing.T, mutate func(*config)) *testApp {
	t.Helper()
	cfg := config{
		HTTPAddr: "127.0.0.1:0", JT808Addr: "127.0.0.1:0", GT06Addr: "127.0.0.1:0", JT600Addr: "127.0.0.1:0", OsmAndAddr: "127.0.0.1:0",
		DataDir: t.TempDir(), Geofence: "embedded", AdminPassword: testPassword, LogLevel: "warn",
		MaxConns: 1000, IdleTimeout: time.Minute,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	ta := &testApp{app: a, t: t, base: "http://" + a.httpLn.Addr().String()}
	ta.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			ta.stop()
		}
	})
	ta.token = ta.login("admin", testPassword)
	return ta
}

func (a *testApp) login(user, pw string) string {
	a.t.Helper()
	var out struct{ Token string }
	if code := a.call("POST", "/api/v1/login", "", map[string]string{"username": user, "password": pw}, &out); code != 200 {
		a.t.Fatalf("login %s: %d", user, code)
	}
	return out.Token
}

// call does an API request as token ("" for none) and decodes a JSON answer into out.
func (a *testApp) call(method, path, token string, body, out any) int {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// standing posts one OsmAnd report of device at lat, lon, dated at, with speed 0, and fails
// the test unless the server answers 200 (it answers once the fix is durable).
func (a *testApp) standing(device string, at time.Time, lat, lon float64) {
	a.t.Helper()
	q := url.Values{"id": {device}, "lat": {fmt.Sprint(lat)}, "lon": {fmt.Sprint(lon)}, "timestamp": {fmt.Sprint(at.Unix())}, "speed": {"0"}}
	resp, err := http.Post("http://"+a.osmandLn.Addr().String()+"/?"+q.Encode(), "", nil)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("OsmAnd answered %d", resp.StatusCode)
	}
}

// mustCall is call as admin that must answer want.
func (a *testApp) mustCall(method, path string, body, out any, want int) {
	a.t.Helper()
	if code := a.call(method, path, a.token, body, out); code != want {
		a.t.Fatalf("%s %s = %d, want %d", method, path, code, want)
	}
}

type apiFix struct {
	ID        int64     `json:"id"`
	VehicleID string    `json:"vehicle_id"`
	DeviceID  string    `json:"device_id"`
	Time      time.Time `json:"time"`
	Lat, Lon  float64
	SpeedKmh  float64 `json:"speed_kmh"`
	Heading   float64
	AltitudeM float64 `json:"altitude_m"`
	Valid     bool
	Late      bool
	Flags     []string
	Attrs     map[string]any `json:"attributes"`
}

// track returns a vehicle's fixes of the 30 days from "from" (RFC 3339; "" for the last day).
func (a *testApp) track(vehicle, from string) []apiFix {
	a.t.Helper()
	var out struct {
		Fixes []apiFix
		Error struct{ Code string }
	}
	q := ""
	if from != "" {
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			a.t.Fatal(err)
		}
		q = "?from=" + from + "&to=" + t.Add(30*24*time.Hour).Format(time.RFC3339)
	}
	path := "/api/v1/vehicles/" + vehicle + "/track" + q
	code := a.call("GET", path, a.token, nil, &out)
	// 404 unknown_vehicle: no vehicle of that name is registered and no fix is stored under it.
	if code != 200 && !(code == 404 && out.Error.Code == "unknown_vehicle") {
		a.t.Fatalf("GET %s = %d, want 200", path, code)
	}
	return out.Fixes
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// device is a raw TCP terminal.
type device struct {
	t    *testing.T
	conn net.Conn
}

func dialDevice(t *testing.T, ln net.Listener) *device {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &device{t, c}
}

func (d *device) send(b []byte) {
	d.t.Helper()
	if _, err := d.conn.Write(b); err != nil {
		d.t.Fatal(err)
	}
}

// expect reads exactly len(want) bytes and compares them.
func (d *device) expect(want []byte) {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(d.conn, got); err != nil {
		d.t.Fatalf("reading reply: %v (want % X)", err, want)
	}
	if !bytes.Equal(got, want) {
		d.t.Fatalf("reply\n got % X\nwant % X", got, want)
	}
}

// expectSilence checks that nothing arrives for a while, or that the server closed the connection.
func (d *device) expectSilence(within time.Duration) {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(within))
	b := make([]byte, 64)
	n, err := d.conn.Read(b)
	if n > 0 {
		d.t.Fatalf("unexpected reply % X", b[:n])
	}
	if ne, ok := err.(net.Error); err != nil && !(ok && ne.Timeout()) && err != io.EOF {
		d.t.Fatalf("read: %v", err)
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return fmt.Sprintf("%s", b)
}
