package geofence_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
)

// FuzzParseFeatureCollection feeds arbitrary bytes to the parser; whatever it accepts, an
// engine must take and evaluate without panicking.
func FuzzParseFeatureCollection(f *testing.F) {
	bad, err := os.ReadFile("testdata/bad.geojson")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bad)
	f.Add([]byte(`{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"id":"b","kind":"border","domestic_side":"left"},"geometry":{"type":"MultiLineString","coordinates":[[[111,43.7],[113,43.7]],[[113,43.7],[114,44]]]}},
	 {"type":"Feature","properties":{"id":"c","kind":"corridor","width_m":250},"geometry":{"type":"LineString","coordinates":[[111.95,43.7],[111.95,43.5]]}},
	 {"type":"Feature","properties":{"id":"p","kind":"port"},"geometry":{"type":"MultiPolygon","coordinates":[[[[111.9,43.68],[112,43.68],[112,43.72],[111.9,43.68]]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","id":7,"properties":{"kind":"yard"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.1,0.2],[0.1,0.1]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		zones, err := geofence.ParseFeatureCollection(b)
		if err != nil {
			return
		}
		ctx := context.Background()
		e := geofence.NewEmbedded(geofence.Options{})
		defer e.Close()
		if err := e.SetZones(ctx, zones); err != nil {
			t.Fatalf("SetZones refused zones the parser accepted: %v", err)
		}
		t0 := time.Unix(1_780_000_000, 0)
		for i, ll := range [][2]float64{{43.75, 111.95}, {43.6, 111.95}, {0.15, 0.15}, {0.5, 0.5}, {-10, 200}} {
			p := geofence.Position{VehicleID: "v", Time: t0.Add(time.Duration(i) * time.Minute), Lat: ll[0], Lon: ll[1]}
			if _, err := e.Update(ctx, p); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Containing(ctx, ll[0], ll[1]); err != nil {
				t.Fatal(err)
			}
			for _, z := range zones {
				if _, err := e.DistanceM(ctx, z.ID, ll[0], ll[1]); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
