package main

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestBenchFleetJSON runs `borderwatch bench --fleet` small: a server child process, 60
// vehicles connected over real JT/T 808 TCP at one fix each every 10 s for a few seconds,
// and the server's RSS read around it.
func TestBenchFleetJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads it for about 10 s")
	}
	t.Setenv("BW_TEST_SERVE", "1")
	var out, errs bytes.Buffer
	err := benchCommand(t.Context(), []string{"--json", "--zones", "20", "--fleet", "60", "--fleet-for", "6s"}, &out, &errs)
	if err != nil {
		t.Fatalf("bench --fleet: %v\n%s", err, errs.String())
	}
	var res fleetResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench --fleet --json printed %q: %v", out.String(), err)
	}
	if res.Vehicles != 60 || res.OfferedPerS != 6 || res.SecondsPerFix != 10 || res.FramesPerWrite != 1 || res.Seconds < 6 {
		t.Errorf("60 vehicles at one fix every 10 s, one frame a write, for 6 s: got %+v", res)
	}
	if res.AckedPerS <= 0 || res.Zones < 20 || res.Store != "sqlite" || res.Machine.CPUs == 0 {
		t.Errorf("acked %.1f/s, zones %d, store %q, machine %+v", res.AckedPerS, res.Zones, res.Store, res.Machine)
	}
	if res.RSSEmptyMB <= 0 || res.RSSFleetMB <= 0 || res.RSSAfterMB <= 0 || res.RSSPeakMB < res.RSSFleetMB {
		t.Errorf("RSS empty %.1f MB, with the fleet %.1f (peak %.1f), after %.1f", res.RSSEmptyMB, res.RSSFleetMB, res.RSSPeakMB, res.RSSAfterMB)
	}
	if res.HeapEmptyMB <= 0 || res.HeapFleetMB <= 0 {
		t.Errorf("live heap empty %.1f MB, with the fleet %.1f", res.HeapEmptyMB, res.HeapFleetMB)
	}
	if want := (res.RSSFleetMB - res.RSSEmptyMB) * 10000 / 60; math.Abs(res.RSSPer10kMB-want) > 1e-6*math.Abs(want)+1e-9 {
		t.Errorf("per 10,000 vehicles %.3f MB, want %.3f", res.RSSPer10kMB, want)
	}
}
