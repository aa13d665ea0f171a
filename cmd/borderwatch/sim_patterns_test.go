package main

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/sim"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/risk"
)

// TestSimulatedPatterns plants a month of history (sim.History) beside a short run of the
// district, all through the real protocols, and scores what the server finds: the gang (three
// trucks crossing together, and the contact they meet abroad, in the group by its meetings
// alone) is one group and the only one; the ant-moving resident car is flagged and the daily
// commuter, its peers and the convoy company's trucks (together now and then, two of them met
// once, all in one yard) are neither grouped nor flagged. Each planted meeting raised its
// alerts and the month raised nothing else.
func TestSimulatedPatterns(t *testing.T) {
	if testing.Short() {
		t.Skip("a month of history and 20 s of simulation")
	}
	// The history is sent as fast as the server takes it, judged on a clock that runs on: at
	// 60× a stall of 15 s on a loaded machine was a vehicle's signal lost for 15 min; at 20× a
	// stall would have to last 45 s.
	const speedup, run = 20.0, 20 * time.Second
	sc, err := sim.LoadScenario("../../sim/testdata/score.json")
	if err != nil {
		t.Fatal(err)
	}
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
	})
	s, err := sim.New(sim.Config{Scenario: sc, Clock: clock, Start: clock.Now(), History: &sim.History{},
		JT808Addr: a.jt808Ln.Addr().String(), GT06Addr: a.gt06Ln.Addr().String(), JT600Addr: a.jt600Ln.Addr().String(),
		OsmAndURL: "http://" + a.osmandLn.Addr().String() + "/", APIURL: a.base, Username: "admin", Password: testPassword,
		Speedup: speedup, Duration: run, Seed: 7, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("history and run: %s (machine shared, timing not asserted)", time.Since(began).Round(time.Millisecond))
	// The server finds patterns every 10 minutes; once more now.
	if err := a.learnRisk(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := sim.Login(context.Background(), a.base, "admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.Groups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ants, err := c.Ants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	truth := s.Truth()
	if len(truth.Groups) != 1 || len(truth.Ants) != 1 || len(truth.Controls) == 0 {
		t.Fatalf("truth %+v: no history planted", truth)
	}
	t.Logf("groups %v, ants %v", groups, ants)
	for _, r := range sim.ScorePatterns(&truth, groups, ants) {
		t.Logf("%-16s injected %d detected %d found %d correct %d", r.Type, r.Injected, r.Detected, r.Alerts, r.Correct)
		if r.Detected != r.Injected || r.Correct != r.Alerts {
			t.Errorf("%s: detected %d of %d; %d of %d found correct", r.Type, r.Detected, r.Injected, r.Correct, r.Alerts)
		}
	}
	// Missed once in make test and never alone: say what the server had to judge by.
	for _, id := range truth.Ants {
		if slices.Contains(ants, id) {
			continue
		}
		now := clock.Now()
		crossings, err := a.store.Events(context.Background(), tracker.EventQuery{VehicleID: id, Type: tracker.EventBorderCross, From: now.Add(-risk.AntsWindow), To: now.Add(time.Minute)})
		var weeks [5]int
		for _, e := range crossings {
			weeks[min(int(now.Sub(e.Time)/(7*24*time.Hour)), 4)]++
		}
		t.Logf("ant %s not flagged at %s: its crossings stored per week back from now %v (err %v)", id, now.Format(time.RFC3339), weeks, err)
	}
	for _, id := range truth.Controls {
		if slices.ContainsFunc(groups, func(g []string) bool { return slices.Contains(g, id) }) || slices.Contains(ants, id) {
			t.Errorf("control %s is in a group or flagged", id)
		}
	}

	// The edges say how the members are linked: the contact by meetings only.
	var out struct {
		Groups []struct {
			Edges []struct {
				A, B  string
				Kinds []string
			}
		}
	}
	a.mustCall("GET", "/api/v1/groups", nil, &out, 200)
	for _, g := range out.Groups {
		for _, e := range g.Edges {
			contact := strings.HasPrefix(e.A, "erenhot-pickup") || strings.HasPrefix(e.B, "erenhot-pickup")
			if contact && !slices.Equal(e.Kinds, []string{"meeting"}) || !contact && !slices.Contains(e.Kinds, "crossing") {
				t.Errorf("edge %+v", e)
			}
		}
	}

	// The month's alerts: the planted meetings, each of them, and nothing else.
	alerts, err := c.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	planted := map[string]bool{}
	for _, id := range slices.Concat(truth.Controls, truth.Ants, truth.Groups[0].Members) {
		planted[id] = true
	}
	var month []tracker.Alert
	for _, al := range alerts {
		if planted[al.VehicleID] {
			month = append(month, al)
			if al.Type != tracker.AlertMeeting {
				t.Errorf("history vehicle %s: %s at %s: %s", al.VehicleID, al.Type, al.Time, al.Message)
			}
		}
	}
	var meetings []sim.Injection
	for _, in := range truth.Injections {
		if in.Note == "history" {
			meetings = append(meetings, in)
		}
	}
	for _, r := range sim.Score(&sim.Truth{Injections: meetings}, month) {
		if r.Type == tracker.AlertMeeting && (r.Injected != 3*6+1 || r.Detected != r.Injected || r.Correct != r.Alerts) {
			t.Errorf("history meetings: %d planted pairs, %d detected, %d of %d alerts correct", r.Injected, r.Detected, r.Correct, r.Alerts)
		}
	}
}
