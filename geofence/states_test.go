package geofence_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
)

// line is a backend over a one-dimensional world: zone "z" is everything west of longitude
// 0, and a degree is 100 km. depth false makes it a backend that cannot tell how deep a
// vehicle is (like raw enter/exit notifications), so only Dwell can confirm.
type line struct{ depth bool }

func (l line) Observe(ctx context.Context, m *geofence.Move) error {
	ob := geofence.Observation{ZoneID: "z", Kind: geofence.KindYard, StartInside: m.From.Lon < 0}
	if (m.From.Lon < 0) != (m.To.Lon < 0) {
		f := m.From.Lon / (m.From.Lon - m.To.Lon)
		ob.Crossings = []geofence.Crossing{{At: f, Lat: m.From.Lat, Lon: 0}}
	}
	if ob.StartInside || len(ob.Crossings) > 0 || len(m.Held) > 0 {
		m.Obs = append(m.Obs, ob)
	}
	return nil
}

func (l line) Beyond(zoneID string, lat, lon, metres float64, inside bool) bool {
	if !l.depth {
		return false
	}
	d := lon * 100_000
	if inside {
		return -d >= metres
	}
	return d >= metres
}

func TestStatesHysteresis(t *testing.T) {
	t0 := time.Unix(1_780_000_000, 0)
	for _, c := range []struct {
		name  string
		h     geofence.Hysteresis
		depth bool
		at    []float64 // metres east of the fence, one fix every 10 s
		want  string    // events as "type@seconds"
	}{
		{"default: jitter gives one enter", geofence.DefaultHysteresis(geofence.KindYard), true,
			[]float64{50, 10, -15, 20, -5, 18, -20, 12, 3, -8, 19}, "zone_enter@14"},
		{"default: leaving for real", geofence.DefaultHysteresis(geofence.KindYard), true,
			[]float64{-50, -10, 10, 40, 100}, "zone_enter@0 zone_exit@15"},
		{"no margin, no dwell: jitter flaps", geofence.Hysteresis{}, true,
			[]float64{10, -10, 10, -10}, "zone_enter@5 zone_exit@15 zone_enter@25"},
		{"dwell only, short excursion", geofence.Hysteresis{ExitM: 30, Dwell: 30 * time.Second}, false,
			[]float64{-10, 5, 5, -10}, "zone_enter@0"},
		{"dwell only, long enough outside", geofence.Hysteresis{ExitM: 30, Dwell: 30 * time.Second}, false,
			[]float64{-10, 5, 5, 5, 5}, "zone_enter@0 zone_exit@6.667"},
		{"enter margin: touching is not entering", geofence.Hysteresis{EnterM: 50, ExitM: 30}, true,
			[]float64{100, -20, 100}, ""},
		{"enter margin: deep enough", geofence.Hysteresis{EnterM: 50, ExitM: 30}, true,
			[]float64{100, -20, -60}, "zone_enter@8.333"},
		{"first fix inside", geofence.DefaultHysteresis(geofence.KindYard), true,
			[]float64{-100}, "zone_enter@0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := geofence.NewStates(geofence.Options{Hysteresis: map[geofence.Kind]geofence.Hysteresis{geofence.KindYard: c.h}})
			var got []string
			for i, x := range c.at {
				p := geofence.Position{VehicleID: "v", Time: t0.Add(time.Duration(i) * 10 * time.Second), Lon: x / 100_000}
				evs, err := s.Update(context.Background(), line{c.depth}, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					sec := e.Time.Sub(t0).Seconds()
					got = append(got, string(e.Type)+"@"+strconv.FormatFloat(math.Round(sec*1000)/1000, 'f', -1, 64))
				}
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Errorf("events %q, want %q", g, c.want)
			}
		})
	}
}
