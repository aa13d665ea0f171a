package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// testDayCounts counts crossings and alerts by China day: 15:59:59 UTC is still the day,
// 16:00 UTC is the next; other events, and what is outside the period, are not counted.
func testDayCounts(t *testing.T, s Store) {
	midnight := time.Date(2026, 3, 14, 16, 0, 0, 0, time.UTC) // 2026-03-15 00:00 China time
	cross := func(veh, port, dir string, at time.Time) tracker.Event {
		attrs := map[string]any{"direction": dir}
		if port != "" {
			attrs["port_zone_id"] = port
		}
		return tracker.Event{Type: tracker.EventBorderCross, Time: at, VehicleID: veh, Lat: 43.6, Lon: 111.9, Attrs: attrs}
	}
	alert := func(veh, typ, key, zone string, at time.Time) tracker.Alert {
		a := newAlert(veh, key, at)
		a.Type, a.ZoneID = typ, nil
		if zone != "" {
			a.ZoneID = &zone
		}
		return a
	}
	commit(t, s, &tracker.Batch{
		Events: []tracker.Event{
			cross("v1", "port-erenhot", "inbound", midnight.Add(-time.Second)),
			cross("v2", "port-erenhot", "inbound", midnight.Add(-time.Hour)),
			cross("v1", "port-erenhot", "outbound", midnight),
			cross("v3", "port-ceke", "inbound", midnight.Add(time.Hour)),
			cross("v4", "", "outbound", midnight.Add(2*time.Hour)),
			cross("v5", "port-ceke", "inbound", midnight.Add(48*time.Hour)), // after the period
			// The control: a vehicle entering the port zone has not crossed.
			{Type: tracker.EventZoneEnter, Time: midnight, VehicleID: "v6", ZoneID: "port-erenhot", Lat: 43.6, Lon: 111.9},
		},
		Alerts: []tracker.Alert{
			alert("v1", tracker.AlertDetour, "a", "corridor-erenhot-yard1", midnight.Add(-time.Minute)),
			alert("v2", tracker.AlertDetour, "b", "corridor-erenhot-yard1", midnight.Add(-2*time.Minute)),
			alert("v3", tracker.AlertSignalLost, "c", "", midnight.Add(time.Minute)),
			alert("v4", tracker.AlertDetour, "d", "", midnight.Add(-25*time.Hour)), // before the period
		},
	})
	from, to := midnight.Add(-24*time.Hour), midnight.Add(24*time.Hour)
	crossings, err := s.CrossingCounts(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []tracker.DayCount{
		{Day: "2026-03-14", Zone: "port-erenhot", Key: "inbound", Count: 2},
		{Day: "2026-03-15", Zone: "", Key: "outbound", Count: 1},
		{Day: "2026-03-15", Zone: "port-ceke", Key: "inbound", Count: 1},
		{Day: "2026-03-15", Zone: "port-erenhot", Key: "outbound", Count: 1},
	}
	if !reflect.DeepEqual(crossings, want) {
		t.Errorf("CrossingCounts = %+v, want %+v", crossings, want)
	}
	alerts, err := s.AlertCounts(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	want = []tracker.DayCount{
		{Day: "2026-03-14", Zone: "corridor-erenhot-yard1", Key: tracker.AlertDetour, Count: 2},
		{Day: "2026-03-15", Zone: "", Key: tracker.AlertSignalLost, Count: 1},
	}
	if !reflect.DeepEqual(alerts, want) {
		t.Errorf("AlertCounts = %+v, want %+v", alerts, want)
	}
	if empty, err := s.CrossingCounts(t.Context(), to, to.Add(time.Hour)); err != nil || len(empty) != 0 {
		t.Errorf("CrossingCounts of an empty period = %+v, %v; want none", empty, err)
	}
}
