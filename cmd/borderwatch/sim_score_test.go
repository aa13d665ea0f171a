package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/sim"
)

// A short accelerated run of the district (sim/testdata/score.json: the default scenario's
// roads, terminals and anomalies with a few vehicles each) against the whole server must
// detect every injected anomaly and raise nothing else.
func TestSimulatedDistrictScore(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of simulation")
	}
	const speedup = 600.0
	// The server drains what the terminals sent last and its timers run once more; not much
	// longer, or the clock runs on past the limit of signal loss of terminals the end of the
	// run silenced.
	a, s := runSim(t, speedup, 60*time.Second, 3*time.Minute, nil, nil)
	sc := s.Scenario()
	c, err := sim.Login(context.Background(), a.base, "admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := c.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	truth := s.Truth()
	rows := sim.Score(&truth, alerts)
	got := map[string]sim.ScoreRow{}
	for _, r := range rows {
		got[r.Type] = r
		t.Logf("%-30s injected %2d detected %2d alerts %2d correct %2d", r.Type, r.Injected, r.Detected, r.Alerts, r.Correct)
	}
	for _, in := range truth.Injections {
		t.Logf("injected %s %s with=%s %s – %s", in.Type, in.VehicleID, in.With, in.From.Format(time.TimeOnly), in.To.Format(time.TimeOnly))
	}
	for _, al := range alerts {
		t.Logf("alert %s %s %s %s", al.Type, al.VehicleID, al.Time.Format(time.TimeOnly), al.Message)
	}
	for _, an := range sc.Anomalies {
		if an.Type == sim.AnomalyJitter {
			continue
		}
		if r := got[an.Type]; r.Injected == 0 {
			t.Errorf("%s: no injection finished within the run", an.Type)
		}
	}
	for _, r := range rows {
		if r.Detected != r.Injected || r.Correct != r.Alerts {
			t.Errorf("%s: detected %d of %d injections; %d of %d alerts correct", r.Type, r.Detected, r.Injected, r.Correct, r.Alerts)
		}
	}
}

// runSim runs the score scenario accelerated against a whole server (mutate changes its
// config) for run of real time, with the targeting loop when inspect is given. After the run
// the server's clock runs settle more of simulated time, then holds still while the test reads
// the results: running on, on a loaded machine, it would pass the limit of signal loss of the
// terminals the end of the run silenced.
func runSim(t *testing.T, speedup float64, run, settle time.Duration, mutate func(*config), inspect *sim.Inspection) (*testApp, *sim.Sim) {
	t.Helper()
	return runScenario(t, "../../sim/testdata/score.json", "", speedup, run, settle, mutate, inspect)
}

// runScenario is runSim with the scenario file given, writing the ground truth to truth ("": none).
// run is the simulated time run×speedup: the run lasts longer in real time where the machine
// lets the simulated clock run slower (sim.Clock holds still while its goroutines wait and while
// a terminal's frame waits for the server's acknowledgement).
func runScenario(t *testing.T, file, truth string, speedup float64, run, settle time.Duration, mutate func(*config), inspect *sim.Inspection) (*testApp, *sim.Sim) {
	t.Helper()
	sc, err := sim.LoadScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	// The ports open 09:00–17:30 China time: the simulated day starts at 08:30 of the latest
	// one that has passed, so that every run sees the same hours.
	cst := time.FixedZone("CST", 8*3600)
	day := time.Now().Add(-time.Duration(float64(run) * speedup)).In(cst)
	start := time.Date(day.Year(), day.Month(), day.Day(), 8, 30, 0, 0, cst)
	if start.After(day) {
		start = start.AddDate(0, 0, -1)
	}
	clock := sim.NewClock(start.UTC(), speedup)
	a := startApp(t, func(c *config) {
		c.Now = clock.Now
		c.AcceptUnknown = true
		if mutate != nil {
			mutate(c)
		}
	})
	s, err := sim.New(sim.Config{
		Scenario:  sc,
		Clock:     clock,
		Start:     clock.Now(),
		JT808Addr: a.jt808Ln.Addr().String(),
		GT06Addr:  a.gt06Ln.Addr().String(),
		JT600Addr: a.jt600Ln.Addr().String(),
		OsmAndURL: "http://" + a.osmandLn.Addr().String() + "/",
		APIURL:    a.base,
		Username:  "admin",
		Password:  testPassword,
		Speedup:   speedup,
		// The simulated hours of run at speedup, in up to four times run on a loaded machine.
		Until:     start.Add(time.Duration(float64(run) * speedup)),
		Duration:  4 * run,
		Seed:      7,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Inspect:   inspect,
		TruthFile: truth,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := clock.SleepUntil(context.Background(), clock.Now().Add(settle)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clock.Hold())
	return a, s
}

// TestSimulatedInspections plays the targeting loop in the simulated district: command targets
// the top of the risk ranking every simulated hour, the server draws a fifth of the matched
// gate reads at random, a patrol inspects what fired and the truth decides; the hit table
// counts what was issued, inspected and found per source.
func TestSimulatedInspections(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of simulation")
	}
	a, _ := runSim(t, 600, 60*time.Second, 0, func(c *config) { c.RandomTargetShare = 0.2 }, &sim.Inspection{Every: time.Hour})
	c, err := sim.Login(context.Background(), a.base, "admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	rows, base, err := c.HitRates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var issued, inspected int
	for _, r := range rows {
		t.Logf("%-30s issued %3d inspected %3d found %3d hit rate %.2f", r.Source, r.Issued, r.Inspected, r.Found, r.HitRate)
		if r.Source != "random" {
			issued += r.Issued
			inspected += r.Inspected
		}
	}
	t.Logf("random baseline: issued %d inspected %d found %d hit rate %.2f", base.Issued, base.Inspected, base.Found, base.HitRate)
	if issued == 0 || inspected == 0 || base.Issued == 0 {
		t.Errorf("the loop did not run: %d orders issued by command, %d inspected, %d random draws", issued, inspected, base.Issued)
	}
}
