package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/sim"
)

// The demo stopped and started again on the same data directory, as `borderwatch demo` does
// it: the simulator resumes its clock and its vehicles from its state file, and over both runs
// the server raises no alert the ground truth does not hold. (Begun afresh a day back, the
// simulator once made the rules see trucks cross the border outside every port across the gap.)
// The real time between the runs does not matter: the resumed clock goes on from the saved
// simulated time, which this test checks too.
func TestDemoRestartTellsTheTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s of simulation")
	}
	const (
		speedup = 600.0
		run     = 20 * time.Second
	)
	sc, err := sim.LoadScenario("../../sim/testdata/score.json")
	if err != nil {
		t.Fatal(err)
	}
	// The ports open 09:00–17:30 China time: both runs fall in the opening hours of one day.
	cst := time.FixedZone("CST", 8*3600)
	day := time.Now().Add(-time.Duration(float64(2*run) * speedup)).In(cst)
	start := time.Date(day.Year(), day.Month(), day.Day(), 8, 30, 0, 0, cst)
	if start.After(day) {
		start = start.AddDate(0, 0, -1)
	}
	dir := t.TempDir()
	stateFile, truthFile := filepath.Join(dir, demoStateFile), filepath.Join(dir, demoTruthFile)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// runDemo runs the server and the simulator on dir for the run's simulated hours (at most
	// four runs of real time: a loaded machine lets the clock run slower). The server's clock stops
	// with the simulator: at 600× a second of a loaded machine would be 10 min of silence of
	// every truck, signal losses the truth does not hold.
	runDemo := func(clock *sim.Clock) (*testApp, *sim.Sim) {
		var stopped atomic.Pointer[time.Time]
		now := func() time.Time {
			if t := stopped.Load(); t != nil {
				return *t
			}
			return clock.Now()
		}
		// As the demo does: the server's start is no simulated time.
		release := clock.Hold()
		a := startApp(t, func(c *config) {
			c.DataDir, c.Now, c.ClockSpeedup, c.AcceptUnknown = dir, now, speedup, true
		})
		s, err := sim.New(sim.Config{
			Scenario: sc, Clock: clock, ReleaseClock: release, Start: clock.Now(),
			JT808Addr: a.jt808Ln.Addr().String(), GT06Addr: a.gt06Ln.Addr().String(), JT600Addr: a.jt600Ln.Addr().String(),
			OsmAndURL: "http://" + a.osmandLn.Addr().String() + "/", APIURL: a.base,
			Username: "admin", Password: testPassword, Speedup: speedup, Seed: 7,
			Until: clock.Now().Add(time.Duration(float64(run) * speedup)), Duration: 4 * run,
			TruthFile: truthFile, StateFile: stateFile, Logger: logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Run(context.Background())
		end := clock.Now()
		stopped.Store(&end)
		if err != nil {
			t.Fatal(err)
		}
		// Let the server take what the terminals sent last.
		time.Sleep(500 * time.Millisecond)
		return a, s
	}

	first, s1 := runDemo(sim.NewClock(start.UTC(), speedup))
	if s1.Resumed() {
		t.Fatal("the first run resumed a state")
	}
	first.stop()
	saved, err := sim.LoadState(stateFile)
	if err != nil || saved == nil {
		t.Fatalf("state after the first run: %v, %v", saved, err)
	}
	if saved.Now.Sub(start) < 2*time.Hour {
		t.Fatalf("saved at %v, %v after the start: the first run was too short to matter", saved.Now, saved.Now.Sub(start))
	}

	// As the demo does: the clock goes on from the saved present.
	second, s2 := runDemo(sim.NewClock(saved.Now, speedup))
	if !s2.Resumed() {
		t.Fatal("the second run did not resume")
	}
	var cfgAnswer struct {
		ServerTime     time.Time `json:"server_time"`
		SimulatedClock bool      `json:"simulated_clock"`
		ClockSpeedup   float64   `json:"clock_speedup"`
	}
	second.mustCall("GET", "/api/v1/config", nil, &cfgAnswer, 200)
	if !cfgAnswer.SimulatedClock || cfgAnswer.ClockSpeedup != speedup || !cfgAnswer.ServerTime.After(saved.Now) {
		t.Errorf("config %+v: want a simulated clock at %g× after %v", cfgAnswer, speedup, saved.Now)
	}
	c, err := sim.Login(context.Background(), second.base, "admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := c.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	truth, err := sim.LoadTruth(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, in := range truth.Injections {
		if in.From.Before(saved.Now) {
			before++
		}
	}
	if before == 0 || before == len(truth.Injections) {
		t.Errorf("%d of %d injections before the restart: the truth file did not go on across it", before, len(truth.Injections))
	}
	for _, al := range alerts {
		t.Logf("alert %s %s %s %s", al.Type, al.VehicleID, al.Time.Format(time.TimeOnly), al.Message)
	}
	for _, r := range sim.Score(truth, alerts) {
		t.Logf("%-30s injected %2d detected %2d alerts %2d correct %2d", r.Type, r.Injected, r.Detected, r.Alerts, r.Correct)
		if r.Correct != r.Alerts {
			t.Errorf("%s: %d of %d alerts not in the ground truth", r.Type, r.Alerts-r.Correct, r.Alerts)
		}
	}
}
