package sim

import (
	"context"
	"errors"
	"testing"
	"time"
)

// cardRecorder is a JT/T 808 terminal that keeps the cards it reports; it stops the vehicle at
// its stop-th card.
type cardRecorder struct {
	recorder
	stop  int
	cards []string
	times []time.Time
}

func (r *cardRecorder) InsertCard(_ context.Context, at time.Time, certificate, _ string) error {
	r.cards, r.times = append(r.cards, certificate), append(r.times, at)
	if len(r.cards) == r.stop {
		return errEnough
	}
	return nil
}

// The truck that has the anomaly reports another driver's card as its declared trip begins,
// inside its injection's window, and the declared driver's in the yard; the next truck (the
// anomaly is not due again) reports the declared driver's card and has no injection.
func TestDriverMismatchHaul(t *testing.T) {
	sc := DefaultScenario()
	sc.Anomalies = []Schedule{{Type: AnomalyDriverMismatch, Every: Dur(24 * time.Hour), After: Dur(time.Second)}}
	w := newWorld(sc, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1)
	var trucks []*vehicle
	for _, v := range w.vehicles() {
		if v.isJT808() && v.fleet.Trip == TripHaul && len(trucks) < 2 {
			trucks = append(trucks, v)
		}
	}
	lent := &cardRecorder{recorder: recorder{max: 1 << 20}, stop: 2}
	trucks[0].out = lent
	if err := trucks[0].run(context.Background()); !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	truth := w.truth.snapshot()
	if len(truth.Injections) != 1 || truth.Injections[0].Type != AnomalyDriverMismatch || truth.Injections[0].VehicleID != trucks[0].id {
		t.Fatalf("injections %+v", truth.Injections)
	}
	in := truth.Injections[0]
	if lent.cards[0] == trucks[0].driver || lent.times[0].Before(in.From) || lent.times[0].After(in.To) {
		t.Errorf("first card %s at %s, want another driver's within %s–%s", lent.cards[0], lent.times[0], in.From, in.To)
	}
	if lent.cards[1] != trucks[0].driver {
		t.Errorf("card in the yard %s, want the declared driver's %s", lent.cards[1], trucks[0].driver)
	}

	own := &cardRecorder{recorder: recorder{max: 1 << 20}, stop: 1}
	trucks[1].out = own
	if err := trucks[1].run(context.Background()); !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	if own.cards[0] != trucks[1].driver || len(w.truth.snapshot().Injections) != 1 {
		t.Errorf("control truck's card %s, want %s and no injection", own.cards[0], trucks[1].driver)
	}
}
