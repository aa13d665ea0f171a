package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/cluster/clustertest"
)

// TestClusterJudgeNoOwner runs an api and gateway node A and two tracker processes B and C.
// A weighbridge reading and a gate read posted on A are judged and stored by the owner of
// the vehicle's partition. With B and C killed (kill -9), no tracker answers: both are 503
// `unavailable` and nothing is stored (the reading was stored on A before, and a scale that
// resent it stored it twice); an OsmAnd fix is still acknowledged, JetStream holds it. With B
// back, the gate and the scale resend and are accepted, each stored once; the OsmAnd fix is
// stored. An emergency declaration refused with them (its alert is raised by the owner) is not
// stored, and its resend is accepted and raises the alert once.
func TestClusterJudgeNoOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and server processes")
	}
	nats := clustertest.StartNATS(t, 3)
	dbURL := clustertest.PostgresURL(t)
	osm, _ := freeAddr()
	a := startClusterNode(t, "A", "gateway,api", nats.URLs(), dbURL, "BW_OSMAND_ADDR="+osm)
	b := startClusterNode(t, "B", "tracker", nats.URLs(), dbURL)
	c := startClusterNode(t, "C", "tracker", nats.URLs(), dbURL)
	api := &testApp{t: t, base: "http://" + a.http}
	api.token = api.login("admin", testPassword)
	waitPartitions(t, api, map[string]bool{"B": true, "C": true})
	yard := `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[109.0,41.0],[109.01,41.0],[109.01,41.01],[109.0,41.01],[109.0,41.0]]]},` +
		`"properties":{"id":"yard-judge","name":"judge yard","kind":"yard"}}`
	api.mustCall("POST", "/api/v1/zones", json.RawMessage(yard), nil, 201)
	port := `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[109.1,41.0],[109.11,41.0],[109.11,41.01],[109.1,41.01],[109.1,41.0]]]},` +
		`"properties":{"id":"port-judge","name":"judge port","kind":"port"}}`
	api.mustCall("POST", "/api/v1/zones", json.RawMessage(port), nil, 201)
	api.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "veh-judge", "plate": "蒙K77777", "kind": "truck"}, nil, 201)
	time.Sleep(time.Second) // the trackers learn the plate from A's notice

	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	reading := func(at time.Time) map[string]any {
		return map[string]any{"scale_id": "scale-judge", "zone_id": "yard-judge", "time": at, "plate": "蒙K77777", "gross_kg": 40000, "tare_kg": 15000}
	}
	gate := func(at time.Time) map[string]any {
		return map[string]any{"gate_zone_id": "yard-judge", "plate": "蒙K77777", "direction": "in", "time": at}
	}
	var w struct {
		Weighing struct {
			ID        int64  `json:"id"`
			VehicleID string `json:"vehicle_id"`
		} `json:"weighing"`
	}
	api.mustCall("POST", "/api/v1/weighings", reading(at), &w, 201)
	if w.Weighing.VehicleID != "veh-judge" || w.Weighing.ID == 0 {
		t.Errorf("reading stored as %+v, want it of veh-judge", w.Weighing)
	}

	b.kill9()
	c.kill9()
	// The leases expire (6 s) and no tracker takes them: every request waits its 5 s and fails.
	var refused struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if code := api.call("POST", "/api/v1/weighings", api.token, reading(at.Add(time.Minute)), &refused); code != http.StatusServiceUnavailable || refused.Error.Code != "unavailable" || refused.Error.Message == "" {
		t.Errorf("reading with no tracker = %d %+v, want 503 unavailable with a reason", code, refused)
	}
	refused.Error.Code = ""
	if code := api.call("POST", "/api/v1/gate-events", api.token, gate(at.Add(2*time.Minute)), &refused); code != http.StatusServiceUnavailable || refused.Error.Code != "unavailable" {
		t.Errorf("gate read with no tracker = %d %+v, want 503 unavailable", code, refused)
	}
	emergency := map[string]any{"id": "em-judge", "vehicle_id": "veh-judge", "type": "emergency", "direction": "inbound", "port_zone_id": "port-judge"}
	refused.Error.Code = ""
	if code := api.call("POST", "/api/v1/declarations", api.token, emergency, &refused); code != http.StatusServiceUnavailable || refused.Error.Code != "unavailable" {
		t.Errorf("emergency declaration with no tracker = %d %+v, want 503 unavailable", code, refused)
	}
	osmand := func(at time.Time) int {
		resp, err := http.Post(fmt.Sprintf("http://%s/?id=osm-judge&lat=41.005&lon=109.005&timestamp=%d", osm, at.Unix()), "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := osmand(at.Add(3 * time.Minute)); code != 200 {
		t.Errorf("OsmAnd fix with no tracker = %d, want 200 (JetStream holds it)", code)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	count := func(q string) int {
		var n int
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM weighings`); n != 1 {
		t.Errorf("%d weighings stored after the refusal, want 1", n)
	}
	if n := count(`SELECT count(*) FROM declarations`); n != 0 {
		t.Errorf("the emergency declaration refused is stored (%d), without its alert: its resend would be 409", n)
	}

	b.start()
	waitPartitions(t, api, map[string]bool{"B": true})
	// B owns the partitions before it serves them (it restores and replays first): a 503 until
	// then is resent, as a scale, a gate and a client do.
	resend := func(path string, body any) {
		t.Helper()
		code := 0
		waitUntil(t, path+" accepted", func() bool {
			code = api.call("POST", path, api.token, body, nil)
			return code != http.StatusServiceUnavailable
		})
		if code != http.StatusCreated {
			t.Errorf("POST %s resent = %d, want 201", path, code)
		}
	}
	resend("/api/v1/weighings", reading(at.Add(time.Minute)))
	resend("/api/v1/gate-events", gate(at.Add(2*time.Minute)))
	resend("/api/v1/declarations", emergency)
	api.mustCall("POST", "/api/v1/declarations", emergency, nil, 201) // its answer lost: sent again
	if n := count(`SELECT count(*) FROM alerts WHERE type = 'emergency_crossing' AND declaration_id = 'em-judge'`); n != 1 {
		t.Errorf("%d emergency_crossing alerts of the declaration resent, want 1", n)
	}
	if n := count(`SELECT count(*) FROM weighings`); n != 2 {
		t.Errorf("%d weighings stored after the resend, want 2", n)
	}
	if n := count(`SELECT count(*) FROM events WHERE type = 'weighing' AND vehicle_id = 'veh-judge'`); n != 2 {
		t.Errorf("%d weighing events stored, want 2", n)
	}
	if n := count(`SELECT count(*) FROM events WHERE type = 'gate_read' AND vehicle_id = 'veh-judge'`); n != 1 {
		t.Errorf("%d gate_read events stored, want 1", n)
	}
	for deadline := time.Now().Add(30 * time.Second); count(`SELECT count(*) FROM fixes WHERE device_id LIKE '%osm-judge%'`) != 1; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the OsmAnd fix acknowledged with no tracker is not stored 30 s after one came back")
		}
	}
}
