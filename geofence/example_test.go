package geofence_test

import (
	"context"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
)

func Example() {
	zones, err := geofence.ParseFeatureCollection([]byte(`{"type": "FeatureCollection", "features": [
	  {"type": "Feature", "properties": {"id": "border", "kind": "border", "domestic_side": "right"},
	   "geometry": {"type": "LineString", "coordinates": [[111.0, 43.7], [113.0, 43.7]]}},
	  {"type": "Feature", "properties": {"id": "erenhot", "name": "Erenhot road port", "kind": "port"},
	   "geometry": {"type": "Polygon", "coordinates": [[[111.9, 43.68], [112.0, 43.68], [112.0, 43.72], [111.9, 43.72], [111.9, 43.68]]]}}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	e := geofence.NewEmbedded(geofence.Options{})
	defer e.Close()
	if err := e.SetZones(ctx, zones); err != nil {
		fmt.Println(err)
		return
	}
	// A truck comes south through the port: two fixes 10 minutes apart, both outside it.
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	for _, p := range []geofence.Position{
		{VehicleID: "truck-1", Time: t0, Lat: 43.75, Lon: 111.95},
		{VehicleID: "truck-1", Time: t0.Add(10 * time.Minute), Lat: 43.65, Lon: 111.95},
	} {
		evs, err := e.Update(ctx, p)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, ev := range evs {
			if ev.Type == geofence.BorderCross {
				fmt.Println(ev.Time.Format("15:04:05"), ev.Type, ev.ZoneID, "at port", ev.PortZoneID, ev.Direction)
			} else {
				fmt.Println(ev.Time.Format("15:04:05"), ev.Type, ev.ZoneID)
			}
		}
	}
	// Output:
	// 08:03:00 zone_enter erenhot
	// 08:05:00 border_cross border at port erenhot inbound
	// 08:07:00 zone_exit erenhot
}
