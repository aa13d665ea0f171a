package sim

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
)

// sealRecorder is an e-seal's terminal that keeps what it would send; it stops the vehicle
// after its second unlock.
type sealRecorder struct {
	recorder
	unlocks []report
}

func (r *sealRecorder) Unlock(_ context.Context, rep report, _ string) error {
	r.unlocks = append(r.unlocks, rep)
	if len(r.unlocks) == 2 {
		return errEnough
	}
	return nil
}

// A sealed truck that has the anomaly is unlocked in the desert between port and yard, outside
// every zone where stopping is allowed, and relocked; customs unlock it again in the yard.
func TestSealedHaul(t *testing.T) {
	sc := DefaultScenario()
	sc.Anomalies = []Schedule{{Type: AnomalySealOpened, Every: Dur(time.Hour)}}
	w := newWorld(sc, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1)
	var v *vehicle
	for _, c := range w.vehicles() {
		if c.sealed() {
			v = c
			break
		}
	}
	rec := &sealRecorder{recorder: recorder{max: 1 << 20}}
	v.out = rec
	if err := v.run(context.Background()); !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	truth := w.truth.snapshot()
	if len(truth.Injections) != 1 || truth.Injections[0].Type != AnomalySealOpened || truth.Injections[0].To.IsZero() {
		t.Fatalf("injections %+v", truth.Injections)
	}
	in := truth.Injections[0]
	open, yard := rec.unlocks[0], rec.unlocks[1]
	if open.Time.Before(in.From) || open.Time.After(in.To) {
		t.Errorf("unlock at %s outside its injection %s–%s", open.Time, in.From, in.To)
	}
	if w.allowed(orb.Point{open.Lon, open.Lat}, 500) {
		t.Errorf("opened at %v, %v: near a yard, port or service area", open.Lat, open.Lon)
	}
	if !w.inKind(orb.Point{yard.Lon, yard.Lat}, geofence.KindYard) {
		t.Errorf("unsealed at %v, %v: not in a yard", yard.Lat, yard.Lon)
	}
	// The reports show the seal: open before loading, locked up to the opening, open, locked
	// again up to the yard (whose unlock ends the recording).
	var states []bool
	for _, r := range rec.rs {
		if len(states) == 0 || states[len(states)-1] != r.Locked {
			states = append(states, r.Locked)
		}
		if r.Time.Equal(open.Time) || r.Time.Equal(yard.Time) {
			t.Errorf("a report shares the second %s of an unlock", r.Time)
		}
	}
	if want := []bool{false, true, false, true}; !slices.Equal(states, want) {
		t.Errorf("seal states %v, want %v", states, want)
	}
}

// inKind reports whether a zone of the kind contains pt.
func (w *world) inKind(pt orb.Point, kind geofence.Kind) bool {
	for _, z := range w.zones {
		if poly, ok := z.Geometry.(orb.Polygon); ok && z.Kind == kind && planar.PolygonContains(poly, pt) {
			return true
		}
	}
	return false
}
