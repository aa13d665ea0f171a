package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGradeOriginRisk: two coal trucks declared grade A stop 30 min in Mongolian mines and
// cross at Ceke; the one that loaded at Ovoot Tolgoi (grade B) ranks with grade_origin naming
// the mine and both grades; its control, loaded at Nariin Sukhait (grade A), does not rank.
func TestGradeOriginRisk(t *testing.T) {
	a := startApp(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	trucks := []struct{ id, plate string }{{"coal-b", "蒙M·G0001"}, {"coal-a", "蒙M·G0002"}}
	for _, tr := range trucks {
		a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": tr.id, "kind": "truck", "plate": tr.plate}, nil, 201)
		a.mustCall("POST", "/api/v1/devices", map[string]any{"id": tr.id + "-dev", "protocol": "osmand", "vehicle_id": tr.id}, nil, 201)
		a.mustCall("POST", "/api/v1/declarations", map[string]any{"id": "d-" + tr.id, "vehicle_id": tr.id, "direction": "inbound",
			"port_zone_id": "port-ceke", "corridor_zone_id": "corridor-ceke-yard1", "yard_zone_id": "yard-ceke-1", "cargo": "煤炭", "grade": "A",
			"valid_from": now.Add(-2 * time.Hour), "valid_to": now.Add(6 * time.Hour)}, nil, 201)
	}
	send := a.standing
	mines := map[string][2]float64{"coal-b": {43.018, 101.217}, "coal-a": {42.960, 101.400}} // Ovoot Tolgoi, Nariin Sukhait
	start := now.Add(-90 * time.Minute)
	for _, tr := range trucks {
		m := mines[tr.id]
		for i := range 61 { // 30 min in the mine, then 10 min away towards the border
			send(tr.id+"-dev", start.Add(time.Duration(i)*30*time.Second), m[0]+float64(i%3)*1e-5, m[1])
		}
		for i := 1; i <= 20; i++ {
			send(tr.id+"-dev", start.Add(30*time.Minute+time.Duration(i)*30*time.Second), m[0]-float64(i)*0.004, m[1])
		}
	}
	if err := a.findPatterns(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var risk struct {
		Targets []struct {
			VehicleID   string `json:"vehicle_id"`
			Plate       string
			Reasons     []string
			GradeOrigin *struct {
				MineID   string `json:"mine_id"`
				Declared string
				Origin   string
			} `json:"grade_origin"`
		}
	}
	a.mustCall("GET", "/api/v1/risk", nil, &risk, 200)
	var found bool
	for _, tg := range risk.Targets {
		switch tg.VehicleID {
		case "coal-a":
			t.Errorf("the control loaded at a grade A mine ranks: %+v", tg)
		case "coal-b":
			found = true
			g := tg.GradeOrigin
			if g == nil || g.MineID != "mine-ovoottolgoi" || g.Declared != "A" || g.Origin != "B" ||
				!strings.Contains(strings.Join(tg.Reasons, "\n"), "grade_origin: declared grade A, loaded at 敖包特陶勒盖煤矿 (grade B)") {
				t.Errorf("coal-b: %+v, %+v", tg, g)
			}
		}
	}
	if !found {
		t.Errorf("coal-b is not in the ranking: %+v", risk.Targets)
	}
}
