package main

import (
	"testing"
	"time"
)

// TestRestartContinuesStops: two declared trucks stand outside every zone where stopping is
// allowed while the server is stopped and started again on the same data. One stands 7 min
// before the restart and 7 min after: 14 min in all, so an unauthorized_stop (10 min) is
// raised after the restart, dated from the first fix of the stop. The other stands 12 min
// before (alerted then) and 11 min after: still one alert, not a second for the same stop.
// A server that kept only each vehicle's newest fix over the restart began the stops again at
// the restart: late-1 got no alert.
func TestRestartContinuesStops(t *testing.T) {
	dir := t.TempDir()
	sameData := func(c *config) { c.DataDir = dir }
	a := startApp(t, sameData)
	now := time.Now().UTC().Truncate(time.Second)
	for _, v := range []string{"late-1", "once-1"} {
		a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": v, "kind": "truck", "plate": "蒙K·" + v[:1] + "0001"}, nil, 201)
		a.mustCall("POST", "/api/v1/devices", map[string]any{"id": v + "-dev", "protocol": "osmand", "vehicle_id": v}, nil, 201)
		a.mustCall("POST", "/api/v1/declarations", map[string]any{"id": "d-" + v, "vehicle_id": v, "direction": "inbound",
			"port_zone_id": "port-ceke", "corridor_zone_id": "corridor-ceke-yard2", "yard_zone_id": "yard-ceke-2",
			"valid_from": now.Add(-2 * time.Hour), "valid_to": now.Add(2 * time.Hour)}, nil, 201)
	}
	// 3 km north of the Ejin Banner logistics park, outside every zone where stopping is allowed;
	// a few metres of GPS drift between fixes.
	const stopLat = 42.020
	stand := func(app *testApp, v string, from time.Time, n int) {
		for i := range n {
			app.standing(v+"-dev", from.Add(time.Duration(i)*30*time.Second), stopLat+float64(i%3)*1e-5, 101.100)
		}
	}
	stops := func(app *testApp, v string) []struct{ Time time.Time } {
		var out struct{ Alerts []struct{ Time time.Time } }
		app.mustCall("GET", "/api/v1/alerts?vehicle_id="+v+"&type=unauthorized_stop", nil, &out, 200)
		return out.Alerts
	}
	lateFrom, onceFrom := now.Add(-14*time.Minute), now.Add(-23*time.Minute)
	stand(a, "late-1", lateFrom, 15) // 7 min
	stand(a, "once-1", onceFrom, 25) // 12 min
	if got := stops(a, "late-1"); len(got) != 0 {
		t.Fatalf("late-1 alerted after 7 min: %+v", got)
	}
	if got := stops(a, "once-1"); len(got) != 1 {
		t.Fatalf("once-1 after 12 min: %d unauthorized_stop alerts, want 1", len(got))
	}
	a.stop()

	b := startApp(t, sameData)
	stand(b, "late-1", lateFrom.Add(7*time.Minute+30*time.Second), 14)  // to 14 min
	stand(b, "once-1", onceFrom.Add(12*time.Minute+30*time.Second), 22) // to 23 min
	late := stops(b, "late-1")
	if len(late) != 1 {
		t.Fatalf("late-1 stood 14 min across the restart: %d unauthorized_stop alerts, want 1", len(late))
	}
	if !late[0].Time.Equal(lateFrom) {
		t.Errorf("late-1's stop is dated %v, want its first fix %v", late[0].Time, lateFrom)
	}
	if got := stops(b, "once-1"); len(got) != 1 {
		t.Errorf("once-1 stood 23 min, alerted before the restart: %d unauthorized_stop alerts, want 1", len(got))
	}
}
