package mapui

import (
	"testing"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestUnitArea: a port's area is its zones and those tied to it, each grown by the buffer; not
// a box: a point on Ganqimaodu's 300 km corridor to its third yard is Ganqimaodu's, not
// Mandula's.
func TestUnitArea(t *testing.T) {
	zones := district.Zones()
	const km = 1 / 111.0   // degrees of latitude, near enough for points 5 km from the edge
	yardSouth := 41.981017 // yard-ceke-2's southern edge, at lon 101.1
	for _, tc := range []struct {
		name     string
		port     string
		lat, lon float64
		want     bool
	}{
		{"in the port", "port-ceke", 42.56, 101.30, true},
		{"in a yard of the port, 60 km away", "port-ceke", 41.99, 101.1, true},
		{"25 km beyond that yard", "port-ceke", yardSouth - 25*km, 101.1, true},
		{"35 km beyond that yard", "port-ceke", yardSouth - 35*km, 101.1, false},
		{"at another port", "port-ceke", 43.67, 111.93, false},
		{"on the corridor to a far yard", "port-ganqimaodu", 41.447, 108.92, true},
		{"on another port's corridor", "port-mandula", 41.447, 108.92, false},
		{"a unit that is no port", "yard-ceke-1", 42.53, 101.32, false},
	} {
		a := newUnitArea(zones, tc.port, defaultUnitBufferM)
		if got := a.seesFix(&tracker.Fix{Lat: tc.lat, Lon: tc.lon}); got != tc.want {
			t.Errorf("%s: %s sees (%.4f, %.4f) = %v, want %v", tc.name, tc.port, tc.lat, tc.lon, got, tc.want)
		}
	}
	var whole *unitArea
	if !whole.seesFix(&tracker.Fix{Lat: 10, Lon: 10}) || !whole.seesAlert(&tracker.Alert{}) || !whole.seesEvent(&tracker.Event{}) {
		t.Error("the district's (nil) area does not see everything")
	}
	// An alert without a position (a gate read) is seen by the unit of the zone it names.
	gate := "control-erenhot"
	if a := newUnitArea(zones, "port-erenhot", defaultUnitBufferM); !a.seesAlert(&tracker.Alert{ZoneID: &gate}) {
		t.Error("Erenhot does not see an alert in its control zone without a position")
	}
}

// TestUnitAreaSentTo: an Erenhot area sent to a Ceke order sees that order's alert and vehicle,
// not another alert or vehicle at Ceke; once reported, the alert still and the vehicle no more;
// once called off, neither, unless another order it was sent to shows them.
func TestUnitAreaSentTo(t *testing.T) {
	const lat, lon = 42.56, 101.30 // in port-ceke
	sees := func(a *unitArea) (alert, other, vehicle, otherVehicle bool) {
		return a.seesAlert(&tracker.Alert{ID: 7, Lat: lat, Lon: lon}), a.seesAlert(&tracker.Alert{ID: 8, Lat: lat, Lon: lon}),
			a.seesFix(&tracker.Fix{VehicleID: "CEK", Lat: lat, Lon: lon}), a.seesFix(&tracker.Fix{VehicleID: "CEK2", Lat: lat, Lon: lon})
	}
	a := newUnitArea(district.Zones(), "port-erenhot", defaultUnitBufferM)
	if al, other, v, ov := sees(a); al || other || v || ov {
		t.Fatalf("Erenhot's area before any assignment sees Ceke: alert %v, other %v, vehicle %v, other vehicle %v", al, other, v, ov)
	}
	a.sentTo(&tracker.TargetOrder{AlertID: 7, VehicleID: "CEK", Status: tracker.TargetFired}, false)
	if al, other, v, ov := sees(a); !al || other || !v || ov {
		t.Errorf("sent to alert 7 of CEK: alert %v, other %v, vehicle %v, other vehicle %v", al, other, v, ov)
	}
	b := newUnitArea(district.Zones(), "port-erenhot", defaultUnitBufferM)
	b.sentTo(&tracker.TargetOrder{AlertID: 7, VehicleID: "CEK", Status: tracker.TargetClosed}, true)
	if al, _, v, _ := sees(b); !al || v {
		t.Errorf("reported: alert %v (want true), vehicle %v (want false)", al, v)
	}
	// Two orders on one alert: one called off, the other still shows it; both, nothing.
	c := newUnitArea(district.Zones(), "port-erenhot", defaultUnitBufferM)
	o1 := tracker.TargetOrder{ID: "T1", AlertID: 7, VehicleID: "CEK", Status: tracker.TargetFired}
	o2 := o1
	o2.ID = "T2"
	c.sentTo(&o1, false)
	c.sentTo(&o2, false)
	o1.Status = tracker.TargetCancelled
	if !c.ended(&o1) {
		t.Error("an order sent to did not end")
	}
	if al, _, v, _ := sees(c); !al || !v {
		t.Errorf("one of two orders cancelled: alert %v, vehicle %v (want both)", al, v)
	}
	o2.Status = tracker.TargetExpired
	c.ended(&o2)
	if al, _, v, _ := sees(c); al || v {
		t.Errorf("both orders ended: alert %v, vehicle %v (want neither)", al, v)
	}
	if c.ended(&tracker.TargetOrder{ID: "T9", Status: tracker.TargetCancelled}) {
		t.Error("an order never sent to ended")
	}
}
