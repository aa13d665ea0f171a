package risk

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestLearnedWeights: a type whose inspections find much weighs more, one whose find little
// weighs less, the ranking follows and says why; a few inspections barely move a weight, and
// none leave it fixed.
func TestLearnedWeights(t *testing.T) {
	s := New(Config{Now: func() time.Time { return t0 }})
	var alerts []tracker.Alert
	for i, a := range []struct{ veh, typ string }{{"DET", tracker.AlertDetour}, {"DET", tracker.AlertDetour}, {"STP", tracker.AlertUnauthorizedStop}, {"STP", tracker.AlertUnauthorizedStop}} {
		alerts = append(alerts, tracker.Alert{ID: int64(i + 1), Type: a.typ, VehicleID: a.veh, Time: t0})
	}
	s.Observe(alerts, nil)
	order := func() []string {
		var ids []string
		for _, tg := range s.Ranking(t0, 0) {
			ids = append(ids, tg.VehicleID)
		}
		return ids
	}
	if got := strings.Join(order(), ","); got != "DET,STP" {
		t.Fatalf("fixed weights rank %s, want DET,STP", got)
	}
	s.Learn(map[string]Hits{tracker.AlertUnauthorizedStop: {Inspected: 40, Found: 30}, tracker.AlertDetour: {Inspected: 40, Found: 2},
		tracker.TargetReasonRandom: {Inspected: 500, Found: 5}})
	ws, why := s.Weights()
	// All alert types found 32 of 80 = 40%; the data weight scales the fixed weights' mean by a
	// type's rate against that, shrunk with 20 inspections of the fixed weight: a stop's
	// (40·mean·0.75/0.4 + 20·3)/60, a detour's (40·mean·0.05/0.4 + 20·5)/60.
	var mean float64
	for _, w := range weights {
		mean += w
	}
	mean /= float64(len(weights))
	wantStop, wantDetour := (40*mean*0.75/0.4+20*3)/60, (40*mean*0.05/0.4+20*5)/60
	if d := ws[tracker.AlertUnauthorizedStop] - wantStop; d > 1e-9 || d < -1e-9 {
		t.Errorf("learned stop weight = %v, want %v", ws[tracker.AlertUnauthorizedStop], wantStop)
	}
	if d := ws[tracker.AlertDetour] - wantDetour; d > 1e-9 || d < -1e-9 {
		t.Errorf("learned detour weight = %v, want %v", ws[tracker.AlertDetour], wantDetour)
	}
	if ws[tracker.AlertMeeting] != 6 || why[tracker.AlertMeeting] != "" {
		t.Errorf("a type without inspections: weight %v (%q), want the fixed 6", ws[tracker.AlertMeeting], why[tracker.AlertMeeting])
	}
	ranked := s.Ranking(t0, 0)
	if len(ranked) != 2 || ranked[0].VehicleID != "STP" || math.Abs(ranked[0].Score-2*wantStop) > 0.01 {
		t.Fatalf("learned ranking = %+v, want STP first at %.2f", ranked, 2*wantStop)
	}
	if r := ranked[0].Reasons[0]; !strings.Contains(r, "30 found in 40 inspections") || !strings.Contains(r, "fixed 3") {
		t.Errorf("reason %q does not say why the weight is what it is", r)
	}
	// An alert observed after learning takes the learned weight.
	s.Observe([]tracker.Alert{{ID: 9, Type: tracker.AlertUnauthorizedStop, VehicleID: "NEW", Time: t0}}, nil)
	for _, tg := range s.Ranking(t0, 0) {
		if tg.VehicleID == "NEW" && math.Abs(tg.Score-wantStop) > 0.01 {
			t.Errorf("an alert observed after learning scores %v, want %.2f", tg.Score, wantStop)
		}
	}
	s.Learn(map[string]Hits{tracker.AlertUnauthorizedStop: {Inspected: 2, Found: 2}, tracker.AlertDetour: {Inspected: 2}})
	if ws, _ = s.Weights(); ws[tracker.AlertDetour] < 4 || ws[tracker.AlertUnauthorizedStop] > 5 {
		t.Errorf("two inspections each moved the weights to %v and %v, want them near 5 and 3", ws[tracker.AlertDetour], ws[tracker.AlertUnauthorizedStop])
	}
	s.Learn(nil)
	if ws, _ = s.Weights(); ws[tracker.AlertDetour] != 5 || strings.Join(order(), ",") != "DET,STP,NEW" {
		t.Errorf("without inspections: detour %v, ranking %v; want the fixed weights back", ws[tracker.AlertDetour], order())
	}
}
