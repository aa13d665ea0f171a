package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker/notifier"
)

// TestWebhookEndToEnd runs the server as a process with a webhook whose receiver is down: a
// vehicle crosses the border outside every port, the alert's delivery fails, the server is
// killed with SIGKILL, the receiver comes back, and the restarted server delivers the alert.
func TestWebhookEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	var mu sync.Mutex
	var got []notifier.Payload
	up := false
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p notifier.Payload
		if err := json.Unmarshal(body, &p); err != nil || r.Header.Get(notifier.HeaderSignature) != notifier.Sign("e2e-secret", sigTime(r), body) {
			t.Errorf("webhook request: body %s, signature %q", body, r.Header.Get(notifier.HeaderSignature))
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		if !up {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer rc.Close()
	received := func() []notifier.Payload {
		mu.Lock()
		defer mu.Unlock()
		return append([]notifier.Payload(nil), got...)
	}

	dir := t.TempDir()
	httpAddr, _ := freeAddr()
	osmAddr, _ := freeAddr()
	srv := startWebhookChild(t, dir, httpAddr, osmAddr, rc.URL)

	north, south := crossingOutsidePorts(t)
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i, p := range []orb.Point{north, south} {
		q := url.Values{"id": {"smuggler-1"}, "lat": {fmt.Sprint(p.Lat())}, "lon": {fmt.Sprint(p.Lon())},
			"timestamp": {fmt.Sprint(at.Add(time.Duration(i) * 5 * time.Minute).Unix())}, "speed": {"40"}}
		resp, err := http.Post("http://"+osmAddr+"/?"+q.Encode(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("OsmAnd answered %d", resp.StatusCode)
		}
	}
	waitUntil(t, "a delivery attempt", func() bool { return len(received()) > 0 })
	first := received()[0]
	if first.Type != "alert.opened" || first.Alert.Type != "border_crossing_outside_port" || first.Alert.VehicleID != "smuggler-1" {
		t.Fatalf("first webhook = %+v, want the opening of a border_crossing_outside_port alert", first)
	}
	srv.cmd.Process.Kill()
	srv.cmd.Wait()

	mu.Lock()
	up = true
	before := len(got)
	mu.Unlock()
	startWebhookChild(t, dir, httpAddr, osmAddr, rc.URL)
	waitUntil(t, "the delivery after the restart", func() bool { return len(received()) > before })
	after := received()[before]
	if after.ID != first.ID || after.Alert.ID != first.Alert.ID {
		t.Fatalf("after the restart the receiver got %+v, want delivery %s again", after, first.ID)
	}
}

// sigTime reads the time a request was signed at, so the test can recompute its signature.
func sigTime(r *http.Request) time.Time {
	var ts int64
	fmt.Sscanf(r.Header.Get(notifier.HeaderSignature), "t=%d,", &ts)
	return time.Unix(ts, 0)
}

// crossingOutsidePorts returns two points 3 km north and south of the middle of a border
// segment running roughly east-west, at least 40 km from every port's crossing.
func crossingOutsidePorts(t *testing.T) (orb.Point, orb.Point) {
	b := district.Border()
	for i := 0; i+1 < len(b); i++ {
		mid := orb.Point{(b[i][0] + b[i+1][0]) / 2, (b[i][1] + b[i+1][1]) / 2}
		dLon, dLat := b[i+1][0]-b[i][0], b[i+1][1]-b[i][1]
		if math.Abs(dLat) > 0.2*math.Abs(dLon) || geo.Distance(b[i], b[i+1]) < 500 {
			continue
		}
		far := true
		for _, p := range district.Ports() {
			far = far && geo.Distance(mid, p.Crossing) > 40e3
		}
		if far {
			const d = 0.027 // about 3 km of latitude
			return orb.Point{mid[0], mid[1] + d}, orb.Point{mid[0], mid[1] - d}
		}
	}
	t.Fatal("no east-west border segment far from the ports")
	return orb.Point{}, orb.Point{}
}

func startWebhookChild(t *testing.T, dir, httpAddr, osmAddr, hookURL string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BW_TEST_SERVE=1", "BW_DATA_DIR="+dir, "BW_HTTP_ADDR="+httpAddr, "BW_OSMAND_ADDR="+osmAddr,
		"BW_JT808_ADDR=", "BW_GT06_ADDR=", "BW_JT600_ADDR=", "BW_ACCEPT_UNKNOWN_DEVICES=true", "BW_ADMIN_PASSWORD="+testPassword, "BW_REQUIRE_TOTP_ADMINS=false", "BW_LOG_LEVEL=error",
		"BW_DATABASE_URL=", "BW_GEOFENCE=embedded", "BW_WEBHOOK_URLS="+hookURL, "BW_WEBHOOK_SECRET=e2e-secret", "BW_WEBHOOK_TIMEOUT=2s")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitUntil(t, "the server to be ready", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return &child{cmd: cmd, httpAddr: httpAddr}
}

// waitUntil polls until cond holds; the ceiling only turns a hang into a readable failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestScreenWebhookEndToEnd: a receiver the administrator adds through the API is sent the next
// alert, signed with its secret, without a restart; one narrowed to another port is not; once
// disabled it is sent nothing more.
func TestScreenWebhookEndToEnd(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]notifier.Payload{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p notifier.Payload
		json.Unmarshal(body, &p)
		if r.Header.Get(notifier.HeaderSignature) != notifier.Sign("screens-secret-0123456789", sigTime(r), body) {
			t.Errorf("%s: signature %q does not verify", r.URL.Path, r.Header.Get(notifier.HeaderSignature))
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], p)
		mu.Unlock()
	}))
	defer rc.Close()
	received := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(got[path])
	}
	// opened reports whether path was sent the opening of vehicle's alert (a delivery retried
	// on a loaded machine arrives twice: count changes, not requests).
	opened := func(path, vehicle string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range got[path] {
			if p.Type == "alert.opened" && p.Alert.VehicleID == vehicle {
				return true
			}
		}
		return false
	}
	a := startApp(t, func(c *config) { c.AcceptUnknown, c.WebhookAllowPrivate = true, true })
	for _, r := range []map[string]any{
		{"name": "screens", "url": rc.URL + "/all", "secret": "screens-secret-0123456789"},
		{"name": "erenhot-only", "url": rc.URL + "/erenhot", "secret": "screens-secret-0123456789", "ports": []string{"port-erenhot"}},
		{"name": "witness", "url": rc.URL + "/witness", "secret": "screens-secret-0123456789", "types": []string{"border_crossing_outside_port"}},
	} {
		a.mustCall("POST", "/api/v1/webhooks/receivers", r, nil, 201)
	}

	north, south := crossingOutsidePorts(t)
	cross := func(vehicle string, at time.Time) {
		for i, p := range []orb.Point{north, south} {
			q := url.Values{"id": {vehicle}, "lat": {fmt.Sprint(p.Lat())}, "lon": {fmt.Sprint(p.Lon())},
				"timestamp": {fmt.Sprint(at.Add(time.Duration(i) * 5 * time.Minute).Unix())}, "speed": {"40"}}
			resp, err := http.Post("http://"+a.osmandLn.Addr().String()+"/?"+q.Encode(), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	cross("smuggler-1", time.Now().Add(-20*time.Minute).Truncate(time.Second))
	waitUntil(t, "the alert at the receiver added from the screens", func() bool { return received("/all") > 0 })
	mu.Lock()
	first := got["/all"][0]
	mu.Unlock()
	if first.Alert.Type != "border_crossing_outside_port" || first.Alert.VehicleID != "smuggler-1" {
		t.Errorf("got %+v", first)
	}

	a.mustCall("PATCH", "/api/v1/webhooks/receivers/screens", map[string]any{"enabled": false}, nil, 200)
	cross("smuggler-2", time.Now().Add(-10*time.Minute).Truncate(time.Second))
	// Each change is routed to every hook in one pass: once the witness has the second alert,
	// the disabled receiver and the one narrowed to Erenhot were passed over.
	waitUntil(t, "the second alert at the witness", func() bool { return opened("/witness", "smuggler-2") })
	for hook, want := range map[string]int{"screens": 1, "erenhot-only": 0} {
		var out struct{ Deliveries []any }
		a.mustCall("GET", "/api/v1/webhooks/deliveries?hook="+hook, nil, &out, 200)
		if len(out.Deliveries) != want {
			t.Errorf("%s has %d deliveries, want %d", hook, len(out.Deliveries), want)
		}
	}
}
