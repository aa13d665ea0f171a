package mapui_test

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

type liveMsg struct {
	Type     string         `json:"type"`
	Fix      *tracker.Fix   `json:"fix"`
	Alert    *tracker.Alert `json:"alert"`
	Messages []liveMsg      `json:"messages"`
	BBox     []float64      `json:"bbox"`
	Kind     string         `json:"kind"` // a targeting notice's
}

// liveClient starts a hub behind a real server and a WebSocket client subscribed with sub; next
// returns the messages of the client's next frame.
func liveClient(t *testing.T, sub map[string]any) (hub *mapui.Hub, next func() []liveMsg) {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	hub = mapui.NewHub(nil, reg)
	go hub.Run(t.Context())
	acc := access.New(st, access.Options{})
	s := mapui.NewServer(mapui.Config{Store: st, Access: acc, Hub: hub}, reg)
	if _, err := acc.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	a := &api{t: t, srv: srv, store: st, tokens: map[string]string{}}
	token := a.login("admin", adminPassword, 200)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/live?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := ws.WriteJSON(sub); err != nil {
		t.Fatal(err)
	}
	next = func() []liveMsg {
		t.Helper()
		return readLive(t, ws)
	}
	for {
		for _, m := range next() {
			if m.Type == "subscribed" {
				if bbox, ok := sub["bbox"].([]float64); ok && (len(m.BBox) != 4 || m.BBox[0] != bbox[0]) {
					t.Fatalf("acknowledged bbox %v, subscribed %v", m.BBox, bbox)
				}
				return hub, next
			}
		}
	}
}

// receiveUntil reads frames until the position of vehicle mark arrives, and returns the
// vehicles whose positions (V) and alerts (alert:V) arrived.
func receiveUntil(next func() []liveMsg, mark string) map[string]bool {
	seen := map[string]bool{}
	for !seen[mark] {
		for _, m := range next() {
			switch m.Type {
			case "position":
				seen[m.Fix.VehicleID] = true
			case "alert":
				seen["alert:"+m.Alert.VehicleID] = true
			case "target":
				seen["notice:"+m.Kind] = true
			}
		}
	}
	return seen
}

// TestHubSubscription: after the acknowledgement of a bbox subscription, positions outside the
// box never arrive, and with all_alerts every alert still does.
func TestHubSubscription(t *testing.T) {
	hub, next := liveClient(t, map[string]any{"type": "subscribe", "bbox": []float64{111, 43, 112, 44}, "all_alerts": true})
	now := time.Now().UTC()
	fix := func(id string, lon, lat float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: lat, Lon: lon, Valid: true}
	}
	// Outside first, inside last: the hub delivers in order, so once IN arrives OUT was decided.
	hub.Publish([]tracker.Fix{fix("OUT1", 110.5, 43.5), fix("OUT2", 111.5, 44.5)}, nil,
		[]tracker.Alert{{ID: 7, Type: "border_crossing", Severity: tracker.SeverityCritical, VehicleID: "OUT1", Lat: 43.5, Lon: 110.5, Time: now}})
	hub.Publish([]tracker.Fix{fix("IN", 111.5, 43.5)}, nil, nil)
	seen := receiveUntil(next, "IN")
	if seen["OUT1"] || seen["OUT2"] {
		t.Errorf("positions outside the subscribed box arrived: %v", seen)
	}
	if !seen["alert:OUT1"] {
		t.Errorf("all_alerts: the alert outside the box did not arrive: %v", seen)
	}
}

// TestHubNewestPosition: a live client is sent where a vehicle is now — the newest fix of a
// publication, never a late (backfilled) fix that would move it back on the map.
func TestHubNewestPosition(t *testing.T) {
	hub, next := liveClient(t, map[string]any{"type": "subscribe"})
	now := time.Now().UTC().Truncate(time.Second)
	at := func(id string, t time.Time, late bool) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: t, ReceivedAt: now, Lat: 43.5, Lon: 111.5, Valid: true, Late: late}
	}
	hub.Publish([]tracker.Fix{at("V", now.Add(-10*time.Second), false), at("V", now, false)}, nil, nil)
	hub.Publish([]tracker.Fix{at("V", now.Add(-time.Hour), true)}, nil, nil)
	hub.Publish([]tracker.Fix{at("MARK", now, false)}, nil, nil)
	var positions []time.Time
	for done := false; !done; {
		for _, m := range next() {
			switch {
			case m.Type == "position" && m.Fix.VehicleID == "V":
				positions = append(positions, m.Fix.Time)
			case m.Type == "position" && m.Fix.VehicleID == "MARK":
				done = true
			}
		}
	}
	if len(positions) != 1 || !positions[0].Equal(now) {
		t.Errorf("positions of V sent: %v, want only %v", positions, now)
	}
}

// TestHubUnencodable: a fix or alert that cannot be encoded as JSON (NaN, broken evidence) is
// dropped; the client gets no empty or corrupt frame and keeps receiving what follows.
func TestHubUnencodable(t *testing.T) {
	hub, next := liveClient(t, map[string]any{"type": "subscribe"})
	now := time.Now().UTC()
	fix := func(id string, speed float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: 43.5, Lon: 111.5, SpeedKmh: speed, Valid: true}
	}
	hub.Publish([]tracker.Fix{fix("NAN", math.NaN()), fix("OK", 10)}, nil,
		[]tracker.Alert{{ID: 8, Type: "border_crossing", Severity: tracker.SeverityCritical, VehicleID: "NAN", Time: now, Evidence: json.RawMessage(`{`)},
			{ID: 9, Type: "border_crossing", Severity: tracker.SeverityCritical, VehicleID: "OK", Time: now}})
	hub.Publish([]tracker.Fix{fix("MARK", 0)}, nil, nil)
	seen := receiveUntil(next, "MARK")
	if !seen["OK"] || !seen["alert:OK"] || seen["NAN"] || seen["alert:NAN"] {
		t.Errorf("sent %v, want the position and alert of OK, nothing of NAN", seen)
	}
}
