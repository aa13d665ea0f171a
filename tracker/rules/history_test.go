package rules

import (
	"context"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestLateFixesKeepHistoryBounded: late fixes placed into a full history (a blind-area upload
// filling it in between its live fixes) trim it as live ones do; inserting into the full array
// doubled it, and trimming kept the doubled array for as long as the vehicle existed.
func TestLateFixesKeepHistoryBounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	e := New(Config{Engine: geofence.NewEmbedded(geofence.Options{}), Now: func() time.Time { return t0 }})
	vs := e.vehicles.Get("v")
	fix := func(k int, late bool) *tracker.Fix {
		return &tracker.Fix{VehicleID: "v", DeviceID: "v", Time: t0.Add(time.Duration(k) * 10 * time.Second),
			Lat: 43 + float64(k)*1e-4, Lon: 111, Valid: true, Late: late}
	}
	evaluate := func(f *tracker.Fix) {
		var out tracker.Outcome
		vs.Lock()
		defer vs.Unlock()
		if err := vs.Evaluate(ctx, f, &out); err != nil {
			t.Fatal(err)
		}
	}
	n := e.cfg.History
	for k := 0; k < 4*n; k += 2 {
		evaluate(fix(k, false))
	}
	for k := 4*n - 3; k > 0; k -= 2 {
		evaluate(fix(k, true))
		// A late fix older than the fixes kept, a silence after it, is a gap edge kept besides.
		limit := n + n/8 + int(vs.histEdges)
		if len(vs.history) > limit || cap(vs.history) > limit {
			t.Fatalf("after the late fix %d: %d fixes in an array of %d, want at most %d (edges %d)", k, len(vs.history), cap(vs.history), limit, vs.histEdges)
		}
	}
	for i := 1; i < len(vs.history); i++ {
		if vs.history[i-1].t >= vs.history[i].t {
			t.Fatalf("history out of order at %d: %v", i, vs.history)
		}
	}
	if got := vs.history[len(vs.history)-1].at(); !got.Equal(fix(4*n-2, false).Time) {
		t.Errorf("newest fix in the history %v, want the newest live fix %v", got, fix(4*n-2, false).Time)
	}
}
