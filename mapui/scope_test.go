package mapui_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// Two ports far apart: a patrol of Erenhot must not see a truck at Ceke.
const (
	erenLat, erenLon = 43.67, 111.93 // in port-erenhot
	cekeLat, cekeLon = 42.56, 101.30 // in port-ceke
)

// unitAPI is newAPI with a patrol of Erenhot (token under "patrol-erenhot"), a truck at each
// port (ERN, CEK) with a fix now and an alert, and returns the alerts' ids.
func unitAPI(t *testing.T) (a *api, ernAlert, cekAlert int64) {
	t.Helper()
	a = newAPI(t)
	a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "patrol-erenhot", "password": "Erenhot-Passw0rd", "role": "patrol", "unit": "port-erenhot"}, 201)
	a.tokens["patrol-erenhot"] = a.login("patrol-erenhot", "Erenhot-Passw0rd", 200)
	now := time.Now().UTC().Add(-time.Minute)
	fix := func(id string, lat, lon float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: lat, Lon: lon, Valid: true}
	}
	alert := func(id string, lat, lon float64) tracker.Alert {
		return tracker.Alert{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning, VehicleID: id, Time: now, Lat: lat, Lon: lon,
			DedupKey: "detour:" + id, Evidence: json.RawMessage(`{}`)}
	}
	b := &tracker.Batch{
		Fixes:  []tracker.Fix{fix("ERN", erenLat, erenLon), fix("CEK", cekeLat, cekeLon)},
		Alerts: []tracker.Alert{alert("ERN", erenLat, erenLon), alert("CEK", cekeLat, cekeLon)},
		Events: []tracker.Event{{Type: tracker.EventZoneEnter, Time: now, VehicleID: "ERN", Lat: erenLat, Lon: erenLon},
			{Type: tracker.EventZoneEnter, Time: now, VehicleID: "CEK", Lat: cekeLat, Lon: cekeLon}},
	}
	if err := a.store.Commit(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	return a, b.Alerts[0].ID, b.Alerts[1].ID
}

