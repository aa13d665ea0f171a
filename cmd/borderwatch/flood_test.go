package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// garbageJT808 is one write of junk for the JT/T 808 port: noise, noise between 7E delimiters,
// real frames cut short or with a byte changed, frames from terminals nobody registered.
func garbageJT808(r *rand.Rand) []byte {
	switch r.Intn(5) {
	case 0:
		return randomBytes(r, 1+r.Intn(600))
	case 1:
		b := append([]byte{0x7E}, randomBytes(r, r.Intn(100))...)
		return append(b, 0x7E)
	case 2:
		fr := unhexMust(traccarLocation)
		return fr[:r.Intn(len(fr))]
	case 3:
		fr := unhexMust(traccarLocation)
		fr[1+r.Intn(len(fr)-2)] ^= byte(1 + r.Intn(255))
		return fr
	default:
		ph, _ := jt808.ParsePhone(fmt.Sprint(17000000000+r.Intn(1000000)), false)
		h := jt808.Header{MsgID: uint16(r.Intn(0x10000)), Phone: ph, Serial: uint16(r.Intn(0x10000))}
		fr, _ := jt808.AppendFrame(nil, &h, randomBytes(r, r.Intn(64)))
		return fr
	}
}

// garbageGT06 is one write of junk for the GT06 port.
func garbageGT06(r *rand.Rand) []byte {
	login := unhexMust("78780d01086047006787306105d4e2970d0a")
	switch r.Intn(4) {
	case 0:
		return randomBytes(r, 1+r.Intn(600))
	case 1:
		return login[:r.Intn(len(login))]
	case 2:
		b := append([]byte{0x78, 0x78, byte(r.Intn(256))}, randomBytes(r, r.Intn(300))...)
		return append(b, 0x0D, 0x0A)
	default:
		b := append([]byte{0x79, 0x79, byte(r.Intn(256)), byte(r.Intn(256))}, randomBytes(r, r.Intn(300))...)
		return append(b, 0x0D, 0x0A)
	}
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

// unhexMust decodes a hex constant of this package's tests.
func unhexMust(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// raiseFileLimit lifts the soft limit on open files to the hard one and returns it.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return lim.Cur
}

// TestFloodsLeaveServerServing throws junk at every port of a running server and holds
// thousands of idle connections open; afterwards a registered terminal still gets its exact
// acknowledgement, the API and the health check answer, and the junk was counted.
func TestFloodsLeaveServerServing(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	idle := 2000
	// Each idle connection costs two descriptors in this process (client and server side).
	if limit := raiseFileLimit(); uint64(2*idle+500) > limit {
		idle = int(limit-500) / 2
		t.Logf("open-file limit %d: holding %d idle connections", limit, idle)
	}
	a := startApp(t, func(c *config) { c.MaxConns = idle + 500 })
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "car-1", "plate": "蒙K12345", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "12345678901", "protocol": "jt808", "vehicle_id": "car-1"}, nil, 201)
	rnd := rand.New(rand.NewSource(808))

	// Junk on the device ports: the writes of each connection are drawn before any goroutine
	// starts, so the bytes sent are the same on every run.
	type flood struct {
		addr   string
		writes [][]byte
	}
	var floods []flood
	writes := 0
	for i := 0; i < 150; i++ {
		for _, p := range []struct {
			ln  net.Listener
			gen func(*rand.Rand) []byte
		}{{a.jt808Ln, garbageJT808}, {a.gt06Ln, garbageGT06}, {a.osmandLn, func(r *rand.Rand) []byte { return randomBytes(r, 1+r.Intn(300)) }}} {
			f := flood{addr: p.ln.Addr().String()}
			n := 1 + rnd.Intn(20)
			if p.ln == a.osmandLn {
				n = 1
			}
			for range n {
				f.writes = append(f.writes, p.gen(rnd))
			}
			writes += n
			floods = append(floods, f)
		}
	}
	var wg sync.WaitGroup
	work := make(chan flood)
	for range 32 {
		wg.Go(func() {
			for f := range work {
				c, err := net.Dial("tcp", f.addr)
				if err != nil {
					t.Errorf("dial %s during the flood: %v", f.addr, err)
					continue
				}
				for _, w := range f.writes {
					if _, err := c.Write(w); err != nil {
						break // the server hung up on the junk: allowed
					}
				}
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				io.Copy(io.Discard, c) // let the server read everything and answer or hang up
				c.Close()
			}
		})
	}
	for _, f := range floods {
		work <- f
	}
	close(work)
	wg.Wait()

	// Malformed device requests on the OsmAnd port: refused with 4xx, never a 5xx.
	osm := "http://" + a.osmandLn.Addr().String()
	var osmReqs []*http.Request
	for i := 0; i < 300; i++ {
		var req *http.Request
		switch i % 6 {
		case 0:
			req, _ = http.NewRequest("GET", osm+fmt.Sprintf("/?id=nobody%d&lat=43.6&lon=111.9", i), nil)
		case 1:
			req, _ = http.NewRequest("GET", osm+"/?id=x&lat=north&lon=111.9", nil)
		case 2:
			req, _ = http.NewRequest("GET", osm+fmt.Sprintf("/?id=x&lat=%d&lon=%d", 90+rnd.Intn(1000), -180-rnd.Intn(1000)), nil)
		case 3:
			req, _ = http.NewRequest("POST", osm+"/", bytes.NewReader(randomBytes(rnd, 70<<10)))
		case 4:
			req, _ = http.NewRequest("POST", osm+"/", bytes.NewReader(randomBytes(rnd, 1+rnd.Intn(500))))
			req.Header.Set("Content-Type", "application/json")
		default:
			req, _ = http.NewRequest("GET", osm+"/?"+strings.Repeat("lat=1&", 1+rnd.Intn(2000)), nil)
		}
		osmReqs = append(osmReqs, req)
	}
	for _, req := range osmReqs {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("OsmAnd %s %.60s: %v", req.Method, req.URL, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("OsmAnd %s %.60s: %d, want a 4xx refusal", req.Method, req.URL, resp.StatusCode)
		}
	}

	// Oversized and malformed API bodies and absurd query ranges.
	huge := make([][2]float64, geofence.MaxVertices+1)
	for i := range huge {
		huge[i] = [2]float64{111 + float64(i)/float64(len(huge)), 43 + float64(i%2)/1000}
	}
	huge[len(huge)-1] = huge[0]
	hugeZone := map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{huge}},
		"properties": map[string]any{"id": "huge", "kind": "yard"}}
	for _, tc := range []struct {
		method, path string
		body         []byte
		want         int
	}{
		{"POST", "/api/v1/zones", []byte(fmtJSON(hugeZone)), 422},
		{"POST", "/api/v1/zones", bytes.Repeat([]byte("["), 9<<20), 413},
		{"POST", "/api/v1/zones/import", append([]byte(`{"type":"FeatureCollection","features":[`), bytes.Repeat([]byte(" "), 9<<20)...), 413},
		{"POST", "/api/v1/zones", []byte(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1e308,1e308],[-1e308,0],[0,1e308],[1e308,1e308]]]},"properties":{"id":"far","kind":"yard"}}`), 422},
		{"POST", "/api/v1/zones", []byte(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":"nope"},"properties":{"id":"n","kind":"yard"}}`), 400},
		{"POST", "/api/v1/zones", randomBytes(rnd, 4000), 400},
		{"POST", "/api/v1/vehicles", []byte(`{"id":`), 400},
		{"POST", "/api/v1/vehicles", bytes.Repeat([]byte(`{"a":`), 100000), 400},
		{"POST", "/api/v1/devices", []byte(`[1,2,3]`), 400},
		{"GET", "/api/v1/vehicles/car-1/track?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", nil, 400},
		{"GET", "/api/v1/vehicles/car-1/track?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z", nil, 400},
		{"GET", "/api/v1/vehicles/car-1/track?from=-9223372036854775808&to=9223372036854775807", nil, 400},
		{"GET", "/api/v1/vehicles/car-1/track?from=yesterday", nil, 400},
		{"GET", "/api/v1/events?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", nil, 0},
		{"GET", "/api/v1/alerts?vehicle_id=" + strings.Repeat("x", 4000), nil, 0},
		{"GET", "/api/v1/audit?from=-1&to=99999999999999", nil, 0},
	} {
		req, _ := http.NewRequest(tc.method, a.base+tc.path, bytes.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+a.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %.80s: %v", tc.method, tc.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if tc.want != 0 && resp.StatusCode != tc.want || resp.StatusCode >= 500 {
			t.Errorf("%s %.80s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}

	// Idle connections held open on the JT/T 808 port, all accepted by the server.
	connsBefore := metricValue(t, a, "bw_connections", `protocol="jt808"`)
	held := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range idle {
		c, err := net.Dial("tcp", a.jt808Ln.Addr().String())
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(held)+1, err)
		}
		held = append(held, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, a, "bw_connections", `protocol="jt808"`) < connsBefore+float64(idle) {
		if time.Now().After(deadline) {
			t.Fatalf("the server took %v of %d idle connections", metricValue(t, a, "bw_connections", `protocol="jt808"`)-connsBefore, idle)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// With all that open, a registered terminal is served as ever.
	d := dialDevice(t, a.jt808Ln)
	d.send(unhex(t, traccarLocation))
	d.expect(unhex(t, "7E 8001 0005 012345678901 0000 0013 0200 00 1D 7E"))
	if fixes := a.track("car-1", "2021-07-26T00:00:00Z"); len(fixes) != 1 {
		t.Errorf("stored %d fixes of the registered terminal, want 1", len(fixes))
	}
	var vehicles struct{ Vehicles []map[string]any }
	a.mustCall("GET", "/api/v1/vehicles", nil, &vehicles, 200)
	if len(vehicles.Vehicles) != 1 {
		t.Errorf("vehicles after the flood: %s", fmtJSON(vehicles))
	}
	if code, body := getStatus(t, a.base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := getStatus(t, a.base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d %s", code, body)
	}

	rejected := map[string]float64{}
	for _, p := range []string{"jt808", "gt06", "osmand"} {
		rejected[p] = metricValue(t, a, "bw_frames_rejected_total", `protocol="`+p+`"`)
		if rejected[p] == 0 {
			t.Errorf("bw_frames_rejected_total{protocol=%q} is 0 after the flood", p)
		}
	}
	if n := metricValue(t, a, "bw_gateway_panics_total"); n != 0 {
		t.Errorf("%v gateway panics", n)
	}
	t.Logf("%d junk writes on %d device connections, %d malformed OsmAnd requests, %d idle JT/T 808 connections held; rejected: %v",
		writes, len(floods), len(osmReqs), idle, rejected)
}

// jtTerminal speaks JT/T 808 to the running server for the rate-limit test.
type jtTerminal struct {
	t      *testing.T
	c      net.Conn
	sc     *jt808.Scanner
	phone  jt808.Phone
	serial uint16
}

func dialJT808(t *testing.T, a *testApp, phone string) *jtTerminal {
	t.Helper()
	c, err := net.Dial("tcp", a.jt808Ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute)) // a failsafe against a hung test, not a timing assertion
	p, err := jt808.ParsePhone(phone, false)
	if err != nil {
		t.Fatal(err)
	}
	return &jtTerminal{t: t, c: c, sc: jt808.NewScanner(c, 4096), phone: p}
}

// write sends one frame of each body as message id (sub-packages when more than one) and
// returns the serial of the last; write errors are returned, as the server may have hung up.
func (tm *jtTerminal) write(id uint16, bodies ...[]byte) (uint16, error) {
	var out []byte
	for i, body := range bodies {
		h := jt808.Header{MsgID: id, Phone: tm.phone, Serial: tm.serial}
		if len(bodies) > 1 {
			h.Fragmented, h.Total, h.Index = true, uint16(len(bodies)), uint16(i+1)
		}
		tm.serial++
		var err error
		if out, err = jt808.AppendFrame(out, &h, body); err != nil {
			tm.t.Fatal(err)
		}
	}
	_, err := tm.c.Write(out)
	return tm.serial - 1, err
}

// acked reads the next reply and checks that it acknowledges serial with success.
func (tm *jtTerminal) acked(id, serial uint16) {
	tm.t.Helper()
	raw, err := tm.sc.Next()
	if err != nil {
		tm.t.Fatalf("waiting for the ack of %d: %v", serial, err)
	}
	f, _, err := jt808.DecodeFrame(raw)
	if err != nil {
		tm.t.Fatal(err)
	}
	r, err := jt808.DecodeGeneralResponse(f.Body)
	if err != nil || f.Header.MsgID != jt808.MsgPlatformResponse || r.ReplyID != id || r.ReplySerial != serial || r.Result != jt808.ResultOK {
		tm.t.Fatalf("reply %+v %+v (%v), want the ack of %04X serial %d", f.Header, r, err, id, serial)
	}
}

// closedWithoutReply reads until the server hangs up, failing on any reply.
func (tm *jtTerminal) closedWithoutReply() {
	tm.t.Helper()
	b, err := io.ReadAll(tm.c)
	if errors.Is(err, syscall.ECONNRESET) { // closed with our frames unread
		err = nil
	}
	if err != nil || len(b) != 0 {
		tm.t.Fatalf("expected the server to hang up without replying; got % X, %v", b, err)
	}
}

func locationBody(at time.Time) []byte {
	return jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: 43.65, Lon: 111.97, Time: at})
}

// TestRateLimits runs the server with limits whose buckets refill too slowly to matter during
// the test: a terminal flooding one connection has its excess unacknowledged and is then
// disconnected, while a terminal on another connection is acknowledged throughout; a 255-fix
// blind-area backfill is admitted whole; an OsmAnd connection over its limit is answered 429.
func TestRateLimits(t *testing.T) {
	const connBurst = 50
	a := startApp(t, func(c *config) {
		c.ConnFrameRate, c.ConnFrameBurst = 0.001, connBurst
		c.DeviceFixRate, c.DeviceFixBurst = 0.001, 300
		c.MaxConnsPerAddr = 100
	})
	for i, dev := range []string{"12345678901", "12345678902", "12345678903"} {
		car := fmt.Sprint("car-", i+1)
		a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": car, "plate": "蒙K1234" + fmt.Sprint(i), "kind": "truck"}, nil, 201)
		a.mustCall("POST", "/api/v1/devices", map[string]any{"id": dev, "protocol": "jt808", "vehicle_id": car}, nil, 201)
	}
	start := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	good := dialJT808(t, a, "12345678902")
	goodFixes := 0
	report := func() {
		t.Helper()
		serial, err := good.write(jt808.MsgLocation, locationBody(start.Add(time.Duration(goodFixes)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		good.acked(jt808.MsgLocation, serial)
		goodFixes++
	}
	report()

	flood := dialJT808(t, a, "12345678901")
	for i := range connBurst {
		serial, err := flood.write(jt808.MsgLocation, locationBody(start.Add(time.Duration(i)*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		flood.acked(jt808.MsgLocation, serial)
	}
	report()
	for i := range 3 * connBurst { // a second burst's worth is refused, the frame after it hangs up
		if _, err := flood.write(jt808.MsgLocation, locationBody(start.Add(time.Duration(connBurst+i)*time.Second))); err != nil {
			break
		}
	}
	flood.closedWithoutReply()
	for range 10 {
		report()
	}

	// A terminal back from a dead zone sends its buffer as one 0x0704 in sub-packages.
	back := dialJT808(t, a, "12345678903")
	items := make([][]byte, 255)
	for i := range items {
		items[i] = locationBody(start.Add(time.Duration(i) * 30 * time.Second))
	}
	body := jt808.AppendBatch(nil, jt808.BatchBlindArea, items...)
	var parts [][]byte
	for len(body) > 900 {
		parts, body = append(parts, body[:900]), body[900:]
	}
	last, err := back.write(jt808.MsgBatch, append(parts, body)...)
	if err != nil {
		t.Fatal(err)
	}
	for s := range last + 1 { // each sub-package, then the whole batch once stored
		back.acked(jt808.MsgBatch, s)
	}

	if n := len(a.track("car-1", "2026-05-01T00:00:00Z")); n != connBurst {
		t.Errorf("flooding terminal: %d fixes stored, want %d", n, connBurst)
	}
	if n := len(a.track("car-2", "2026-05-01T00:00:00Z")); n != goodFixes {
		t.Errorf("well-behaved terminal: %d fixes stored, want %d", n, goodFixes)
	}
	if n := len(a.track("car-3", "2026-05-01T00:00:00Z")); n != 255 {
		t.Errorf("backfill: %d fixes stored, want 255", n)
	}
	if n := metricValue(t, a, "bw_frames_rejected_total", `protocol="jt808"`, `reason="rate_limited"`); n != connBurst+1 {
		t.Errorf("jt808 frames rejected as rate limited: %v, want %d", n, connBurst+1)
	}
	if n := metricValue(t, a, "bw_connections_closed_total", `protocol="jt808"`, `reason="rate_limited"`); n != 1 {
		t.Errorf("jt808 connections closed for abuse: %v, want 1", n)
	}

	// OsmAnd: one keep-alive connection; junk costs as much as a fix.
	osm := "http://" + a.osmandLn.Addr().String() + "/"
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	var last429 *http.Response
	for i := range connBurst + 1 {
		resp, err := client.Get(osm + "?junk")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i < connBurst && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("OsmAnd request %d within the burst: %s", i, resp.Status)
		}
		last429 = resp
	}
	if last429.StatusCode != http.StatusTooManyRequests || last429.Header.Get("Retry-After") == "" {
		t.Errorf("OsmAnd over the limit: %s, Retry-After %q; want 429 with Retry-After", last429.Status, last429.Header.Get("Retry-After"))
	}
}
