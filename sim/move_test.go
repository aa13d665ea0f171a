package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

var errEnough = errors.New("enough")

// recorder keeps what a terminal would send and stops the vehicle after max reports.
type recorder struct {
	rs  []report
	max int
}

func (r *recorder) Send(_ context.Context, rs []report, _ bool) error {
	r.rs = append(r.rs, rs...)
	if len(r.rs) >= r.max {
		return errEnough
	}
	return nil
}

func (r *recorder) Close() error { return nil }

func TestMovement(t *testing.T) {
	sc := DefaultScenario()
	sc.Anomalies = nil
	for i := range sc.Fleets {
		sc.Fleets[i].DropoutsPerHour = 0
	}
	w := newWorld(sc, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1)
	for _, v := range w.vehicles() {
		if v.id[len(v.id)-3:] != "001" { // one vehicle per fleet
			continue
		}
		t.Run(v.id, func(t *testing.T) {
			rec := &recorder{max: 8000} // more than a day of reports
			v.out = rec
			if err := v.run(context.Background()); !errors.Is(err, errEnough) {
				t.Fatal(err)
			}
			var maxKmh float64
			moved := 0.0
			for i := 1; i < len(rec.rs); i++ {
				a, b := rec.rs[i-1], rec.rs[i]
				dt := b.Time.Sub(a.Time)
				if dt < 10*time.Second || dt > 30*time.Second {
					t.Fatalf("report %d: %v after the previous one, want 10–30 s", i, dt)
				}
				d := distance(orb.Point{a.Lon, a.Lat}, orb.Point{b.Lon, b.Lat})
				moved += d
				if kmh := d / dt.Seconds() * 3.6; kmh > maxKmh {
					maxKmh = kmh
				}
				if b.SpeedKmh > v.fleet.CruiseKmh[1]+5 {
					t.Fatalf("report %d: %.1f km/h, fleet cruises at most %v", i, b.SpeedKmh, v.fleet.CruiseKmh[1])
				}
			}
			// Noise adds a little apparent speed to a standing vehicle.
			if maxKmh > v.fleet.CruiseKmh[1]+10 {
				t.Errorf("fastest stretch %.1f km/h, fleet cruises at most %v", maxKmh, v.fleet.CruiseKmh[1])
			}
			if v.fleet.Trip != TripRover && moved < 10e3 {
				t.Errorf("moved %.0f m in %v", moved, rec.rs[len(rec.rs)-1].Time.Sub(rec.rs[0].Time))
			}
		})
	}
}

func TestScore(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	truth := &Truth{Injections: []Injection{
		{Type: AnomalyDetour, VehicleID: "a", From: t0, To: t0.Add(time.Hour), Also: []string{AnomalyStop}},
		{Type: AnomalyDetour, VehicleID: "b", From: t0, To: t0.Add(time.Hour)},
		{Type: AnomalyJitter, VehicleID: "c", From: t0, To: t0.Add(time.Hour)},
	}}
	got := Score(truth, alerts(
		alert(AnomalyDetour, "a", t0.Add(10*time.Minute)),
		alert(AnomalyDetour, "a", t0.Add(20*time.Minute)),
		alert(AnomalyStop, "a", t0.Add(30*time.Minute)),
		alert(AnomalyStop, "c", t0.Add(30*time.Minute)),
		alert(AnomalyDetour, "b", t0.Add(5*time.Hour)),
	))
	want := []ScoreRow{
		{Type: AnomalyDetour, Injected: 2, Detected: 1, Alerts: 3, Correct: 2, Recall: 0.5, Precision: 2.0 / 3},
		{Type: AnomalyStop, Alerts: 2, Correct: 1, Recall: 1, Precision: 0.5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