// vehiclesIn returns the vehicle ids of a list answer's items under key.
func vehiclesIn(t *testing.T, body []byte, key string) map[string]bool {
	t.Helper()
	var out map[string][]struct {
		VehicleID string `json:"vehicle_id"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, x := range out[key] {
		seen[x.VehicleID] = true
	}
	return seen
}

// TestPortUnitSeesOnlyItsArea: a patrol of Erenhot sees the truck at Erenhot and not the one at
// Ceke, in positions, alerts, events and an alert's detail, may not acknowledge Ceke's alert or
// read the track of a truck never near Erenhot; a patrol of the district sees both.
func TestPortUnitSeesOnlyItsArea(t *testing.T) {
	a, ernAlert, cekAlert := unitAPI(t)
	for _, tc := range []struct {
		path, key string
	}{{"/api/v1/positions", "positions"}, {"/api/v1/alerts", "alerts"}, {"/api/v1/events", "events"}} {
		if got := vehiclesIn(t, a.do("GET", tc.path, "patrol-erenhot", nil, 200), tc.key); !got["ERN"] || got["CEK"] {
			t.Errorf("%s as the patrol of Erenhot: %v, want ERN and not CEK", tc.path, got)
		}
		if got := vehiclesIn(t, a.do("GET", tc.path, access.RolePatrol, nil, 200), tc.key); !got["ERN"] || !got["CEK"] {
			t.Errorf("%s as a patrol of the district: %v, want ERN and CEK", tc.path, got)
		}
	}
	a.do("GET", "/api/v1/alerts/"+itoa(ernAlert), "patrol-erenhot", nil, 200)
	a.do("GET", "/api/v1/alerts/"+itoa(cekAlert), "patrol-erenhot", nil, 404)
	a.do("GET", "/api/v1/alerts/"+itoa(cekAlert), access.RolePatrol, nil, 200)
	a.do("POST", "/api/v1/alerts/"+itoa(cekAlert)+"/ack", "patrol-erenhot", nil, 404)
	a.do("POST", "/api/v1/alerts/"+itoa(ernAlert)+"/ack", "patrol-erenhot", nil, 200)

	a.do("GET", "/api/v1/vehicles/ERN/track", "patrol-erenhot", nil, 200)
	if b := a.do("GET", "/api/v1/vehicles/CEK/track", "patrol-erenhot", nil, 403); !strings.Contains(string(b), "outside_unit") {
		t.Errorf("track of a truck never near Erenhot: %s", b)
	}
	a.do("GET", "/api/v1/vehicles/CEK/track", access.RolePatrol, nil, 200)

	a.do("GET", "/api/v1/search?bbox=101,42,102,43", "patrol-erenhot", nil, 403)
	a.do("GET", "/api/v1/search?bbox=101,42,102,43", access.RolePatrol, nil, 403)
	a.do("GET", "/api/v1/search?bbox=101,42,102,43", access.RoleInvestigator, nil, 200)
}

// TestPortUnitLive: the patrol of Erenhot's socket never carries the truck at Ceke or its
// alert, whatever it subscribes to (everything, or a box around Ceke with all alerts); a socket
// of the district gets both.
func TestPortUnitLive(t *testing.T) {
	a, _, _ := unitAPI(t)
	subs := []map[string]any{nil, {"type": "subscribe", "bbox": []float64{100, 41, 113, 45}, "all_alerts": true}}
	var unit []*websocket.Conn
	for _, sub := range subs {
		unit = append(unit, a.watchLive(a.tokens["patrol-erenhot"], sub))
	}
	district := a.watchLive(a.tokens[access.RolePatrol], nil)
	receive := func(ws *websocket.Conn) map[string]bool {
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		return receiveUntil(func() []liveMsg { return readLive(t, ws) }, "MARK")
	}
	now := time.Now().UTC()
	fix := func(id string, lat, lon float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: lat, Lon: lon, Valid: true}
	}
	alert := func(id int64, v string, lat, lon float64) tracker.Alert {
		return tracker.Alert{ID: id, Type: tracker.AlertDetour, Severity: tracker.SeverityCritical, VehicleID: v, Time: now, Lat: lat, Lon: lon}
	}
	// Ceke first, the mark last: the hub delivers in order, so once MARK arrives CEK was decided.
	a.hub.Publish([]tracker.Fix{fix("CEK", cekeLat, cekeLon), fix("ERN", erenLat, erenLon)}, nil,
		[]tracker.Alert{alert(101, "CEK", cekeLat, cekeLon), alert(102, "ERN", erenLat, erenLon)})
	a.hub.Publish([]tracker.Fix{fix("MARK", erenLat, erenLon)}, nil, nil)
	for i, ws := range unit {
		if seen := receive(ws); seen["CEK"] || seen["alert:CEK"] || !seen["ERN"] || !seen["alert:ERN"] {
			t.Errorf("patrol of Erenhot, subscription %v: got %v, want ERN and its alert only", subs[i], seen)
		}
	}
	if seen := receive(district); !seen["CEK"] || !seen["alert:CEK"] || !seen["ERN"] {
		t.Errorf("patrol of the district: got %v, want both trucks", seen)
	}
}

// TestUserUnit: a user's unit is district or a port zone, listed with the user; changing it
// ends the user's sessions.
func TestUserUnit(t *testing.T) {
	a := newAPI(t)
	for _, unit := range []string{"yard-ceke-1", "nowhere", "port 'ceke'"} {
		a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "p2", "password": "P2-Passw0rd-x", "role": "patrol", "unit": unit}, 400)
	}
	a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "p2", "password": "P2-Passw0rd-x", "role": "patrol", "unit": "port-ceke"}, 201)
	tok := a.login("p2", "P2-Passw0rd-x", 200)
	a.do("PUT", "/api/v1/users/p2", access.RoleAdmin, map[string]string{"unit": "control-ceke"}, 400)
	a.do("PUT", "/api/v1/users/p2", access.RoleAdmin, map[string]string{"unit": "port-erenhot"}, 200)
	a.req("GET", "/api/v1/me", tok, nil, 401, nil)
	var list struct {
		Users []tracker.User
	}
	a.req("GET", "/api/v1/users", a.tokens[access.RoleAdmin], nil, 200, &list)
	units := map[string]string{}
	for _, u := range list.Users {
		units[u.Username] = u.Unit
	}
	if units["p2"] != "port-erenhot" || units["patrol1"] != tracker.UnitDistrict || units["admin"] != tracker.UnitDistrict {
		t.Errorf("units listed: %v", units)
	}
}
