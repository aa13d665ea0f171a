package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestEmergencyReviewAcrossRestart: an emergency truck stops 16 min outside any allowed zone
// in its window (held back: an emergency_held event), the server is stopped and started again
// on the same data, the truck drives into its yard (the window ends), and the review the
// restarted server raises lists the stop held before the restart; no unauthorized_stop.
func TestEmergencyReviewAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	sameData := func(c *config) { c.DataDir = dir }
	a := startApp(t, sameData)
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "amb-1", "kind": "truck", "plate": "蒙M·12345"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "amb-dev", "protocol": "osmand", "vehicle_id": "amb-1"}, nil, 201)
	now := time.Now().UTC().Truncate(time.Second)
	a.mustCall("POST", "/api/v1/declarations", map[string]any{"id": "d-amb", "vehicle_id": "amb-1", "direction": "inbound", "type": "emergency",
		"port_zone_id": "port-ceke", "corridor_zone_id": "corridor-ceke-yard2", "yard_zone_id": "yard-ceke-2",
		"valid_from": now.Add(-time.Hour)}, nil, 201)
	send := func(app *testApp, at time.Time, lat, lon float64) { app.standing("amb-dev", at, lat, lon) }
	// 3 km north of the Ejin Banner logistics park, outside every zone where stopping is allowed.
	const stopLat, stopLon, yardLat, yardLon = 42.020, 101.100, 41.990, 101.100
	start := now.Add(-40 * time.Minute)
	for i := range 33 {
		send(a, start.Add(time.Duration(i)*30*time.Second), stopLat+float64(i%3)*1e-5, stopLon)
	}
	var evs struct{ Events []json.RawMessage }
	a.mustCall("GET", "/api/v1/events?vehicle_id=amb-1&type=emergency_held", nil, &evs, 200)
	if len(evs.Events) == 0 {
		t.Fatal("no emergency_held event before the restart")
	}
	restartAt := time.Now()
	a.stop()

	b := startApp(t, sameData)
	drive := now.Add(-22 * time.Minute)
	for i := range 11 { // 3.3 km in 5 min, then into the yard
		f := float64(i) / 10
		send(b, drive.Add(time.Duration(i)*30*time.Second), stopLat+(yardLat-stopLat)*f, stopLon)
	}
	for i := range 4 {
		send(b, drive.Add(5*time.Minute+time.Duration(i+1)*30*time.Second), yardLat, yardLon)
	}
	type alert struct {
		Type     string
		Evidence struct {
			WouldHaveAlerted []struct {
				Type string
				Time time.Time
			} `json:"would_have_alerted"`
		}
	}
	var review alert
	waitUntil(t, "the emergency review", func() bool {
		var out struct{ Alerts []alert }
		b.mustCall("GET", "/api/v1/alerts?vehicle_id=amb-1&type=emergency_review", nil, &out, 200)
		if len(out.Alerts) > 0 {
			review = out.Alerts[0]
		}
		return len(out.Alerts) > 0
	})
	held := review.Evidence.WouldHaveAlerted
	if len(held) != 1 || held[0].Type != "unauthorized_stop" || !held[0].Time.Before(restartAt) {
		t.Errorf("review lists %+v: want the unauthorized_stop held before the restart", held)
	}
	var stops struct{ Alerts []alert }
	b.mustCall("GET", "/api/v1/alerts?vehicle_id=amb-1&type=unauthorized_stop", nil, &stops, 200)
	if len(stops.Alerts) != 0 {
		t.Errorf("%d unauthorized_stop alerts: the window suspends them", len(stops.Alerts))
	}
}
