package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence/district"
)

// dispatcher is a recorder that sends the car somewhere when it has made so many reports.
type dispatcher struct {
	recorder
	car *vehicle
	at  map[int]orb.Point
}

func (d *dispatcher) Send(ctx context.Context, rs []report, blind bool) error {
	if to, ok := d.at[len(d.rs)]; ok {
		d.car.send(to)
	}
	return d.recorder.Send(ctx, rs, blind)
}

// A patrol car parks in its port and drives its rounds; sent to a yard it drives there, stays
// for the inspection and comes back; sent across the border line it stays on its side. It
// never crosses the line and stands still for 10 min or more only where stopping is allowed:
// it raises no alert.
func TestPatrolCar(t *testing.T) {
	sc := DefaultScenario()
	sc.Anomalies = nil
	w := newWorld(sc, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1)
	var car *vehicle
	for _, v := range w.vehicles() {
		if v.id == "patrol-erenhot-001" {
			car = v
		}
	}
	if car == nil {
		t.Fatal("the default scenario has no patrol car at Erenhot")
	}
	var yard orb.Point
	for _, z := range w.zones {
		if z.ID == car.port.Routes[0].YardID {
			yard = z.Geometry.Bound().Center()
		}
	}
	across := w.roads[car.port.Feeders[0]][0] // the Mongolian end of the feeder road
	rec := &dispatcher{recorder: recorder{max: 4000}, car: car, at: map[int]orb.Point{1: across, 600: yard}}
	car.out = rec
	if err := car.run(context.Background()); !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	rs := rec.rs
	border := district.Border()
	if !crosses(orb.Point{rs[0].Lon, rs[0].Lat}, across, border) {
		t.Fatal("the place the car is sent to first is not across the border line from it")
	}
	reachedYard := false
	for i := range rs {
		p := orb.Point{rs[i].Lon, rs[i].Lat}
		if i > 0 && crosses(orb.Point{rs[i-1].Lon, rs[i-1].Lat}, p, border) {
			t.Fatalf("report %d at %v: crossed the border line", i, rs[i].Time)
		}
		reachedYard = reachedYard || distance(p, yard) < 100
	}
	if !reachedYard {
		t.Error("sent to the yard, the car never got there")
	}
	// Stops: runs of reports within 30 m of the run's first.
	for i := 0; i < len(rs); {
		first := orb.Point{rs[i].Lon, rs[i].Lat}
		j := i + 1
		for j < len(rs) && distance(first, orb.Point{rs[j].Lon, rs[j].Lat}) < 30 {
			j++
		}
		if d := rs[j-1].Time.Sub(rs[i].Time); d >= 10*time.Minute && !w.allowed(first, 0) {
			t.Errorf("stood %v at %.5f,%.5f from %v, outside every zone where stopping is allowed", d, first[1], first[0], rs[i].Time)
		}
		i = j
	}
}

func TestCrosses(t *testing.T) {
	line := orb.LineString{{0, 0}, {10, 0}, {10, 10}}
	for _, c := range []struct {
		a, b orb.Point
		want bool
	}{
		{orb.Point{1, -1}, orb.Point{1, 1}, true},
		{orb.Point{1, 1}, orb.Point{2, 2}, false},
		{orb.Point{9, 5}, orb.Point{11, 5}, true},
		{orb.Point{11, -1}, orb.Point{12, 5}, false},
	} {
		if got := crosses(c.a, c.b, line); got != c.want {
			t.Errorf("crosses(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
