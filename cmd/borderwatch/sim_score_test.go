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
	const (
		speedup = 600.0
		run     = 60 * time.Second
	)
	sc, err := sim.LoadScenario("../../sim/testdata/score.json")
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
	a := startApp(t, func(c *config) { c.Now = clock.Now; c.AcceptUnknown = true })

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
		Duration:  run,
		Seed:      7,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Let the server drain what the terminals sent last and its timers run once more; not
	// much longer, or the clock runs on past the limit of signal loss of terminals the end
	// of the run silenced.
	time.Sleep(time.Duration(float64(3*time.Minute) / speedup))
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
