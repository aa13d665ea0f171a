package mapui_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestTrackColumns: the compact format decodes to the same fixes as the JSON one.
func TestTrackColumns(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var b tracker.Batch
	for i := range 50 {
		b.Fixes = append(b.Fixes, tracker.Fix{VehicleID: "COL1", DeviceID: "COL1", Time: t0.Add(time.Duration(i) * 10 * time.Second), ReceivedAt: t0,
			Lat: 43.6 + float64(i)*0.0001234, Lon: 111.9 - float64(i%7)*0.0003, SpeedKmh: float64(i%13) * 7.3, Valid: i != 17})
	}
	if err := a.store.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("/api/v1/vehicles/COL1/track?from=%s&to=%s", t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339))
	var full struct{ Fixes []tracker.Fix }
	if err := json.Unmarshal(a.do("GET", q, access.RolePatrol, nil, 200), &full); err != nil {
		t.Fatal(err)
	}
	var cols struct {
		Count              int
		T, Lat, Lon, Speed []int64
		Invalid            []int
	}
	if err := json.Unmarshal(a.do("GET", q+"&format=columns", access.RolePatrol, nil, 200), &cols); err != nil {
		t.Fatal(err)
	}
	if cols.Count != 50 || len(full.Fixes) != 50 || len(cols.T) != 50 || len(cols.Lat) != 50 || len(cols.Lon) != 50 || len(cols.Speed) != 50 {
		t.Fatalf("count %d, json %d fixes, columns %d/%d/%d/%d", cols.Count, len(full.Fixes), len(cols.T), len(cols.Lat), len(cols.Lon), len(cols.Speed))
	}
	var tm, lat, lon int64
	for i, f := range full.Fixes {
		tm, lat, lon = tm+cols.T[i], lat+cols.Lat[i], lon+cols.Lon[i]
		if tm != f.Time.UnixMilli() || abs(float64(lat)/1e6-f.Lat) > 5e-7 || abs(float64(lon)/1e6-f.Lon) > 5e-7 || abs(float64(cols.Speed[i])/10-f.SpeedKmh) > 0.05 {
			t.Fatalf("fix %d: columns give %d %d %d %d, json %v", i, tm, lat, lon, cols.Speed[i], f)
		}
	}
	if len(cols.Invalid) != 1 || cols.Invalid[0] != 17 {
		t.Errorf("invalid %v, want [17]", cols.Invalid)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
