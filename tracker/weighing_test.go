package tracker_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Three scales weigh trucks in pairs; scale C reads 3 % heavy. Only C drifts, with a bias
// near +3 %, although A and B were compared with C too.
func TestDriftNamesTheScaleThatDrifted(t *testing.T) {
	var ws []tracker.Weighing
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	pairs := [][2]string{{"A", "B"}, {"A", "C"}, {"B", "C"}}
	for i := range 12 {
		truth := 40000 + float64(i)*500
		for _, s := range pairs[i%3] {
			r := truth * (1 + 0.001*math.Sin(float64(i))) // a little noise
			if s == "C" {
				r *= 1.03
			}
			ws = append(ws, tracker.Weighing{ScaleID: s, ZoneID: "yard-" + s, DeclarationID: fmt.Sprint("d", i), GrossKg: r, Time: at.Add(time.Duration(i) * time.Hour)})
		}
	}
	// Weighed once: no comparison; the scale has moved since: the latest reading says where.
	ws = append(ws, tracker.Weighing{ScaleID: "A", ZoneID: "port-a", DeclarationID: "alone", GrossKg: 1, Time: at.Add(24 * time.Hour)})
	got := tracker.Drift(ws, 1)
	if len(got) != 3 {
		t.Fatalf("Drift = %+v, want A, B, C", got)
	}
	for _, sd := range got {
		if sd.Drifting != (sd.ScaleID == "C") {
			t.Errorf("%s drifting = %v (%+v)", sd.ScaleID, sd.Drifting, sd)
		}
		if want := map[string]string{"A": "port-a", "B": "yard-B", "C": "yard-C"}[sd.ScaleID]; sd.ZoneID != want {
			t.Errorf("%s stands in %q, want %q", sd.ScaleID, sd.ZoneID, want)
		}
		if sd.Trips != 8 || sd.Others != 2 {
			t.Errorf("%s: %d trips, %d others, want 8 and 2", sd.ScaleID, sd.Trips, sd.Others)
		}
	}
	if c := got[2]; math.Abs(c.BiasPct-3) > 0.3 || c.MeanPct < 2.5 {
		t.Errorf("C: bias %.2f %%, mean %.2f %%, want about +3", c.BiasPct, c.MeanPct)
	}
}

// Two scales that disagree: which one is wrong cannot be told, and neither is called drifting.
func TestDriftTwoScalesUndecided(t *testing.T) {
	var ws []tracker.Weighing
	for i := range 10 {
		ws = append(ws, tracker.Weighing{ScaleID: "A", DeclarationID: fmt.Sprint(i), GrossKg: 40000},
			tracker.Weighing{ScaleID: "B", DeclarationID: fmt.Sprint(i), GrossKg: 42000})
	}
	for _, sd := range tracker.Drift(ws, 1) {
		if sd.Drifting || sd.Trips != 10 {
			t.Errorf("%+v: want 10 trips, not drifting", sd)
		}
	}
}
