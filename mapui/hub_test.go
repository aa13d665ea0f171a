package mapui_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

type liveMsg struct {
	Type     string         `json:"type"`
	Fix      *tracker.Fix   `json:"fix"`
	Alert    *tracker.Alert `json:"alert"`
	Messages []liveMsg      `json:"messages"`
	BBox     []float64      `json:"bbox"`
}

// TestHubSubscription: after the acknowledgement of a bbox subscription, positions outside the
// box never arrive, and with all_alerts every alert still does.
func TestHubSubscription(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	hub := mapui.NewHub(nil, reg)
	go hub.Run(t.Context())
	s := mapui.NewServer(mapui.Config{Store: st, Hub: hub}, reg)
	if _, err := mapui.EnsureAdmin(t.Context(), st, adminPassword); err != nil {
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
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := ws.WriteJSON(map[string]any{"type": "subscribe", "bbox": []float64{111, 43, 112, 44}, "all_alerts": true}); err != nil {
		t.Fatal(err)
	}
	next := func() []liveMsg {
		t.Helper()
		var m liveMsg
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "batch" {
			return m.Messages
		}
		return []liveMsg{m}
	}
	var acked bool
	for !acked {
		for _, m := range next() {
			if m.Type == "subscribed" {
				acked = true
				if len(m.BBox) != 4 || m.BBox[0] != 111 {
					t.Fatalf("acknowledged bbox %v", m.BBox)
				}
			}
		}
	}

	now := time.Now().UTC()
	fix := func(id string, lon, lat float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: lat, Lon: lon, Valid: true}
	}
	// Outside first, inside last: the hub delivers in order, so once IN arrives OUT was decided.
	hub.Publish([]tracker.Fix{fix("OUT1", 110.5, 43.5), fix("OUT2", 111.5, 44.5)},
		[]tracker.Alert{{ID: 7, Type: "border_crossing", Severity: tracker.SeverityCritical, VehicleID: "OUT1", Lat: 43.5, Lon: 110.5, Time: now}})
	hub.Publish([]tracker.Fix{fix("IN", 111.5, 43.5)}, nil)
	seen := map[string]bool{}
	for !seen["IN"] {
		for _, m := range next() {
			switch m.Type {
			case "position":
				seen[m.Fix.VehicleID] = true
			case "alert":
				seen["alert:"+m.Alert.VehicleID] = true
			}
		}
	}
	if seen["OUT1"] || seen["OUT2"] {
		t.Errorf("positions outside the subscribed box arrived: %v", seen)
	}
	if !seen["alert:OUT1"] {
		t.Errorf("all_alerts: the alert outside the box did not arrive: %v", seen)
	}
}
